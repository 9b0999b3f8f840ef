"""The barrier matrix over a real socket (Daphne, channels-redis): the socket obeys the same
services, so what the REST API refuses the socket refuses, with the same code."""

import asyncio
import uuid

import pytest

from tests.chat.socket_client import ChatSocket
from tests.factories import ChannelFactory, direct_conversation, send

from .conftest import POLICY, barrier_in_force

pytestmark = pytest.mark.django_db(transaction=True)


async def _frames_within(socket: ChatSocket, seconds: float) -> list[dict]:
    frames = []
    try:
        while True:
            frames.append(await socket.recv(seconds))
    except TimeoutError:
        return frames


async def _answer(socket: ChatSocket, frame: dict) -> dict:
    await socket.send(frame)
    while True:
        reply = await socket.recv()
        if reply["type"] in ("error", "ok", "message.ack"):
            return reply


def test_the_socket_refuses_what_crosses_the_barrier_and_carries_what_does_not(
    daphne_server, people, token_for
):
    dm = direct_conversation(people.rita, people.tom)
    toms = send(people.tom, dm, "before the wall")
    lab = ChannelFactory(creator=people.rita, members=[people.ruth], name="lab")
    ruths = send(people.ruth, lab, "findings")
    desk = ChannelFactory(creator=people.nina, members=[people.rita], name="desk")
    barrier_in_force(people.admin, people.research, people.trading)
    token = token_for(people.rita)

    def message(conversation, body):  # type: ignore[no-untyped-def]
        return {
            "type": "message.send",
            "conversation": conversation.pk,
            "body": body,
            "client_id": str(uuid.uuid4()),
        }

    async def scenario() -> dict[str, dict]:
        socket = await ChatSocket.open(daphne_server.ws_url, token)
        replies = {
            "send across": await _answer(socket, message(dm, "hi")),
            "send not across": await _answer(socket, message(lab, "hi")),
            "mention across": await _answer(socket, message(desk, "ask @tom")),
            "mention not across": await _answer(socket, message(desk, "ask @nina")),
            "react across": await _answer(
                socket, {"type": "reaction.add", "message": toms.pk, "emoji": "x", "ref": 1}
            ),
            "react not across": await _answer(
                socket, {"type": "reaction.add", "message": ruths.pk, "emoji": "x", "ref": 2}
            ),
        }
        await socket.send({"type": "typing", "conversation": dm.pk})
        # Typing answers only with an error; frames of the earlier actions may come first.
        replies["typing across"] = next(
            (f for f in await _frames_within(socket, 1.0) if f["type"] == "error"), {"type": "none"}
        )
        await socket.close()
        return replies

    replies = asyncio.run(scenario())

    for refused in ("send across", "mention across", "react across", "typing across"):
        assert replies[refused]["type"] == "error", refused
        assert replies[refused]["code"] == "information_barrier", refused
        assert POLICY in replies[refused]["detail"]
    assert replies["send not across"]["type"] == "message.ack"
    assert replies["mention not across"]["type"] == "message.ack"
    assert replies["react not across"] == {"type": "ok", "ref": 2}


def test_presence_does_not_cross_a_barrier_through_a_read_only_conversation(
    daphne_server, people, token_for
):
    direct_conversation(people.rita, people.tom)
    ChannelFactory(creator=people.nina, members=[people.rita], name="desk")
    barrier_in_force(people.admin, people.research, people.trading)
    rita, tom, nina = token_for(people.rita), token_for(people.tom), token_for(people.nina)

    async def scenario() -> tuple[list[dict], list[dict]]:
        tom_socket = await ChatSocket.open(daphne_server.ws_url, tom)
        nina_socket = await ChatSocket.open(daphne_server.ws_url, nina)
        rita_socket = await ChatSocket.open(daphne_server.ws_url, rita)
        tom_frames = await _frames_within(tom_socket, 1.0)
        nina_frames = await _frames_within(nina_socket, 0.2)
        await rita_socket.send({"type": "presence.set", "status": "away"})
        tom_frames += await _frames_within(tom_socket, 1.0)
        nina_frames += await _frames_within(nina_socket, 0.2)
        for socket in (tom_socket, nina_socket, rita_socket):
            await socket.close()
        return tom_frames, nina_frames

    tom_frames, nina_frames = asyncio.run(scenario())

    def rita_presence(frames):  # type: ignore[no-untyped-def]
        return [
            f["status"] for f in frames if f["type"] == "presence" and f["user"] == people.rita.pk
        ]

    assert rita_presence(tom_frames) == []
    assert rita_presence(nina_frames) == ["online", "away"]
