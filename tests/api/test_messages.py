"""Messages over REST: send, page, edit, delete, react, read marks; and the error shape."""

import uuid

import pytest
from django.test import override_settings

from eim.chat.models import ConversationEvent, EventType, Message
from eim.chat.services.conversations import conversation_archive
from tests.conftest import api_as
from tests.factories import ChannelFactory, chat_state, send

pytestmark = pytest.mark.django_db


def _send(client, channel, body="hello", client_id=None, **extra):  # type: ignore[no-untyped-def]
    payload = {"body": body, "client_id": str(client_id or uuid.uuid4()), **extra}
    return client.post(f"/api/v1/conversations/{channel.pk}/messages/", payload, format="json")


# --- sending ---------------------------------------------------------------------------------


def test_send_answers_201_with_the_message(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    client_id = uuid.uuid4()

    response = _send(api_as(alice), channel, "**hi** @bob", client_id)

    body = response.json()
    stored = Message.objects.get(pk=body["id"])
    assert response.status_code == 201
    assert (body["body"], body["client_id"], body["author"]["id"]) == (
        "**hi** @bob",
        str(client_id),
        alice.pk,
    )
    assert body["html"] == (
        '<p><strong>hi</strong> <span class="mention" data-user="bob">@bob</span></p>'
    )
    assert body["mentions"] == [bob.pk]
    assert (stored.seq, stored.body) == (body["seq"], "**hi** @bob")


def test_sending_the_same_client_id_again_answers_200_with_the_first_message(alice):
    channel = ChannelFactory(creator=alice)
    client = api_as(alice)
    client_id = uuid.uuid4()

    first = _send(client, channel, "once", client_id)
    events = chat_state()["events"]
    second = _send(client, channel, "once", client_id)

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert Message.objects.filter(client_id=client_id).count() == 1
    assert chat_state()["events"] == events


def test_a_client_id_used_in_another_conversation_is_409(alice):
    general = ChannelFactory(creator=alice)
    random = ChannelFactory(creator=alice)
    client = api_as(alice)
    client_id = uuid.uuid4()
    _send(client, general, "here", client_id)
    before = chat_state()

    response = _send(client, random, "there", client_id)

    assert response.status_code == 409
    assert response.json()["code"] == "client_id_conflict"
    assert chat_state() == before


@pytest.mark.parametrize(
    ("body", "code"),
    [("", "empty_body"), ("  \n ", "empty_body"), ("z" * 10_001, "body_too_long")],
    ids=["empty", "blank", "too-long"],
)
def test_an_unacceptable_body_is_400_with_a_clear_detail_and_nothing_written(alice, body, code):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    response = _send(api_as(alice), channel, body)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert chat_state() == before


def test_a_missing_body_is_an_empty_body(alice):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    response = api_as(alice).post(
        f"/api/v1/conversations/{channel.pk}/messages/",
        {"client_id": str(uuid.uuid4())},
        format="json",
    )

    assert (response.status_code, response.json()["code"]) == (400, "empty_body")
    assert chat_state() == before


@pytest.mark.parametrize(
    "payload",
    [
        {"body": "hi"},
        {"body": "hi", "client_id": "not-a-uuid"},
        {"body": "hi", "client_id": str(uuid.uuid4()), "parent": "x"},
        {"body": "hi", "client_id": str(uuid.uuid4()), "attachments": "1"},
    ],
    ids=["no-client-id", "bad-client-id", "bad-parent", "bad-attachments"],
)
def test_malformed_input_is_400_invalid_input(alice, payload):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    response = api_as(alice).post(
        f"/api/v1/conversations/{channel.pk}/messages/", payload, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")
    assert chat_state() == before


@override_settings(EIM_SEND_RATE="3/86400")
def test_over_the_rate_is_429_with_retry_after_and_nothing_written(alice):
    channel = ChannelFactory(creator=alice)
    client = api_as(alice)
    accepted = [_send(client, channel).status_code for _ in range(3)]
    before = chat_state()

    response = _send(client, channel, "one too many")

    assert accepted == [201, 201, 201]
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 86400
    assert chat_state() == before


@override_settings(EIM_SEND_RATE="1/86400")
def test_a_retry_over_the_rate_is_still_acknowledged(alice):
    channel = ChannelFactory(creator=alice)
    client = api_as(alice)
    client_id = uuid.uuid4()
    first = _send(client, channel, "hi", client_id)

    retry = _send(client, channel, "hi", client_id)

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]


def test_a_reply_names_its_thread_root(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    root = send(alice, channel, "root")
    reply = send(bob, channel, "reply", parent_id=root.pk)

    response = _send(api_as(alice), channel, "nested", parent=reply.pk)

    assert response.status_code == 201
    assert response.json()["parent"] == root.pk


def test_sending_into_an_archived_channel_is_409(alice):
    channel = ChannelFactory(creator=alice)
    conversation_archive(actor=alice, conversation_id=channel.pk)
    before = chat_state()

    response = _send(api_as(alice), channel, "anyone?")

    assert (response.status_code, response.json()["code"]) == (409, "archived")
    assert chat_state() == before


def test_a_missing_conversation_is_404(alice):
    response = api_as(alice).post(
        "/api/v1/conversations/999999/messages/",
        {"body": "void", "client_id": str(uuid.uuid4())},
        format="json",
    )

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


# --- pages -----------------------------------------------------------------------------------


def test_a_page_walks_back_with_before_and_forward_with_after(alice):
    channel = ChannelFactory(creator=alice)
    messages = [send(alice, channel, f"m{i}") for i in range(5)]
    client = api_as(alice)
    url = f"/api/v1/conversations/{channel.pk}/messages/"

    latest = client.get(url, {"limit": 2}).json()
    older = client.get(url, {"limit": 2, "before": latest["results"][0]["seq"]}).json()
    newer = client.get(url, {"limit": 3, "after": messages[1].seq}).json()

    assert ([m["body"] for m in latest["results"]], latest["has_more"]) == (["m3", "m4"], True)
    assert ([m["body"] for m in older["results"]], older["has_more"]) == (["m1", "m2"], True)
    assert ([m["body"] for m in newer["results"]], newer["has_more"]) == (["m2", "m3", "m4"], False)


def test_a_thread_page(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    root = send(alice, channel, "root")
    send(bob, channel, "reply", parent_id=root.pk)
    send(alice, channel, "elsewhere")

    page = (
        api_as(bob).get(f"/api/v1/conversations/{channel.pk}/messages/", {"thread": root.pk}).json()
    )

    assert [m["body"] for m in page["results"]] == ["root", "reply"]


@pytest.mark.parametrize(
    "query", [{"limit": 0}, {"limit": 201}, {"before": -1}, {"after": "x"}, {"thread": 0}]
)
def test_bad_page_parameters_are_400(alice, query):
    channel = ChannelFactory(creator=alice)

    response = api_as(alice).get(f"/api/v1/conversations/{channel.pk}/messages/", query)

    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")


# --- edit, delete, react, read ---------------------------------------------------------------


def test_edit_answers_with_the_new_version(alice):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "draft")

    response = api_as(alice).patch(f"/api/v1/messages/{message.pk}/", {"body": "final"})

    assert response.status_code == 200
    assert response.json()["body"] == "final"
    assert response.json()["edited_at"] is not None
    assert ConversationEvent.objects.filter(type=EventType.MESSAGE_EDITED).count() == 1


def test_delete_answers_204_and_the_message_reads_as_a_tombstone(alice):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "regret")
    client = api_as(alice)

    response = client.delete(f"/api/v1/messages/{message.pk}/")
    after = client.get(f"/api/v1/messages/{message.pk}/").json()

    assert response.status_code == 204
    assert (after["deleted"], after["body"], after["html"]) == (True, "", "")


def test_editing_a_deleted_message_is_404_and_changes_nothing(alice):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "gone")
    client = api_as(alice)
    client.delete(f"/api/v1/messages/{message.pk}/")
    before = chat_state()

    response = client.patch(f"/api/v1/messages/{message.pk}/", {"body": "back"})

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert chat_state() == before


def test_reactions_are_added_and_removed_idempotently(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "lunch?")
    client = api_as(bob)
    url = f"/api/v1/messages/{message.pk}/reactions/"

    added = [client.post(url, {"emoji": "🍕"}, format="json") for _ in range(2)]
    events_after_add = ConversationEvent.objects.filter(type=EventType.REACTION_ADDED).count()
    removed = [client.delete(url, {"emoji": "🍕"}, format="json") for _ in range(2)]

    assert [r.status_code for r in added + removed] == [200, 200, 200, 200]
    assert added[1].json()["reactions"] == [{"emoji": "🍕", "users": [bob.pk]}]
    assert removed[1].json()["reactions"] == []
    assert events_after_add == 1
    assert ConversationEvent.objects.filter(type=EventType.REACTION_REMOVED).count() == 1


@override_settings(EIM_EDIT_RATE="2/86400", EIM_REACTION_RATE="1/86400")
def test_edits_and_reactions_over_their_rates_are_429_and_change_nothing(alice):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "draft")
    client = api_as(alice)
    url = f"/api/v1/messages/{message.pk}/"
    edits = [client.patch(url, {"body": f"v{n}"}).status_code for n in range(2)]
    reacted = client.post(f"{url}reactions/", {"emoji": "👍"}, format="json").status_code
    before = chat_state()

    edit = client.patch(url, {"body": "v3"})
    reaction = client.delete(f"{url}reactions/", {"emoji": "👍"}, format="json")

    assert (edits, reacted) == ([200, 200], 200)
    assert [edit.status_code, reaction.status_code] == [429, 429]
    assert [edit.json()["code"], reaction.json()["code"]] == ["rate_limited"] * 2
    assert 1 <= int(edit["Retry-After"]) <= 86400
    assert chat_state() == before


def test_the_read_mark_moves_forward_only(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    send(alice, channel, "one")
    latest = send(alice, channel, "two")
    client = api_as(bob)
    url = f"/api/v1/conversations/{channel.pk}/read/"

    forward = client.post(url, {"seq": latest.seq}, format="json").json()
    backward = client.post(url, {"seq": 1}, format="json").json()
    beyond = client.post(url, {"seq": 10**6}, format="json").json()

    assert forward == {"conversation": channel.pk, "last_read_seq": latest.seq}
    assert backward["last_read_seq"] == latest.seq
    assert beyond["last_read_seq"] == latest.seq


def test_the_conversation_list_shows_unread_counts(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    root = send(alice, channel, "one")
    send(alice, channel, "reply", parent_id=root.pk)
    send(bob, channel, "mine")
    send(alice, channel, "two")

    listing = api_as(bob).get("/api/v1/conversations/").json()

    assert [(c["id"], c["unread"]) for c in listing] == [(channel.pk, 2)]
