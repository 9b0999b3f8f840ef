"""accounts/ratelimit.py on Redis: a window's count, and its expiry set once when it starts."""

import time

import pytest
from django.core.cache import cache

from accounts.ratelimit import Rate, _redis, rate_exceeded


@pytest.fixture
def key() -> str:
    return f"test-rate:{time.monotonic_ns()}"


def _stored(key: str, rate: Rate) -> str:
    return cache.make_key(f"{key}:{int(time.time() // rate.window)}")


def test_requests_within_the_rate_pass_and_the_next_one_waits_for_the_window(key: str):
    rate = Rate(limit=3, window=60)

    passed = [rate_exceeded(key=key, rate=rate) for _ in range(3)]
    refused = rate_exceeded(key=key, rate=rate)

    assert passed == [0, 0, 0]
    assert 1 <= refused <= 60


def test_a_window_expires_once_from_its_first_request(key: str):
    client = _redis()
    assert client is not None, "these tests run on Redis"
    rate = Rate(limit=100, window=60)
    rate_exceeded(key=key, rate=rate)
    client.expire(_stored(key, rate), 5)  # as if the window were nearly over

    rate_exceeded(key=key, rate=rate)

    assert int(client.get(_stored(key, rate))) == 2
    assert 0 < client.ttl(_stored(key, rate)) <= 5


def test_a_new_window_expires_a_second_after_it_ends(key: str):
    client = _redis()
    assert client is not None, "these tests run on Redis"
    rate = Rate(limit=100, window=60)

    rate_exceeded(key=key, rate=rate)

    assert 59 <= client.ttl(_stored(key, rate)) <= 61
