"""Daphne's requests skip Twisted's form parsing, and Twisted's access-log line is formatted
only when Daphne shows Twisted's log (eim/http_server.py); the body still reaches the
application whole."""

import io
import json
import urllib.request
from types import SimpleNamespace

import pytest
from daphne.http_protocol import HTTPFactory, WebRequest
from twisted.web.test.requesthelper import DummyChannel

from accounts.models import User
from accounts.scim.services.tokens import scim_token_create


def _form_post(body: bytes) -> WebRequest:
    channel = DummyChannel()
    channel.factory = SimpleNamespace(server=SimpleNamespace(protocol_connected=lambda r: None))
    request = WebRequest(channel)
    request.process = lambda: None  # Daphne's hand-over to the application: not under test
    request.requestHeaders.setRawHeaders(b"content-type", [b"application/x-www-form-urlencoded"])
    request.content = io.BytesIO(body)
    request.content.seek(0, 2)
    request.requestReceived(b"POST", b"/form", b"HTTP/1.1")
    return request


def test_loading_the_application_turns_twisteds_form_parsing_off():
    import eim.asgi  # noqa: F401  (what Daphne imports)

    request = _form_post(b"name=ada&role=admin")

    assert request.args == {}
    assert request.content.read() == b"name=ada&role=admin"


@pytest.mark.django_db(transaction=True)
def test_a_body_sent_as_a_form_reaches_the_application_whole(daphne_server):
    _, secret = scim_token_create(name="okta", provider=None)
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a=b&c=d"}

    request = urllib.request.Request(  # noqa: S310 - a URL of the test's own server
        f"{daphne_server.http_url}/scim/v2/Users",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        status = response.status

    assert status == 201
    assert User.objects.filter(username="a=b&c=d").exists()


@pytest.mark.parametrize(("verbosity", "written"), [(0, False), (1, False), (2, True)])
def test_twisteds_access_line_is_formatted_only_when_daphne_shows_it(verbosity, written):
    import eim.asgi  # noqa: F401

    lines: list[str] = []
    factory = HTTPFactory(SimpleNamespace(verbosity=verbosity))
    factory._logFile = SimpleNamespace(write=lines.append)
    factory._logDateTime = "06/Dec/2026:09:00:00 +0000"
    request = _form_post(b"a=1")

    factory.log(request)

    assert bool(lines) is written
    assert all('"POST /form HTTP/1.1"' in line for line in lines)
