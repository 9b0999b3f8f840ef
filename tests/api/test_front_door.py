"""The API's front door: the reference page, one error shape, paths that are not routes, and
input the database cannot hold."""

import json

import pytest

from eim.chat.models import Conversation
from tests.conftest import api_as
from tests.factories import ChannelFactory, direct_conversation

pytestmark = pytest.mark.django_db

HUGE = 10**30
PAST_BIGINT = 2**63


def test_the_reference_is_served_from_our_own_static_files(api):
    page = api.get("/api/v1/docs/")
    script = api.get("/api/v1/docs/", {"script": ""})

    html = page.content.decode()
    assert page.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<style" not in html
    assert "<script>" not in html
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema/" in script.content.decode()


def test_no_operation_describes_itself_with_an_internal_docstring(api):
    schema = json.loads(api.get("/api/v1/schema/", {"format": "json"}).content)

    operations = [op for ops in schema["paths"].values() for op in ops.values()]

    assert all(op.get("summary") and op.get("description") for op in operations)
    assert not [op for op in operations if "Base of" in op["description"]]


def test_every_operation_documents_its_refusals_with_the_error_body(api):
    schema = json.loads(api.get("/api/v1/schema/", {"format": "json"}).content)

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "403"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            content = responses["401"]["content"]["application/json"]
            assert content["schema"]["$ref"].endswith("/ApiErrorOutput")
            assert content["examples"]


def test_invalid_input_is_answered_in_the_documented_shape(alice):
    response = api_as(alice).get("/api/v1/search", {"q": "x" * 4001})

    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "invalid_input"
    assert isinstance(body["detail"], str)
    assert body["detail"].startswith("q: ")
    assert body["fields"] == {"q": ["Ensure this field has no more than 4000 characters."]}


def test_nested_invalid_input_names_the_field(alice):
    response = api_as(alice).post(
        "/api/v1/conversations/direct/", {"users": [1, "x"]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"users.1": ["A valid integer is required."]}


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/api/v1/conversations/{huge}/archive/", None),
        ("get", "/api/v1/conversations/{channel}/messages/?thread={huge}", None),
        ("get", "/api/v1/conversations/{channel}/messages/?before={huge}", None),
        ("post", "/api/v1/conversations/direct/", {"users": ["{huge}"]}),
        ("post", "/api/v1/conversations/{channel}/members/", {"users": ["{huge}"]}),
        ("post", "/api/v1/conversations/{channel}/read/", {"seq": "{huge}"}),
        ("get", "/api/v1/users/?ids={huge}", None),
        ("post", "/api/v1/roles/requests/", {"user": "{huge}", "role": "employee"}),
    ],
)
@pytest.mark.parametrize("huge", [HUGE, PAST_BIGINT])
def test_numbers_too_large_for_the_database_are_refused_not_a_server_error(
    alice, bob, method, path, data, huge
):
    channel = ChannelFactory(creator=alice, members=[bob])
    client = api_as(alice)
    client.raise_request_exception = False
    url = path.format(huge=huge, channel=channel.pk)
    body = json.loads(json.dumps(data).replace('"{huge}"', str(huge))) if data else None

    response = getattr(client, method)(url, body, format="json")

    assert response.status_code in (400, 403, 404)
    assert set(response.json()) >= {"code", "detail"}
    assert Conversation.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "path", "canonical"),
    [
        ("get", "/api/v1/me", "/api/v1/me/"),
        ("post", "/api/v1/conversations", "/api/v1/conversations/"),
        ("get", "/api/v1/search/?q=hello", "/api/v1/search?q=hello"),
    ],
)
def test_a_path_off_by_a_slash_is_redirected_with_its_method_and_a_body(
    alice, method, path, canonical
):
    response = getattr(api_as(alice), method)(path)

    assert response.status_code == 308  # keeps the method and the body, unlike 301
    assert response["Location"] == canonical
    assert response.json()["code"] == "moved"
    assert canonical.split("?")[0] in response.json()["detail"]


def test_a_redirected_request_reaches_the_route(alice):
    response = api_as(alice).get("/api/v1/me", follow=True)

    assert response.status_code == 200
    assert response.json()["username"] == alice.username


def test_a_path_that_is_no_route_is_a_json_404(alice, bob):
    direct_conversation(alice, bob)

    for path in ("/api/v1/nothing-here/", "/api/v1/conversations/-3/members/", "/api/v1/x\n"):
        response = api_as(alice).get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_a_body_with_too_many_fields_is_refused_in_the_documented_shape(alice):
    fields = "&".join(f"user_ids={n}" for n in range(1500))

    response = api_as(alice).post(
        "/api/v1/conversations/direct/", fields, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid_input"
    assert not Conversation.objects.exists()


def test_a_body_too_large_is_refused_in_the_documented_shape(alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api_as(alice).post(
        "/api/v1/conversations/", {"name": "x" * 2000}, content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert not Conversation.objects.exists()
