"""Policies made through the service, as a compliance officer makes them."""

from typing import Any

import pytest

from accounts.models import User
from compliance.scanning.models import PolicyVersion
from compliance.scanning.services import policy_create

# The archive's fault harness (a private broker, Celery workers), for test_faults.py.
from tests.archive.conftest import archive_key  # noqa: F401
from tests.archive.test_faults import broker, fleet  # noqa: F401


def make_policy(
    officer: User,
    name: str = "Promises",
    *,
    terms: list[str] | None = None,
    actions: list[str] | None = None,
    **conditions: Any,
) -> PolicyVersion:
    scope = conditions.pop("scope", None)
    if terms is not None or not conditions:
        conditions["lexicons"] = [{"name": "promises", "terms": terms or ["guarantee"]}]
    return policy_create(
        user=officer, name=name, conditions=conditions, actions=actions or ["flag"], scope=scope
    )


@pytest.fixture
def policy(officer: User):  # type: ignore[no-untyped-def]
    return lambda *args, **kwargs: make_policy(officer, *args, **kwargs)
