"""Every page carries the Content Security Policy; the socket is covered by connect-src."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _policy(header: str) -> dict[str, list[str]]:
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


@pytest.mark.parametrize("path", ["/login/", "/", "/compliance/", "/api/v1/me/"])
def test_each_page_allows_only_its_own_origin_and_no_inline_code(client: Client, alice, path):
    client.force_login(alice)

    response = client.get(path, follow=True)

    policy = _policy(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
