"""`make run`: migrate, seed the demo, then Daphne, the Celery workers and beat in the foreground.

Ctrl-C stops them all (honcho forwards the signal to every process).
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True)


def main() -> None:
    port = os.environ.get("PORT", "8000")
    manage("migrate", "--verbosity", "0")
    manage("seed_demo")
    print(f"\n  eim is starting at http://127.0.0.1:{port}/  (Ctrl-C stops everything)")
    print(
        "  Sign in as alice or bob (employees), admin or dana (administrators),"
        " or carol (compliance).\n",
        flush=True,
    )
    honcho = Path(PYTHON).with_name("honcho")
    os.chdir(ROOT)
    os.execv(honcho, [str(honcho), "start", "-f", "deploy/Procfile", "-d", str(ROOT)])


if __name__ == "__main__":
    main()
