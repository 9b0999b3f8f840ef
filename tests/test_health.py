"""/healthz: the real database, broker and channel layer, and what it says when one is down.

Anyone gets the status alone; the details need the operators' token (EIM_HEALTH_TOKEN)."""

import pytest
from django.test import override_settings

from tests.factories import ChannelFactory, send

pytestmark = pytest.mark.django_db

TOKEN = "operators-health-token-0123456789"
OPERATOR = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def _health_token(settings):
    settings.EIM_HEALTH_TOKEN = TOKEN


CLOSED_PORT = "redis://127.0.0.1:1/0"  # nothing listens on port 1
UNREACHABLE_LAYER = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [CLOSED_PORT]},
    }
}


def test_healthy_when_everything_answers(client):
    response = client.get("/healthz", **OPERATOR)

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
    response = client.get("/healthz", **OPERATOR)

    checks = response.json()["checks"]
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert checks["channel_layer"]["ok"] is False
    assert "Error" in checks["channel_layer"]["error"]
    assert (checks["database"]["ok"], checks["broker"]["ok"]) == (True, True)


@override_settings(CELERY_BROKER_URL=CLOSED_PORT)
def test_503_when_the_broker_is_unreachable(client):
    response = client.get("/healthz", **OPERATOR)

    checks = response.json()["checks"]
    assert response.status_code == 503
    assert checks["broker"]["ok"] is False
    assert "127.0.0.1:1" in checks["broker"]["error"]
    assert (checks["database"]["ok"], checks["channel_layer"]["ok"]) == (True, True)


def test_healthz_needs_no_login_and_only_answers_get(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer ", TOKEN],
    ids=["none", "wrong", "other-scheme", "longer", "empty", "no-scheme"],
)
def test_without_the_token_anyone_learns_the_status_and_nothing_else(client, alice, authorization):
    send(alice, ChannelFactory(creator=alice), "something for the archive to count")
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/healthz", **headers)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@override_settings(CHANNEL_LAYERS=UNREACHABLE_LAYER)
def test_without_the_token_a_failure_is_still_a_503_without_its_error(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_the_operators_token_shows_every_section(client, alice):
    send(alice, ChannelFactory(creator=alice), "one")

    body = client.get("/healthz", **OPERATOR).json()

    assert {"status", "checks", "archive", "index"} <= set(body)
    assert body["archive"]["backlog"] >= 1


def test_with_no_token_configured_an_empty_bearer_shows_nothing(client, settings):
    settings.EIM_HEALTH_TOKEN = ""

    response = client.get("/healthz", HTTP_AUTHORIZATION="Bearer ")

    assert response.json() == {"status": "ok"}


async def test_probes_leave_no_channel_subscribed_on_a_long_lived_loop(settings):
    # Under Daphne the probe runs on the server's one event loop, which outlives it.
    import redis

    from eim.health import _round_trip

    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    for _ in range(3):
        await _round_trip()

    subscribed = redis.Redis.from_url(settings.REDIS_URL).pubsub_channels(f"{prefix}*")
    assert [name for name in subscribed if b"healthz" in name] == []
