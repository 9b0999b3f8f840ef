"""Who may do what over REST: every endpoint against every kind of actor.

A member succeeds. A non-member of a private conversation gets 404, exactly as for one that
does not exist, so its existence does not leak. A non-member of a public channel may look at
the channel but not inside it. Nobody unauthenticated gets anything. Every refusal changes
nothing: no row, no event, no stored file.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import User
from eim.chat.models import Attachment, Conversation, Message
from eim.chat.services.messages import reaction_add
from tests.conftest import api_as
from tests.factories import (
    ChannelFactory,
    UserFactory,
    chat_state,
    direct_conversation,
    send,
    staged_attachment,
    stored_files,
)

pytestmark = pytest.mark.django_db


@dataclass
class World:
    owner: User  # owns both channels and wrote their messages
    member: User
    outsider: User
    newcomer: User  # someone to invite
    channels: dict[str, Conversation]
    messages: dict[str, Message]
    attachments: dict[str, Attachment]

    def actor(self, kind: str) -> APIClient:
        clients = {
            "member": lambda: api_as(self.owner),
            "plain member": lambda: api_as(self.member),
            "outsider": lambda: api_as(self.outsider),
            "anonymous": APIClient,
        }
        return clients[kind]()


@pytest.fixture
def world(alice, bob, carol) -> World:
    channels, messages, attachments = {}, {}, {}
    for kind in ("private", "public"):
        channel = ChannelFactory(creator=alice, members=[bob], private=kind == "private")
        upload = staged_attachment(alice, channel)
        message = send(alice, channel, f"{kind} words", attachment_ids=[upload.pk])
        reaction_add(user=alice, message_id=message.pk, emoji="👍")
        reaction_add(user=bob, message_id=message.pk, emoji="👍")
        channels[kind], messages[kind], attachments[kind] = channel, message, upload
    return World(alice, bob, carol, UserFactory(username="dave"), channels, messages, attachments)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: Callable[[World, str], str]
    data: Callable[[World], Any] = lambda w: None
    format: str = "json"


def _conversation(suffix: str = "") -> Callable[[World, str], str]:
    return lambda w, kind: f"/api/v1/conversations/{w.channels[kind].pk}/{suffix}"


def _message(suffix: str = "") -> Callable[[World, str], str]:
    return lambda w, kind: f"/api/v1/messages/{w.messages[kind].pk}/{suffix}"


ENDPOINTS = {
    "conversation detail": Endpoint("get", _conversation()),
    "update conversation": Endpoint("patch", _conversation(), lambda w: {"topic": "hijacked"}),
    "archive": Endpoint("post", _conversation("archive/")),
    "make private": Endpoint("post", _conversation("visibility/"), lambda w: {"private": True}),
    "make public": Endpoint("post", _conversation("visibility/"), lambda w: {"private": False}),
    "leave": Endpoint("post", _conversation("leave/")),
    "list messages": Endpoint("get", _conversation("messages/")),
    "send message": Endpoint(
        "post",
        _conversation("messages/"),
        lambda w: {"body": "intruder", "client_id": str(uuid.uuid4())},
    ),
    "read message": Endpoint("get", _message()),
    "edit message": Endpoint("patch", _message(), lambda w: {"body": "defaced"}),
    "delete message": Endpoint("delete", _message()),
    "add reaction": Endpoint("post", _message("reactions/"), lambda w: {"emoji": "🎉"}),
    "remove reaction": Endpoint("delete", _message("reactions/"), lambda w: {"emoji": "👍"}),
    "list members": Endpoint("get", _conversation("members/")),
    "invite": Endpoint("post", _conversation("members/"), lambda w: {"users": [w.newcomer.pk]}),
    "remove member": Endpoint(
        "delete",
        lambda w, kind: f"/api/v1/conversations/{w.channels[kind].pk}/members/{w.member.pk}/",
    ),
    "upload": Endpoint(
        "post",
        _conversation("attachments/"),
        lambda w: {"file": SimpleUploadedFile("x.txt", b"smuggled text\n")},
        format="multipart",
    ),
    "download": Endpoint(
        "get", lambda w, kind: f"/api/v1/attachments/{w.attachments[kind].pk}/download/"
    ),
    "read mark": Endpoint("post", _conversation("read/"), lambda w: {"seq": 1}),
}

# (endpoint, conversation kind, actor kind) -> HTTP status
MEMBER = {
    "conversation detail": 200,
    "update conversation": 200,
    "archive": 200,
    "make private": 200,
    "make public": 200,
    "leave": 409,  # the sole owner: last_owner, hand ownership over first
    "list messages": 200,
    "send message": 201,
    "read message": 200,
    "edit message": 200,
    "delete message": 204,
    "add reaction": 200,
    "remove reaction": 200,
    "list members": 200,
    "invite": 201,
    "remove member": 204,
    "upload": 201,
    "download": 200,
    "read mark": 200,
}
# What a non-member of a public channel gets: 403 where the channel is open to them but the
# action needs membership, 404 where they reach for a message they could not have seen.
PUBLIC_OUTSIDER = {
    "conversation detail": 200,
    "update conversation": 403,
    "archive": 403,
    "make private": 403,
    "make public": 403,
    "leave": 403,
    "list messages": 403,
    "send message": 403,
    "read message": 404,
    "edit message": 404,
    "delete message": 404,
    "add reaction": 404,
    "remove reaction": 404,
    "list members": 403,
    "invite": 403,
    "remove member": 403,
    "upload": 403,
    "download": 404,
    "read mark": 403,
}
MATRIX = (
    [(name, kind, "member", MEMBER[name]) for name in ENDPOINTS for kind in ("private", "public")]
    + [(name, "private", "outsider", 404) for name in ENDPOINTS]
    + [(name, "public", "outsider", PUBLIC_OUTSIDER[name]) for name in ENDPOINTS]
    + [(name, kind, "anonymous", 401) for name in ENDPOINTS for kind in ("private", "public")]
)
ALLOWED = [row for row in MATRIX if row[3] < 400]
REFUSED = [row for row in MATRIX if row[3] >= 400]
ERROR_CODES = {401: "not_authenticated", 403: "not_a_member", 404: "not_found", 409: "last_owner"}


def _request(world: World, endpoint: str, kind: str, actor: str) -> Any:
    spec = ENDPOINTS[endpoint]
    client = world.actor(actor)
    return getattr(client, spec.method)(
        spec.path(world, kind), spec.data(world), format=spec.format
    )


def _ids(rows: list[tuple[str, str, str, int]]) -> list[str]:
    return [f"{actor} {endpoint} ({kind})" for endpoint, kind, actor, _ in rows]


def test_the_matrix_covers_every_endpoint_for_every_actor():
    assert set(MEMBER) == set(ENDPOINTS) == set(PUBLIC_OUTSIDER)
    assert len(MATRIX) == len(ENDPOINTS) * 6


@pytest.mark.parametrize(("endpoint", "kind", "actor", "status"), ALLOWED, ids=_ids(ALLOWED))
def test_allowed(world, endpoint, kind, actor, status):
    response = _request(world, endpoint, kind, actor)

    assert response.status_code == status
    response.close()


@pytest.mark.parametrize(("endpoint", "kind", "actor", "status"), REFUSED, ids=_ids(REFUSED))
def test_refused_and_nothing_changed(world, endpoint, kind, actor, status):
    before, files = chat_state(), stored_files()

    response = _request(world, endpoint, kind, actor)

    assert response.status_code == status
    assert response.json()["code"] == ERROR_CODES[status]
    assert chat_state() == before
    assert stored_files() == files


# --- members who are not owners or authors ---------------------------------------------------

OWNER_OR_AUTHOR_ONLY = [
    (name, kind)
    for name in (
        "update conversation",
        "archive",
        "make private",
        "make public",
        "edit message",
        "delete message",
    )
    for kind in ("private", "public")
] + [("remove member", "private"), ("remove member", "public"), ("invite", "private")]


@pytest.mark.parametrize(
    ("endpoint", "kind"), OWNER_OR_AUTHOR_ONLY, ids=[f"{e} ({k})" for e, k in OWNER_OR_AUTHOR_ONLY]
)
def test_a_plain_member_is_forbidden_what_only_owners_or_authors_may_do(world, endpoint, kind):
    spec = ENDPOINTS[endpoint]
    path = spec.path(world, kind).replace(
        f"/members/{world.member.pk}/", f"/members/{world.owner.pk}/"
    )
    before = chat_state()

    response = getattr(world.actor("plain member"), spec.method)(
        path, spec.data(world), format=spec.format
    )

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert chat_state() == before


def test_a_plain_member_may_invite_into_a_public_channel(world):
    response = _request(world, "invite", "public", "plain member")

    assert response.status_code == 201
    assert world.newcomer.pk in [m["id"] for m in response.json()]


def test_a_plain_member_may_remove_only_their_own_reaction(world):
    message = world.messages["public"]

    response = world.actor("plain member").delete(
        f"/api/v1/messages/{message.pk}/reactions/", {"emoji": "👍"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["reactions"] == [{"emoji": "👍", "users": [world.owner.pk]}]


# --- existence does not leak -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/conversations/{id}/",
        "/api/v1/conversations/{id}/messages/",
        "/api/v1/conversations/{id}/members/",
    ],
)
def test_a_private_conversation_looks_exactly_like_a_missing_one(world, path):
    outsider = world.actor("outsider")

    hidden = outsider.get(path.format(id=world.channels["private"].pk))
    missing = outsider.get(path.format(id=999_999))

    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())


def test_a_private_message_looks_exactly_like_a_missing_one(world):
    outsider = world.actor("outsider")

    hidden = outsider.get(f"/api/v1/messages/{world.messages['private'].pk}/")
    missing = outsider.get("/api/v1/messages/999999/")

    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())


def test_a_private_channel_is_not_in_anyones_browse_list(world):
    response = world.actor("outsider").get("/api/v1/conversations/?browse=1")

    names = [c["name"] for c in response.json()]
    assert world.channels["public"].name in names
    assert world.channels["private"].name not in names


@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [
        ("get", "", None),
        ("get", "messages/", None),
        (
            "post",
            "messages/",
            {"body": "psst", "client_id": "6b1f0a56-97e4-4a43-a1a8-0f6e1c1f8d10"},
        ),
        ("post", "join/", None),
        ("get", "members/", None),
    ],
    ids=["detail", "messages", "send", "join", "members"],
)
def test_a_direct_conversation_is_not_found_for_anyone_else(
    alice, bob, carol, method, suffix, data
):
    dm = direct_conversation(alice, bob)
    send(alice, dm, "between us")
    before = chat_state()

    response = getattr(api_as(carol), method)(
        f"/api/v1/conversations/{dm.pk}/{suffix}", data, format="json"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert chat_state() == before


def test_an_outsider_may_join_a_public_channel_but_not_a_private_one(world):
    outsider = world.actor("outsider")
    before = chat_state()

    private = outsider.post(f"/api/v1/conversations/{world.channels['private'].pk}/join/")
    unchanged = chat_state()
    public = outsider.post(f"/api/v1/conversations/{world.channels['public'].pk}/join/")

    assert private.status_code == 404
    assert unchanged == before
    assert public.status_code == 200
    assert public.json()["member"] is True
