import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Role, User
from accounts.services import api_token_create
from accounts.workspace.selectors import workspace_settings_forget
from eim.chat.models import PresenceSession
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE_TRIGGERS = {
    table: (f"{table}_append_only", f"{table}_no_truncate")
    for table in (
        "archive_archiverecord",
        "archive_archiveblob",
        "archive_checkpoint",
        "archive_verificationrun",
        "archive_verificationstep",
        "archive_archiveblockroot",
    )
}
AUDIT_TRIGGERS = {
    "audit_auditevent": ("audit_auditevent_append_only", "audit_auditevent_no_truncate"),
    "audit_auditcheckpoint": (
        "audit_auditcheckpoint_append_only",
        "audit_auditcheckpoint_no_truncate",
    ),
    "audit_auditverificationrun": (
        "audit_auditverificationrun_append_only",
        "audit_auditverificationrun_no_truncate",
    ),
    "audit_audithead": (
        "audit_audithead_forward_only",
        "audit_audithead_no_delete",
        "audit_audithead_no_truncate",
    ),
}
# Every append-only table's triggers, which the flush between tests must step past.
GUARDED_TRIGGERS = {**ARCHIVE_TRIGGERS, **AUDIT_TRIGGERS}


# Live server processes cache ContentType ids (every audit log entry points at one); if the
# flush re-created these rows with new ids, audited writes through a live server would fail.
KEPT_BY_FLUSH = {"django_content_type", "auth_permission"}


def _sql_flush_past_archive_triggers(original):  # type: ignore[no-untyped-def]
    """Test-only: transactional tests end with a TRUNCATE of every table, which the archive's
    and the audit trail's triggers refuse. Switch them off for that flush alone and back to
    ALWAYS afterwards.
    Content types and permissions are kept, so their ids stay stable for live servers."""

    def sql_flush(self, style, tables, **kwargs):  # type: ignore[no-untyped-def]
        tables = [t for t in tables if t not in KEPT_BY_FLUSH]
        statements = original(self, style, tables, **kwargs)
        guarded = [t for t in tables if t in GUARDED_TRIGGERS]
        off = [
            f"ALTER TABLE {t} DISABLE TRIGGER {name};"
            for t in guarded
            for name in GUARDED_TRIGGERS[t]
        ]
        on = [
            f"ALTER TABLE {t} ENABLE ALWAYS TRIGGER {name};"
            for t in guarded
            for name in GUARDED_TRIGGERS[t]
        ]
        return [*off, *statements, *on]

    return sql_flush


def pytest_configure(config: pytest.Config) -> None:
    from django.db.backends.postgresql.operations import DatabaseOperations

    DatabaseOperations.sql_flush = _sql_flush_past_archive_triggers(  # type: ignore[method-assign]
        DatabaseOperations.sql_flush
    )


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit windows must not leak between tests. Only this run's keys are deleted:
    other runs and live servers share the Redis database."""
    client = cache._cache.get_client()  # type: ignore[attr-defined]
    keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_workspace_settings() -> Iterator[None]:
    """The workspace settings' per-process cache must not carry a version a test's rolled-back
    transaction wrote into the next test."""
    workspace_settings_forget()
    yield
    workspace_settings_forget()


@pytest.fixture
def alice(db: None) -> User:
    return UserFactory(username="alice")


@pytest.fixture
def bob(db: None) -> User:
    return UserFactory(username="bob")


@pytest.fixture
def carol(db: None) -> User:
    return UserFactory(username="carol")


@pytest.fixture
def officer(db: None) -> User:
    return UserFactory(username="olivia", roles=[Role.COMPLIANCE_OFFICER])


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def api_as(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port} after {timeout} s")


def server_env() -> dict[str, str]:
    """The environment of a server process that shares this test run's database and Redis."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="eim.settings.test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        EIM_CHANNEL_PREFIX=settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
        EIM_CACHE_PREFIX=settings.CACHES["default"]["KEY_PREFIX"],
        # A socket's periodic re-check (every 30 s, the first at a random moment) also
        # catches it up with the outbox, as a ping does: in a live test it would deliver a
        # lost frame now and then on its own, and a test of what a ping recovers would see
        # it arrive before the ping (1 run in about 20). Tested in-process with a short
        # period (tests/chat/test_socket_access_checks.py).
        EIM_SOCKET_ACCESS_CHECK_SECONDS="3600",
    )
    return env


class LiveServer:
    def __init__(self, port: int, process: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.process = process
        self.http_url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws/"


@pytest.fixture(scope="session")
def daphne_process(django_db_setup: None, django_db_blocker: object) -> Iterator[LiveServer]:
    """A real Daphne process on the test database, channels-redis and Redis."""
    port = free_port()
    log = open(ROOT / "var" / f"daphne-test-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "eim.asgi:application",
        ],
        cwd=ROOT,
        env=server_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        yield LiveServer(port, process)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def daphne_server(daphne_process: LiveServer, transactional_db: None) -> Iterator[LiveServer]:
    """The live server for one test; afterwards, wait until it has closed every socket.

    A socket's disconnect writes to the database; letting it finish first keeps it from
    racing the flush that ends the test.
    """
    yield daphne_process
    deadline = time.monotonic() + 10
    while PresenceSession.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def token_for(db: None):  # type: ignore[no-untyped-def]
    return lambda user: api_token_create(user=user)
