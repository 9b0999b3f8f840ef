"""A deprovisioned person's open socket closes within a second: SCIM requests sent over HTTP
to a real Daphne (channels-redis, Redis), the socket opened there with the person's token."""

import asyncio
import json
import time
import urllib.request

import pytest

from accounts.models import User
from accounts.scim.services.tokens import scim_token_create
from accounts.services import api_token_create
from tests.chat.socket_client import ChatSocket

from .conftest import PATCH, USER

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_ACCESS_ENDED = 4403


def _request(url: str, secret: str, method: str, body: dict | None = None) -> int:
    request = urllib.request.Request(  # noqa: S310 - a URL of the test's own server
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return int(response.status)


def _provisioned(base: str, secret: str, user_name: str) -> User:
    request = urllib.request.Request(  # noqa: S310
        f"{base}/Users",
        data=json.dumps({"schemas": [USER], "userName": user_name}).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return User.objects.get(pk=int(json.loads(response.read())["id"]))


@pytest.mark.parametrize(
    ("method", "body"),
    [
        (
            "PATCH",
            {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]},
        ),
        (
            "PATCH",
            {
                "schemas": [PATCH],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            },
        ),
        ("DELETE", None),
    ],
    ids=["okta-patch", "entra-patch", "delete"],
)
def test_a_deprovisioned_persons_open_socket_closes_within_a_second(daphne_server, method, body):
    _token, secret = scim_token_create(name="idp", provider=None)
    base = f"{daphne_server.http_url}/scim/v2"
    person = _provisioned(base, secret, "leaver@example.com")
    api_token = api_token_create(user=person)

    async def scenario() -> tuple[int, int | None, float]:
        socket = await ChatSocket.open(daphne_server.ws_url, api_token)
        started = time.monotonic()
        status = await asyncio.to_thread(
            _request, f"{base}/Users/{person.pk}", secret, method, body
        )
        code = await socket.closed(timeout=5)
        return status, code, time.monotonic() - started

    status, code, elapsed = asyncio.run(scenario())

    print(f"SCIM {method} to socket close: {elapsed * 1000:.0f} ms")
    assert status in (200, 204)
    assert code == CLOSE_ACCESS_ENDED
    assert elapsed < 1.0
    person.refresh_from_db()
    assert not person.is_active
