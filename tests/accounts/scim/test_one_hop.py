"""/scim/ over ASGI in one thread hop (eim/http_app.py): the same answers, signals, middleware
and token check as through Django's own ASGI handler."""

import asyncio
import itertools
import json
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.core import signals
from django.core.handlers.asgi import ASGIHandler

from accounts.models import User
from accounts.scim.services.tokens import scim_token_revoke
from audit.models import AuditEvent
from eim.http_app import HttpApplication
from ledger.canonical import chain_hash

from .conftest import ScimClient, user_body

pytestmark = pytest.mark.django_db(transaction=True)


async def _call(
    app: Any, method: str, path: str, secret: str = "", body: Any = None
) -> tuple[int, dict[bytes, bytes], bytes]:
    content = b"" if body is None else json.dumps(body).encode()
    headers = [(b"host", b"testserver"), (b"content-type", b"application/scim+json")]
    if secret:
        headers.append((b"authorization", f"Bearer {secret}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": content})
    start = await communicator.receive_output(10)
    body_parts = []
    while True:
        message = await communicator.receive_output(10)
        body_parts.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await communicator.wait(10)
    return start["status"], dict(start["headers"]), b"".join(body_parts)


def _created_and_audited(username: str) -> tuple[int, int]:
    return (
        User.objects.filter(username=username).count(),
        AuditEvent.objects.filter(event_type="user.created").count(),
    )


@pytest.fixture
def signalled() -> Any:
    sent: list[str] = []

    def started(**kwargs: Any) -> None:
        sent.append("started")

    def finished(**kwargs: Any) -> None:
        sent.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    yield sent
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


async def test_a_creation_answers_as_through_djangos_handler(okta: ScimClient, signalled):
    status, headers, body = await _call(
        HttpApplication(), "POST", "/scim/v2/Users", okta.secret, user_body("ada@example.com")
    )

    assert status == 201, body
    created = json.loads(body)
    assert created["userName"] == "ada@example.com"
    assert headers[b"Content-Type"] == b"application/scim+json"
    assert headers[b"Location"].decode() == created["meta"]["location"]
    assert signalled == ["started", "finished"]
    assert await database_sync_to_async(_created_and_audited)("ada@example.com") == (1, 1)


async def test_the_same_middleware_headers_as_djangos_handler(okta: ScimClient):
    path = "/scim/v2/ServiceProviderConfig"

    one_hop = await _call(HttpApplication(), "GET", path, okta.secret)
    django = await _call(ASGIHandler(), "GET", path, okta.secret)

    assert one_hop[0] == django[0] == 200
    assert set(one_hop[1]) == set(django[1])
    assert one_hop[2] == django[2]


async def test_a_revoked_token_is_refused_on_the_very_next_request(okta: ScimClient):
    app = HttpApplication()
    first = await _call(app, "GET", "/scim/v2/Users", okta.secret)

    await database_sync_to_async(scim_token_revoke)(token=okta.token)
    after = await _call(app, "GET", "/scim/v2/Users", okta.secret)

    assert first[0] == 200
    assert after[0] == 401
    assert json.loads(after[2])["status"] == "401"


async def test_an_error_is_a_scim_error_and_other_paths_take_djangos_way(okta: ScimClient):
    app = HttpApplication()

    unknown = await _call(app, "GET", "/scim/v2/Users/999999", okta.secret)
    health = await _call(app, "GET", "/healthz")

    assert unknown[0] == 404
    assert json.loads(unknown[2])["status"] == "404"
    assert health[0] == 200


async def test_concurrent_creations_on_the_shared_threads_are_all_made_and_audited(
    okta: ScimClient,
):
    app = HttpApplication()
    names = [f"p{n}@example.com" for n in range(12)]  # more than SCIM_THREADS at once

    answers = await asyncio.gather(
        *(_call(app, "POST", "/scim/v2/Users", okta.secret, user_body(n)) for n in names)
    )

    assert [status for status, _, _ in answers] == [201] * len(names)
    counts = await database_sync_to_async(_created_and_audited_all)(names)
    assert counts == (len(names), len(names))
    assert await database_sync_to_async(_chain_intact)()


def _chain_intact() -> bool:
    events = list(AuditEvent.objects.order_by("seq"))
    return all(
        later.seq == earlier.seq + 1
        and later.prev_hash == earlier.hash
        and later.hash == chain_hash(later.prev_hash, later.canonical)
        for earlier, later in itertools.pairwise(events)
    )


def _created_and_audited_all(names: list[str]) -> tuple[int, int]:
    return (
        User.objects.filter(username__in=names).count(),
        AuditEvent.objects.filter(event_type="user.created").count(),
    )
