"""The OpenAPI schema: renders without warnings, lists every endpoint, matches real replies."""

import io
import json
import uuid

import pytest
from django.core.management import call_command

from eim.api import serializers as shapes
from eim.chat.services.messages import reaction_add
from tests.conftest import api_as
from tests.factories import ChannelFactory, direct_conversation, send, staged_attachment

pytestmark = pytest.mark.django_db

ADMIN_ENDPOINTS = {
    "/api/v1/admin/people/": {"get"},
    "/api/v1/admin/people/{user_id}/": {"get"},
    "/api/v1/admin/people/{user_id}/deactivate/": {"post"},
    "/api/v1/admin/people/{user_id}/reactivate/": {"post"},
    "/api/v1/admin/people/{user_id}/sign-out/": {"post"},
    "/api/v1/admin/people/{user_id}/tokens/{token_key}/": {"delete"},
    "/api/v1/admin/people/{user_id}/roles/revoke/": {"post"},
    "/api/v1/admin/role-requests/": {"get", "post"},
    "/api/v1/admin/role-requests/{request_id}/approve/": {"post"},
    "/api/v1/admin/role-requests/{request_id}/refuse/": {"post"},
    "/api/v1/admin/channels/": {"get"},
    "/api/v1/admin/channels/{conversation_id}/": {"get"},
    "/api/v1/admin/channels/{conversation_id}/members/": {"post"},
    "/api/v1/admin/channels/{conversation_id}/members/{user_id}/": {"delete"},
    "/api/v1/admin/channels/{conversation_id}/archive/": {"post"},
    "/api/v1/admin/channels/{conversation_id}/unarchive/": {"post"},
    "/api/v1/admin/channels/{conversation_id}/owner/": {"post"},
    "/api/v1/admin/groups/": {"get", "post"},
    "/api/v1/admin/groups/{group_id}/": {"get", "patch", "delete"},
    "/api/v1/admin/groups/{group_id}/members/": {"post"},
    "/api/v1/admin/groups/{group_id}/members/{user_id}/": {"delete"},
    "/api/v1/admin/identity-providers/": {"get", "post"},
    "/api/v1/admin/identity-providers/{provider_id}/": {"patch"},
    "/api/v1/admin/identity-providers/{provider_id}/rules/": {"post"},
    "/api/v1/admin/identity-providers/{provider_id}/rules/{rule_id}/": {"delete"},
    "/api/v1/admin/settings/": {"get", "patch"},
    "/api/v1/admin/scim-tokens/": {"get", "post"},
    "/api/v1/admin/scim-tokens/{token_id}/": {"delete"},
}

ENDPOINTS = {
    "/api/v1/me/": {"get"},
    "/api/v1/users/": {"get"},
    "/api/v1/notices/": {"get"},
    "/api/v1/notices/dismiss/": {"post"},
    "/api/v1/conversations/": {"get", "post"},
    "/api/v1/conversations/direct/": {"post"},
    "/api/v1/conversations/{conversation_id}/": {"get", "patch"},
    "/api/v1/conversations/{conversation_id}/join/": {"post"},
    "/api/v1/conversations/{conversation_id}/leave/": {"post"},
    "/api/v1/conversations/{conversation_id}/owner/": {"post"},
    "/api/v1/conversations/{conversation_id}/visibility/": {"post"},
    "/api/v1/me/preferences/": {"get", "patch"},
    "/api/v1/conversations/{conversation_id}/archive/": {"post"},
    "/api/v1/conversations/{conversation_id}/members/": {"get", "post"},
    "/api/v1/conversations/{conversation_id}/members/{user_id}/": {"delete"},
    "/api/v1/conversations/{conversation_id}/messages/": {"get", "post"},
    "/api/v1/conversations/{conversation_id}/read/": {"post"},
    "/api/v1/conversations/{conversation_id}/attachments/": {"post"},
    "/api/v1/messages/{message_id}/": {"get", "patch", "delete"},
    "/api/v1/messages/{message_id}/reactions/": {"post", "delete"},
    "/api/v1/attachments/{attachment_id}/download/": {"get"},
    "/api/v1/compliance/search": {"get"},
    "/api/v1/compliance/messages/{message_id}/versions": {"get"},
    "/api/v1/compliance/messages/{message_id}/exposure": {"get"},
    "/api/v1/compliance/records/{archive_seq}/context": {"get"},
    "/api/v1/search": {"get"},
    "/api/v1/compliance/policies": {"get", "post"},
    "/api/v1/compliance/policies/{policy_id}": {"get", "put"},
    "/api/v1/compliance/policies/groups": {"get"},
    "/api/v1/compliance/policies/test": {"post"},
    "/api/v1/compliance/policies/backtest": {"post"},
    "/api/v1/compliance/review/items": {"get"},
    "/api/v1/compliance/review/items/{item_id}": {"get"},
    "/api/v1/compliance/review/items/{item_id}/claim": {"post"},
    "/api/v1/compliance/review/items/{item_id}/release": {"post"},
    "/api/v1/compliance/review/items/{item_id}/decide": {"post"},
    "/api/v1/compliance/review/items/{item_id}/reopen": {"post"},
    "/api/v1/compliance/review/decide": {"post"},
    "/api/v1/compliance/review/report": {"get"},
    "/api/v1/compliance/notifications": {"get"},
    "/api/v1/compliance/notifications/read": {"post"},
    "/api/v1/compliance/exports/": {"get", "post"},
    "/api/v1/compliance/exports/{export_id}/": {"get", "delete"},
    "/api/v1/compliance/exports/{export_id}/cancel/": {"post"},
    "/api/v1/compliance/exports/{export_id}/download/": {"get"},
    "/api/v1/roles/grants/": {"get"},
    "/api/v1/roles/requests/": {"get", "post"},
    "/api/v1/roles/requests/{request_id}/approve/": {"post"},
    "/api/v1/roles/requests/{request_id}/refuse/": {"post"},
    "/api/v1/roles/revoke/": {"post"},
    "/api/v1/barriers/": {"get", "post"},
    "/api/v1/barriers/{policy_id}/": {"get", "delete"},
    "/api/v1/barriers/{policy_id}/proposals/": {"post"},
    "/api/v1/barriers/{policy_id}/preview/": {"get"},
    "/api/v1/barriers/{policy_id}/activate/": {"post"},
    "/api/v1/barriers/{policy_id}/withdraw/": {"post"},
    **ADMIN_ENDPOINTS,
}


def test_the_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert out.read_text().startswith("openapi: 3")


def test_the_schema_is_served_and_lists_every_endpoint(api):
    response = api.get("/api/v1/schema/", {"format": "json"})

    schema = json.loads(response.content)
    paths = {path: set(ops) - {"parameters"} for path, ops in schema["paths"].items()}
    assert response.status_code == 200
    assert paths == ENDPOINTS
    assert schema["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


def test_every_operation_has_a_unique_id(api):
    schema = json.loads(api.get("/api/v1/schema/", {"format": "json"}).content)

    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]

    assert len(ids) == len(set(ids))


def _fields(serializer_class: type) -> set[str]:
    return set(serializer_class().fields)


def test_the_documented_shapes_match_what_the_api_answers(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    upload = staged_attachment(alice, channel)
    message = send(alice, channel, "hi @bob", attachment_ids=[upload.pk])
    reaction_add(user=bob, message_id=message.pk, emoji="👍")
    dm = direct_conversation(alice, bob)
    ChannelFactory(creator=bob)  # a channel for alice to browse
    client = api_as(alice)

    page = client.get(f"/api/v1/conversations/{channel.pk}/messages/").json()
    listing = client.get("/api/v1/conversations/").json()
    browse = client.get("/api/v1/conversations/", {"browse": 1}).json()
    members = client.get(f"/api/v1/conversations/{channel.pk}/members/").json()
    me = client.get("/api/v1/me/").json()
    directory = client.get("/api/v1/users/").json()
    read = client.post(
        f"/api/v1/conversations/{channel.pk}/read/", {"seq": 1}, format="json"
    ).json()
    sent = client.post(
        f"/api/v1/conversations/{dm.pk}/messages/",
        {"body": "x", "client_id": str(uuid.uuid4())},
        format="json",
    ).json()

    message_out = page["results"][0]
    conversation_fields = _fields(shapes.ConversationOutput)
    assert set(page) == _fields(shapes.MessagePageOutput)
    assert set(message_out) == set(sent) == _fields(shapes.MessageOutput)
    assert set(message_out["author"]) == _fields(shapes.UserOutput)
    assert set(message_out["attachments"][0]) == _fields(shapes.AttachmentOutput)
    assert set(message_out["reactions"][0]) == _fields(shapes.ReactionOutput)
    assert {key for c in listing for key in c} == conversation_fields - {"member_count"}
    assert {key for c in browse for key in c} == conversation_fields - {"people", "unread_mentions"}
    assert set(members[0]) == _fields(shapes.MemberOutput)
    assert set(me) == _fields(shapes.MeOutput)
    assert set(directory[0]) == _fields(shapes.DirectoryUserOutput)
    assert set(read) == _fields(shapes.ReadMarkOutput)


def test_schema_generation_prints_nothing_to_stderr(tmp_path):
    errors = io.StringIO()

    call_command("spectacular", "--file", str(tmp_path / "s.yml"), stderr=errors)

    assert errors.getvalue() == ""
