"""Channel history visibility: what a member who joins later may read, through every read.

A channel either shows its history to people who join later (the default) or not. Each
membership fixes, at its join, the first seq its member may read; the REST history, a single
message, files, reactions and the socket's replay all keep to it.
"""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from eim.asgi import application
from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import ConversationEvent, EventType, Membership
from eim.chat.selectors import message_for_user, messages_page
from eim.chat.services.conversations import (
    conversation_update,
    membership_invite,
    membership_join,
)
from eim.chat.services.messages import message_edit, reaction_add
from tests.conftest import api_as
from tests.factories import ChannelFactory, chat_state, send, staged_attachment


def _bodies(page: dict) -> list[str]:
    return [m["body"] for m in page["results"]]


@pytest.mark.django_db
def test_a_later_joiner_of_a_channel_with_visible_history_reads_what_came_before(alice, bob):
    channel = ChannelFactory(creator=alice)
    earlier = send(alice, channel, "said before bob came")

    membership = membership_join(user=bob, conversation_id=channel.pk)

    assert membership.history_from_seq == 1
    assert _bodies(messages_page(user=bob, conversation_id=channel.pk)) == ["said before bob came"]
    assert message_for_user(user=bob, message_id=earlier.pk)["body"] == "said before bob came"


@pytest.mark.django_db
def test_the_join_event_records_where_the_joiners_history_starts(alice, bob, carol):
    shown = ChannelFactory(creator=alice, name="shown")
    hidden = ChannelFactory(creator=alice, name="hidden", history_visible=False)

    membership_join(user=bob, conversation_id=shown.pk)
    carols = membership_join(user=carol, conversation_id=hidden.pk)

    joins = ConversationEvent.objects.filter(type=EventType.MEMBER_JOINED).order_by("pk")
    payloads = {e.payload["user"]["username"]: e.payload["history_from_seq"] for e in joins}
    assert payloads["bob"] == 1
    assert payloads["carol"] == carols.joined_seq == carols.history_from_seq
    assert carols.joined_seq > 1


@pytest.mark.django_db
def test_with_history_hidden_a_later_joiner_reads_only_what_comes_after_the_join(alice, bob):
    channel = ChannelFactory(creator=alice, history_visible=False)
    earlier = send(alice, channel, "before bob")
    membership_join(user=bob, conversation_id=channel.pk)
    send(alice, channel, "after bob")

    page = messages_page(user=bob, conversation_id=channel.pk)
    with pytest.raises(ChatError) as refused:
        message_for_user(user=bob, message_id=earlier.pk)

    assert _bodies(page) == ["after bob"]
    assert refused.value.code == ErrorCode.NOT_FOUND
    assert _bodies(messages_page(user=alice, conversation_id=channel.pk)) == [
        "before bob",
        "after bob",
    ]


@pytest.mark.django_db
def test_with_history_hidden_the_rest_api_gives_a_later_joiner_nothing_from_before(alice, bob):
    channel = ChannelFactory(creator=alice, history_visible=False)
    earlier = send(alice, channel, "before bob")
    membership_join(user=bob, conversation_id=channel.pk)
    client = api_as(bob)

    page = client.get(f"/api/v1/conversations/{channel.pk}/messages/")
    single = client.get(f"/api/v1/messages/{earlier.pk}/")

    assert page.status_code == 200
    assert page.json()["results"] == []
    assert single.status_code == 404


@pytest.mark.django_db
def test_with_history_hidden_a_later_joiner_cannot_react_to_an_earlier_message(alice, bob):
    channel = ChannelFactory(creator=alice, history_visible=False)
    earlier = send(alice, channel, "before bob")
    membership_join(user=bob, conversation_id=channel.pk)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        reaction_add(user=bob, message_id=earlier.pk, emoji="eyes")

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


@pytest.mark.django_db
def test_with_history_hidden_a_later_joiner_cannot_download_an_earlier_file(alice, bob):
    channel = ChannelFactory(creator=alice, history_visible=False)
    upload = staged_attachment(alice, channel)
    send(alice, channel, "the file", attachment_ids=[upload.pk])
    membership_join(user=bob, conversation_id=channel.pk)

    response = api_as(bob).get(f"/api/v1/attachments/{upload.pk}/download/")

    assert response.status_code == 404
    assert api_as(alice).get(f"/api/v1/attachments/{upload.pk}/download/").status_code == 200


@pytest.mark.django_db
def test_with_history_hidden_an_edit_of_an_earlier_message_is_not_sent_to_a_later_joiner(
    alice, bob
):
    channel = ChannelFactory(creator=alice, history_visible=False)
    earlier = send(alice, channel, "before bob")
    membership_join(user=bob, conversation_id=channel.pk)

    message_edit(user=alice, message_id=earlier.pk, body="the new text")

    edit = ConversationEvent.objects.get(type=EventType.MESSAGE_EDITED)
    assert edit.audience == [alice.pk]


@pytest.mark.django_db
def test_changing_the_setting_changes_only_later_joins(alice, bob, carol):
    channel = ChannelFactory(creator=alice, history_visible=False)
    send(alice, channel, "before anyone")
    membership_invite(actor=alice, conversation_id=channel.pk, user_ids=[bob.pk])

    conversation_update(actor=alice, conversation_id=channel.pk, history_visible=True)
    membership_join(user=carol, conversation_id=channel.pk)

    assert _bodies(messages_page(user=bob, conversation_id=channel.pk)) == []
    assert _bodies(messages_page(user=carol, conversation_id=channel.pk)) == ["before anyone"]
    update = ConversationEvent.objects.get(type=EventType.CONVERSATION_UPDATED)
    assert update.payload["changes"] == ["history_visible"]
    assert update.payload["details"]["history_visible"] is True


@pytest.mark.django_db
def test_only_an_owner_changes_the_setting_and_a_refusal_changes_nothing(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        conversation_update(actor=bob, conversation_id=channel.pk, history_visible=False)

    assert refused.value.code == ErrorCode.FORBIDDEN
    assert chat_state() == before


@pytest.mark.django_db
def test_channels_are_created_with_the_setting_through_the_api(alice):
    response = api_as(alice).post(
        "/api/v1/conversations/",
        {"name": "need-to-know", "history_visible": False},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["history_visible"] is False
    membership = Membership.objects.get(conversation_id=response.json()["id"], user=alice)
    assert membership.history_from_seq == membership.joined_seq


# --- the socket's replay --------------------------------------------------------------------


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _replay_from_the_start(user, conversation_id: int) -> list[dict]:
    """Open a socket as `user` and ask for the conversation's events from seq 0."""
    cookie = await database_sync_to_async(_session_cookie)(user)
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from(timeout=5)  # hello
    await communicator.send_json_to({"type": "sync", "cursors": {str(conversation_id): 0}})
    frames = []
    while (frame := await communicator.receive_json_from(timeout=5))["type"] != "sync.done":
        frames.append(frame)
    await communicator.disconnect()
    return frames


@pytest.mark.django_db(transaction=True)
async def test_with_history_hidden_a_socket_replay_gives_a_later_joiner_nothing_from_before(
    alice, bob
):
    def given() -> int:
        channel = ChannelFactory(creator=alice, history_visible=False)
        earlier = send(alice, channel, "before bob")
        membership_join(user=bob, conversation_id=channel.pk)
        message_edit(user=alice, message_id=earlier.pk, body="edited after bob came")
        send(alice, channel, "after bob")
        return channel.pk

    channel_id = await database_sync_to_async(given)()

    frames = await _replay_from_the_start(bob, channel_id)

    messages = [f for f in frames if f["type"].startswith("message.")]
    assert [(f["type"], f["message"]["body"]) for f in messages] == [("message.new", "after bob")]


@pytest.mark.django_db
def test_with_history_hidden_a_later_joiner_cannot_reply_in_an_earlier_thread(alice, bob):
    channel = ChannelFactory(creator=alice, history_visible=False)
    earlier = send(alice, channel, "before bob")
    membership_join(user=bob, conversation_id=channel.pk)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        send(bob, channel, "a reply", parent_id=earlier.pk)

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before
