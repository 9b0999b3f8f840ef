"""`make run`: migrate, seed the demo, then Daphne, the Celery workers and beat in the foreground.

With DATABASE_OWNER_URL set, the migrations and grants run as that owner (deploy/release.py)
and everything else, the demo seed included, as DATABASE_URL's role, which never sees the
owner's URL. Ctrl-C stops them all (honcho forwards the signal to every process).

First it writes the embedded default's settings file, var/local.env (a generated secret key and
health token, EIM_DEBUG=true), which the settings read when no DATABASE_URL is set: every
documented command (`python manage.py create_token alice`, ...) then works with no variable set.
"""

import os
import secrets
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from release import process_environment, release

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOCAL_ENV_HEADER = (
    "# The embedded default's settings, written by `make run` (deploy/run.py); read only\n"
    "# without DATABASE_URL, and the environment wins. Never copy it to a server.\n"
)


def local_env_values() -> dict[str, str]:
    return {
        "EIM_DEBUG": "true",
        "EIM_SECRET_KEY": secrets.token_urlsafe(48),
        "EIM_HEALTH_TOKEN": secrets.token_urlsafe(32),
    }


def local_env_ensure(var_dir: Path) -> Path:
    """var/local.env with every value the embedded default needs; existing ones are kept."""
    path = var_dir / "local.env"
    var_dir.mkdir(parents=True, exist_ok=True)
    existing = path.read_text() if path.exists() else LOCAL_ENV_HEADER
    present = {line.split("=", 1)[0] for line in existing.splitlines() if "=" in line}
    missing = {k: v for k, v in local_env_values().items() if k not in present}
    if missing or not path.exists():
        text = existing + "".join(f"{k}={v}\n" for k, v in missing.items())
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
    path.chmod(0o600)
    return path


def manage(*args: str, env: Mapping[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=dict(env), check=True)


def prepare(env: Mapping[str, str]) -> dict[str, str]:
    """Migrate (as the owner when there is one) and seed; returns the processes' environment."""
    release(env)
    processes = process_environment(env)
    manage("seed_demo", env=processes)
    return processes


def main() -> None:
    port = os.environ.get("PORT", "8000")
    local_env_ensure(Path(os.environ.get("EIM_VAR_DIR") or ROOT / "var"))
    processes = prepare(os.environ)
    print(f"\n  eim is starting at http://127.0.0.1:{port}/  (Ctrl-C stops everything)")
    print(
        "  Sign in as alice or bob (employees), admin or dana (administrators),"
        " or carol (compliance).\n",
        flush=True,
    )
    honcho = Path(PYTHON).with_name("honcho")
    os.chdir(ROOT)
    os.execve(honcho, [str(honcho), "start", "-f", "deploy/Procfile", "-d", str(ROOT)], processes)


if __name__ == "__main__":
    main()
