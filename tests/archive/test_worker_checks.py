"""A worker refuses to start if the broker could hand a running task to a second worker.

Redis redelivers a task whose worker has not acknowledged it within the visibility timeout;
with acks_late that includes every task still running, so the timeout must be at least twice
the longest task.
"""

import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from kombu.transport.redis import Channel

from archive.worker_checks import (
    LONGEST_TASK_SECONDS,
    VisibilityTimeoutError,
    check_visibility_timeout,
)
from tests.conftest import ROOT, server_env

REDIS = "redis://127.0.0.1:6379/9"
SHORTEST_SAFE = 2 * LONGEST_TASK_SECONDS


def verdict(broker_url: str, options: dict) -> str:
    try:
        check_visibility_timeout(broker_url=broker_url, options=options)
    except VisibilityTimeoutError:
        return "refused"
    return "accepted"


def test_a_redis_broker_below_twice_the_longest_task_is_refused():
    with pytest.raises(VisibilityTimeoutError, match=f"at least {SHORTEST_SAFE} s"):
        check_visibility_timeout(broker_url=REDIS, options={"visibility_timeout": 600})


def test_the_limit_is_exactly_twice_the_longest_task():
    verdicts = {
        timeout: verdict(REDIS, {"visibility_timeout": timeout})
        for timeout in (SHORTEST_SAFE - 1, SHORTEST_SAFE, SHORTEST_SAFE + 1)
    }

    assert verdicts == {
        SHORTEST_SAFE - 1: "refused",
        SHORTEST_SAFE: "accepted",
        SHORTEST_SAFE + 1: "accepted",
    }


def test_tls_redis_is_checked_too():
    assert verdict("rediss://cache.internal:6380/0", {"visibility_timeout": 60}) == "refused"


def test_the_projects_default_broker_options_are_accepted():
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] >= SHORTEST_SAFE

    check_visibility_timeout(
        broker_url=settings.CELERY_BROKER_URL, options=settings.CELERY_BROKER_TRANSPORT_OPTIONS
    )


def test_an_unset_timeout_is_judged_as_kombus_own_default():
    assert verdict(REDIS, {}) == verdict(REDIS, {"visibility_timeout": Channel.visibility_timeout})


@pytest.mark.parametrize(
    "broker_url",
    ["amqp://guest@rabbit:5672//", "filesystem://", "sqs://", "memory://"],
)
def test_brokers_other_than_redis_are_not_checked(broker_url):
    assert verdict(broker_url, {"visibility_timeout": 1}) == "accepted"


def test_the_fault_tests_escape_hatch_skips_the_check():
    options = {"visibility_timeout": 5, "unsafe_short_timeout": True}

    assert verdict(REDIS, options) == "accepted"


@pytest.mark.slow
@pytest.mark.django_db
def test_a_celery_worker_with_a_short_visibility_timeout_does_not_start():
    env = server_env()
    env.update(EIM_BROKER_VISIBILITY_TIMEOUT="60", EIM_BROKER_UNSAFE_SHORT_TIMEOUT="false")
    queue = f"startup-check-{uuid.uuid4().hex}"

    worker = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "eim",
            "worker",
            "--pool=solo",
            f"--queues={queue}",
            f"--hostname={queue}@%h",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert worker.returncode != 0
    assert "refusing to start: broker visibility_timeout is 60 s" in worker.stderr
    assert " ready." not in worker.stderr
