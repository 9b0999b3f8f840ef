"""Ctrl-C of `make run` (deploy/run.py's supervisor): every process is asked to stop by itself,
its children are left to it, and it gets more than honcho's 5 s to finish what it has."""

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

# A process like a Celery worker: a child it owns, and on SIGTERM a batch to finish (6 s,
# longer than honcho's 5 s kill wait) before it stops the child itself and exits 0.
WORKER = """
import os, signal, subprocess, sys, time
marks = sys.argv[1]
child = subprocess.Popen([sys.executable, "-c", (
    "import signal, time\\n"
    "signal.signal(signal.SIGTERM, lambda *a: open(%r + '/child-term', 'w').close())\\n"
    "time.sleep(120)") % marks])
def stop(*args):
    time.sleep(6)
    open(marks + "/batch-finished", "w").close()
    child.kill()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(marks + "/ready", "w").close()
while True:
    time.sleep(0.1)
"""

SUPERVISOR = """
import sys
from pathlib import Path
sys.path.insert(0, {deploy!r})
import run
sys.exit(run.supervise(Path({procfile!r}), dict(__import__("os").environ), grace=30))
"""


def test_ctrl_c_lets_each_process_finish_its_batch_and_stop_its_own_children(tmp_path: Path):
    (tmp_path / "worker.py").write_text(WORKER)
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"worker: {sys.executable} {tmp_path / 'worker.py'} {tmp_path}\n")
    script = SUPERVISOR.format(deploy=str(ROOT / "deploy"), procfile=str(procfile))
    supervisor = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    deadline = time.monotonic() + 20
    while not (tmp_path / "ready").exists() and time.monotonic() < deadline:
        time.sleep(0.1)

    supervisor.send_signal(signal.SIGINT)
    output, _ = supervisor.communicate(timeout=40)

    assert (tmp_path / "batch-finished").exists(), output.decode()
    assert not (tmp_path / "child-term").exists()  # the child was its parent's to stop
    assert b"SIGKILL" not in output
    assert supervisor.returncode == 0


def test_the_run_script_still_imports_without_django():
    spec = importlib.util.spec_from_file_location("deploy_run", ROOT / "deploy" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "deploy"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "deploy"))
    assert module.SHUTDOWN_GRACE_SECONDS > 5


def test_the_embedded_broker_writes_nothing_outside_var(tmp_path: Path):
    work, var = tmp_path / "work", tmp_path / "var"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        PYTHONPATH=str(ROOT), EIM_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="eim.settings.base"
    )
    broadcast = (
        "import django; django.setup()\n"
        "from eim.celery import app\n"
        "app.control.ping(timeout=0.2)\n"  # a broadcast: binds the exchange's table
    )

    subprocess.run([sys.executable, "-c", broadcast], cwd=work, env=env, check=True, timeout=60)

    assert list(work.iterdir()) == []
    assert any((var / "broker" / "control").iterdir())
