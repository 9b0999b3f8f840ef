"""The embedded default's settings file (var/local.env, written by `make run`): the documented
commands work with no variable set, and without it (production) a missing secret still stops
start-up. Each test runs manage.py in a process of its own, on a var directory of its own."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _run_py() -> Any:
    # deploy/run.py imports its neighbour release.py, as it can when run as a script.
    if str(ROOT / "deploy") not in sys.path:
        sys.path.insert(0, str(ROOT / "deploy"))
    spec = importlib.util.spec_from_file_location("deploy_run", ROOT / "deploy" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _clean_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """A shell in a fresh clone: no EIM_*, DATABASE_URL, REDIS_URL or settings module."""
    kept = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {**kept, "EIM_VAR_DIR": str(var_dir), **extra}


def _manage(var_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_clean_env(var_dir, **extra),
        capture_output=True,
        text=True,
        timeout=180,
    )


def _setting(var_dir: Path, name: str, **extra: str) -> str:
    code = f"from django.conf import settings; print('setting=' + str(settings.{name}))"
    done = _manage(var_dir, "shell", "-c", code, **extra)
    assert done.returncode == 0, done.stderr
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("setting=")]
    return line.removeprefix("setting=")


def test_after_make_run_prepares_var_create_token_works_as_the_readme_shows(tmp_path):
    local_env = _run_py().local_env_ensure(tmp_path)
    for step in (("migrate", "--verbosity", "0"), ("seed_demo",)):
        assert _manage(tmp_path, *step).returncode == 0

    done = _manage(tmp_path, "create_token", "alice")

    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()[-1]) >= 40  # the token, its last line
    assert local_env.stat().st_mode & 0o777 == 0o600
    assert "EIM_SECRET_KEY=" in local_env.read_text()


def test_without_the_file_or_a_variable_start_up_still_refuses(tmp_path):
    done = _manage(tmp_path, "create_token", "alice")

    assert done.returncode != 0
    assert "EIM_SECRET_KEY must be set when EIM_DEBUG is off" in done.stderr
    assert not (tmp_path / "local.env").exists()


def test_the_environment_wins_over_the_file(tmp_path):
    _run_py().local_env_ensure(tmp_path)

    debug = _setting(tmp_path, "DEBUG", EIM_DEBUG="false")

    assert debug == "False"


def test_a_server_on_postgresql_never_reads_the_file(tmp_path):
    _run_py().local_env_ensure(tmp_path)

    done = _manage(tmp_path, "check", DATABASE_URL="postgres://postgres@127.0.0.1:5432/eim")

    assert done.returncode != 0
    assert "EIM_SECRET_KEY must be set when EIM_DEBUG is off" in done.stderr


def test_the_test_settings_ignore_a_developers_file(tmp_path):
    (tmp_path / "local.env").write_text("EIM_HEALTH_TOKEN=from-the-file\nEIM_DEBUG=true\n")

    token = _setting(tmp_path, "EIM_HEALTH_TOKEN", DJANGO_SETTINGS_MODULE="eim.settings.test")

    assert token == ""


def test_preparing_again_keeps_the_secrets_it_wrote(tmp_path):
    run = _run_py()
    first = run.local_env_ensure(tmp_path).read_text()

    second = run.local_env_ensure(tmp_path).read_text()

    assert first == second
