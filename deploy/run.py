"""`make run`: migrate, seed the demo, then Daphne, the Celery workers and beat in the foreground.

With DATABASE_OWNER_URL set, the migrations and grants run as that owner (deploy/release.py)
and everything else, the demo seed included, as DATABASE_URL's role, which never sees the
owner's URL. Ctrl-C stops them all (honcho forwards the signal to every process).
"""

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from release import process_environment, release

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


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
    processes = prepare(os.environ)
    print(f"\n  eim is starting at http://127.0.0.1:{port}/  (Ctrl-C stops everything)")
    print("  Sign in as alice or bob (employees), admin, or carol (compliance).\n", flush=True)
    honcho = Path(PYTHON).with_name("honcho")
    os.chdir(ROOT)
    os.execve(honcho, [str(honcho), "start", "-f", "deploy/Procfile", "-d", str(ROOT)], processes)


if __name__ == "__main__":
    main()
