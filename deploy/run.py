"""`make run`: migrate, seed the demo, then Daphne, the Celery workers and beat in the foreground.

With DATABASE_OWNER_URL set, the migrations and grants run as that owner (deploy/release.py)
and everything else, the demo seed included, as DATABASE_URL's role, which never sees the
owner's URL. Ctrl-C stops them all, quietly: each process is sent SIGTERM itself (not its
whole process group), so a Celery worker makes a warm shutdown, letting its pool finish the
batch in hand, and only what is still running after SHUTDOWN_GRACE_SECONDS is killed.

First it writes the embedded default's settings file, var/local.env (a generated secret key and
health token, EIM_DEBUG=true), which the settings read when no DATABASE_URL is set: every
documented command (`python manage.py create_token alice`, ...) then works with no variable set.
"""

import errno
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import honcho.manager
from honcho.compat import ProcessManager
from honcho.environ import expand_processes, parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer
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
    try:
        manage("seed_demo", env=processes)
    except subprocess.CalledProcessError:
        # The demo is a convenience: the platform starts without it.
        print("  seeding the demo failed (see above); starting without it", flush=True)
    return processes


# An archiving batch commits within seconds; a stop that takes longer than this is stuck.
SHUTDOWN_GRACE_SECONDS = 30


class LeaderSignals(ProcessManager):
    """Honcho's process manager, but SIGTERM goes to each process, not to its group.

    honcho's own sends it to the whole group: a Celery worker's pool children then die under
    their parent ("Process 'ForkPoolWorker-1' exited with 'signal 15'") while it tries its warm
    shutdown. The kill after the grace period still takes the whole group.
    """

    def terminate(self, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ESRCH):
                raise


def supervise(procfile: Path, env: Mapping[str, str], *, grace: float) -> int:
    """Run every process of the Procfile until one stops or Ctrl-C; 0 for a clean stop."""
    honcho.manager.KILL_WAIT = grace
    manager = Manager(Printer(sys.stdout))
    manager._procmgr = LeaderSignals()
    processes = parse_procfile(procfile.read_text()).processes
    for params in expand_processes(processes, env=dict(env)):
        # honcho runs each command with `sh -c`: exec, so that the signal reaches the process.
        command = f"exec {params.cmd}"
        manager.add_process(params.name, command, quiet=params.quiet, env=params.env)
    manager.loop()
    # Twisted (Daphne) ends by re-raising the SIGTERM it handled: -15 is its clean stop.
    clean = {0, -signal.SIGTERM, 128 + signal.SIGTERM}
    stopped_cleanly = all(p.get("returncode") in clean for p in manager._processes.values())
    interrupted = manager.returncode in (130, 143)  # honcho's codes for SIGINT and SIGTERM
    return 0 if interrupted and stopped_cleanly else int(manager.returncode or 0)


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
    os.chdir(ROOT)
    sys.exit(supervise(ROOT / "deploy" / "Procfile", processes, grace=SHUTDOWN_GRACE_SECONDS))


if __name__ == "__main__":
    main()
