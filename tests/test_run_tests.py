"""deploy/run_tests.py: the browser tests' run gets a Redis database of its own."""

import importlib.util
from types import ModuleType

import pytest

from tests.conftest import ROOT


def load_run_tests() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_tests", ROOT / "deploy" / "run_tests.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/9", "redis://127.0.0.1:6379/10"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/1"),
        ("redis://:secret@cache.internal:6380/15", "redis://:secret@cache.internal:6380/0"),
    ],
)
def test_the_browser_run_uses_the_next_redis_database(url: str, expected: str) -> None:
    assert load_run_tests().next_redis_database(url) == expected
