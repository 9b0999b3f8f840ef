"""Test settings: real PostgreSQL and Redis, from DATABASE_URL / REDIS_URL or local defaults."""

import os

# Never a developer's var/local.env (written by `make run`): the tests set what they need.
os.environ["EIM_READ_LOCAL_ENV"] = "false"
os.environ.setdefault("EIM_DEBUG", "false")
os.environ.setdefault("EIM_SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eim")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("EIM_CHANNEL_PREFIX", f"eimtest{os.getpid()}")
os.environ.setdefault("EIM_CACHE_PREFIX", f"eimtest{os.getpid()}")
# The suite connects as the postgres superuser (it creates a database per run), so its servers
# start with the warning; tests/archive/test_database_role_check.py starts them without this.
os.environ.setdefault("EIM_ALLOW_PRIVILEGED_DATABASE_ROLE", "true")

from .base import *  # noqa: F403
from .base import VAR_DIR

# One test database per run, so concurrent runs on one machine never share (or drop) it.
DATABASES["default"]["TEST"] = {"NAME": f"test_eim_{os.getpid()}"}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = VAR_DIR / "test-media" / str(os.getpid())
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
EIM_SEND_RATE = "1000/10"
EIM_EDIT_RATE = "1000/10"
EIM_REACTION_RATE = "1000/10"
# Checkpoints' witness: a directory of this run's own (tests/archive gives each test its own).
EIM_WITNESSES = [
    {
        "BACKEND": "ledger.witness.DirectoryWitness",
        "OPTIONS": {
            "root": os.environ.get(
                "EIM_ARCHIVE_WITNESS_DIR", str(VAR_DIR / "test-witness" / str(os.getpid()))
            )
        },
    }
]
EIM_ARCHIVE_VERIFY_STATE = str(VAR_DIR / "test-verify-state" / f"{os.getpid()}.json")
# Every send re-reads the policy set's version, so a test's policy change applies at once.
EIM_SCAN_POLICY_CHECK_SECONDS = 0.0
# Not at import: the test process imports eim.asgi before its test database exists, and each
# test writes its own policies after the servers start (tested: test_send_time.py).
EIM_SCAN_WARM_UP = False
STORAGES["exports"]["OPTIONS"] = {  # noqa: F405
    "location": os.environ.get("EIM_EXPORT_ROOT", str(VAR_DIR / "test-exports" / str(os.getpid()))),
    "allow_overwrite": True,
}
