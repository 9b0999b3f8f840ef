"""/healthz: the real database, broker and channel layer, and what it says when one is down."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

CLOSED_PORT = "redis://127.0.0.1:1/0"  # nothing listens on port 1
UNREACHABLE_LAYER = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [CLOSED_PORT]},
    }
}


def test_healthy_when_everything_answers(client):
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "channel_layer": True,
    }
    assert response["Cache-Control"].startswith("max-age=0")


@override_settings(CHANNEL_LAYERS=UNREACHABLE_LAYER)
def test_503_when_the_channel_layer_is_unreachable(client):
    response = client.get("/healthz")

    checks = response.json()["checks"]
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert checks["channel_layer"]["ok"] is False
    assert "Error" in checks["channel_layer"]["error"]
    assert (checks["database"]["ok"], checks["broker"]["ok"]) == (True, True)


@override_settings(CELERY_BROKER_URL=CLOSED_PORT)
def test_503_when_the_broker_is_unreachable(client):
    response = client.get("/healthz")

    checks = response.json()["checks"]
    assert response.status_code == 503
    assert checks["broker"]["ok"] is False
    assert "127.0.0.1:1" in checks["broker"]["error"]
    assert (checks["database"]["ok"], checks["channel_layer"]["ok"]) == (True, True)


def test_healthz_needs_no_login_and_only_answers_get(client):
    assert client.post("/healthz").status_code == 405


async def test_probes_leave_no_channel_subscribed_on_a_long_lived_loop(settings):
    # Under Daphne the probe runs on the server's one event loop, which outlives it.
    import redis

    from eim.health import _round_trip

    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    for _ in range(3):
        await _round_trip()

    subscribed = redis.Redis.from_url(settings.REDIS_URL).pubsub_channels(f"{prefix}*")
    assert [name for name in subscribed if b"healthz" in name] == []
