"""A block over the socket: an error frame naming the policy; nothing delivered to anyone."""

import uuid

import pytest
from channels.db import database_sync_to_async

from eim.chat.models import ConversationEvent, Message
from tests.chat.test_socket_frames import _next_of, _open_as
from tests.factories import ChannelFactory

from .conftest import make_policy

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_blocked_send_gets_an_error_frame_and_nothing_reaches_the_members(
    alice, bob, officer
):
    await database_sync_to_async(make_policy)(
        officer, "No promises", terms=["guarantee"], actions=["block"]
    )
    channel = await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    sender, reader = await _open_as(alice), await _open_as(bob)
    client_id = str(uuid.uuid4())

    await sender.send_json_to(
        {
            "type": "message.send",
            "conversation": channel.pk,
            "body": "I guarantee it",
            "client_id": client_id,
        }
    )
    error = await _next_of(sender, "error")
    await sender.send_json_to(
        {
            "type": "message.send",
            "conversation": channel.pk,
            "body": "ok",
            "client_id": str(uuid.uuid4()),
        }
    )
    delivered = await _next_of(reader, "message.new")

    assert error["code"] == "message_blocked"
    assert error["client_id"] == client_id
    assert error["findings"][0]["policy"] == "No promises"
    assert error["findings"][0]["spans"][0]["text"] == "guarantee"
    assert delivered["message"]["body"] == "ok"  # the next message, and not the blocked one
    assert await database_sync_to_async(
        lambda: list(Message.objects.values_list("body", flat=True))
    )() == ["ok"]
    assert (
        await database_sync_to_async(
            ConversationEvent.objects.filter(type="message.blocked", audience=[]).count
        )()
        == 1
    )
    await sender.disconnect()
    await reader.disconnect()


async def test_a_warned_send_is_confirmed_over_the_socket(alice, officer):
    version = await database_sync_to_async(make_policy)(
        officer, terms=["guarantee"], actions=["warn"]
    )
    channel = await database_sync_to_async(ChannelFactory)(creator=alice)
    socket = await _open_as(alice)
    frame = {"type": "message.send", "conversation": channel.pk, "body": "I guarantee it"}

    await socket.send_json_to({**frame, "client_id": str(uuid.uuid4())})
    warned = await _next_of(socket, "error")
    await socket.send_json_to(
        {
            **frame,
            "client_id": str(uuid.uuid4()),
            "confirm_warnings": [warned["findings"][0]["token"]],
        }
    )
    ack = await _next_of(socket, "message.ack")

    assert warned["code"] == "warning_unconfirmed"
    assert warned["findings"][0]["token"] == f"policy-version-{version.pk}"
    assert ack["message"]["body"] == "I guarantee it"
    await socket.disconnect()
