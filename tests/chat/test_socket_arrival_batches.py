"""Arrivals and catch-ups batched across sockets (eim/chat/arrivals.py, catch_up.py),
in-process on channels-redis.

Sockets that arrive (or sync) together share one database call: their credentials are still checked
one by one (a refused one gets no socket and writes nothing), and a batch's failure reaches
its own sockets, never silently, and never the sockets of another.
"""

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import ApiTokenActivity
from accounts.services.tokens import api_token_create
from eim.asgi import application
from eim.chat import arrivals, catch_up, selectors
from eim.chat.models import Conversation, PresenceSession
from eim.chat.services import presence
from eim.chat.services.messages import message_send
from tests.factories import ChannelFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


async def _open(token: str) -> tuple[WebsocketCommunicator, bool, int]:
    communicator = WebsocketCommunicator(application, "/ws/", headers=_bearer(token))
    connected, code = await communicator.connect(timeout=30)
    return communicator, connected, code


def _people_with_tokens(count: int) -> list[tuple[object, str]]:
    people = [UserFactory() for _ in range(count)]
    ChannelFactory(creator=people[0], members=people[1:])
    return [(person, api_token_create(user=person)) for person in people]


def _messages_sent(author, count: int) -> None:  # type: ignore[no-untyped-def]
    conversation = Conversation.objects.get(memberships__user=author)
    for i in range(count):
        client_id = str(uuid.uuid4())
        message_send(
            author=author, conversation_id=conversation.pk, body=f"m{i}", client_id=client_id
        )


def _batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = arrivals.arrivals_record

    def recording(arriving):  # type: ignore[no-untyped-def]
        sizes.append(len(arriving))
        return real(arriving)

    monkeypatch.setattr(arrivals, "arrivals_record", recording)
    return sizes


async def _close_all(opened) -> None:  # type: ignore[no-untyped-def]
    for communicator, connected, _code in opened:
        if connected:
            await communicator.disconnect()


@override_settings(EIM_HANDSHAKES_IN_FLIGHT=50)
async def test_sockets_arriving_together_share_a_batch_and_only_the_revoked_token_is_refused(
    monkeypatch,
):
    people = await database_sync_to_async(_people_with_tokens)(6)
    revoked_person = people[3][0]
    await database_sync_to_async(lambda: revoked_person.auth_token_set.all().delete())()
    sizes = _batch_sizes(monkeypatch)

    opened = await asyncio.gather(*(_open(token) for _person, token in people))

    assert [connected for _c, connected, _code in opened] == [True, True, True, False, True, True]
    assert opened[3][2] == 4401
    assert max(sizes) > 1  # the arrivals did go together
    for index, (communicator, _connected, _code) in enumerate(opened):
        if index != 3:
            hello = await communicator.receive_json_from(timeout=10)
            assert hello["user"]["id"] == people[index][0].pk
            assert len(hello["cursors"]) == 1
    rows = await database_sync_to_async(
        lambda: (
            PresenceSession.objects.filter(user=revoked_person).count(),
            ApiTokenActivity.objects.filter(token__user=revoked_person).count(),
            PresenceSession.objects.count(),
        )
    )()
    assert rows == (0, 0, 5)
    await _close_all(opened)


@override_settings(EIM_HANDSHAKES_IN_FLIGHT=50)
async def test_each_new_socket_of_a_batch_hears_its_own_online_once(monkeypatch):
    people = await database_sync_to_async(_people_with_tokens)(4)
    sizes = _batch_sizes(monkeypatch)

    opened = await asyncio.gather(*(_open(token) for _person, token in people))
    for communicator, _connected, _code in opened:
        await communicator.receive_json_from(timeout=10)  # hello
        await communicator.send_json_to({"type": "sync"})

    assert max(sizes) > 1
    for index, (communicator, _connected, _code) in enumerate(opened):
        frames = []
        while not await communicator.receive_nothing(timeout=0.5):
            frames.append(await communicator.receive_json_from(timeout=5))
        own = [
            frame
            for frame in frames
            if frame["type"] == "presence" and frame["user"] == people[index][0].pk
        ]
        assert [frame["status"] for frame in own] == ["online"]
    await _close_all(opened)


@override_settings(EIM_HANDSHAKES_IN_FLIGHT=50)
async def test_when_a_batchs_shared_statements_fail_each_socket_arrives_alone(monkeypatch):
    people = await database_sync_to_async(_people_with_tokens)(4)
    sizes = _batch_sizes(monkeypatch)

    def failing(*, sessions):  # type: ignore[no-untyped-def]
        raise RuntimeError("the batch's presence write failed")

    monkeypatch.setattr(presence, "presence_sessions_online", failing)

    opened = await asyncio.gather(*(_open(token) for _person, token in people))

    assert [connected for _c, connected, _code in opened] == [True] * 4
    assert max(sizes) > 1
    assert await database_sync_to_async(PresenceSession.objects.count)() == 4
    await _close_all(opened)


@override_settings(EIM_HANDSHAKES_IN_FLIGHT=50)
async def test_a_socket_whose_own_arrival_fails_gets_the_error_and_only_it(monkeypatch):
    """Batch fails, then one socket's arrival alone fails too: that socket is never accepted
    (its failure is raised, not swallowed), the others are."""
    people = await database_sync_to_async(_people_with_tokens)(4)
    broken = people[2][0]

    def failing(*, sessions):  # type: ignore[no-untyped-def]
        raise RuntimeError("the batch's presence write failed")

    real_alone = arrivals._arrival_alone

    def alone(authenticated, channel_name):  # type: ignore[no-untyped-def]
        if authenticated.user.pk == broken.pk:
            raise RuntimeError("this socket's presence write failed")
        return real_alone(authenticated, channel_name)

    monkeypatch.setattr(presence, "presence_sessions_online", failing)
    monkeypatch.setattr(arrivals, "_arrival_alone", alone)

    opened = await asyncio.gather(
        *(_open(token) for _person, token in people), return_exceptions=True
    )

    assert isinstance(opened[2], RuntimeError)
    assert [o[1] for i, o in enumerate(opened) if i != 2] == [True] * 3  # type: ignore[index]
    assert await database_sync_to_async(PresenceSession.objects.count)() == 3
    await _close_all([o for i, o in enumerate(opened) if i != 2])


@override_settings(EIM_HANDSHAKES_IN_FLIGHT=50)
async def test_when_a_batchs_database_call_fails_every_socket_of_it_is_refused(monkeypatch):
    people = await database_sync_to_async(_people_with_tokens)(3)

    def failing(arriving):  # type: ignore[no-untyped-def]
        raise RuntimeError("no database")

    monkeypatch.setattr(arrivals, "arrivals_record", failing)

    opened = await asyncio.gather(
        *(_open(token) for _person, token in people), return_exceptions=True
    )

    assert all(isinstance(outcome, RuntimeError) for outcome in opened)
    assert await database_sync_to_async(PresenceSession.objects.count)() == 0


def _expire_token_of(person) -> None:  # type: ignore[no-untyped-def]
    # Expired, not deleted: no signal tells the socket, only its own re-check at `sync` can.
    AuthToken.objects.filter(user=person).update(expiry=timezone.now() - timedelta(seconds=1))


def _catch_up_batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = catch_up.catch_up_reads

    def recording(asks):  # type: ignore[no-untyped-def]
        sizes.append(len(asks))
        return real(asks)

    monkeypatch.setattr(catch_up, "catch_up_reads", recording)
    return sizes


async def _sync_all(opened) -> list[list[dict]]:  # type: ignore[no-untyped-def]
    for communicator, _connected, _code in opened:
        await communicator.receive_json_from(timeout=10)  # hello
    await asyncio.gather(
        *(communicator.send_json_to({"type": "sync"}) for communicator, _c, _code in opened)
    )
    received = []
    for communicator, _connected, _code in opened:
        frames = []
        while not await communicator.receive_nothing(timeout=1):
            frames.append(await communicator.receive_output(timeout=5))
        received.append(frames)
    return received


@override_settings(EIM_HANDSHAKES_IN_FLIGHT=50)
async def test_sockets_syncing_together_share_a_catch_up_and_only_the_ended_token_gets_none(
    monkeypatch,
):
    people = await database_sync_to_async(_people_with_tokens)(5)
    opened = await asyncio.gather(*(_open(token) for _person, token in people))
    author = people[0][0]
    await database_sync_to_async(_messages_sent)(author, 3)
    await database_sync_to_async(_expire_token_of)(people[2][0])
    sizes = _catch_up_batch_sizes(monkeypatch)

    received = await _sync_all(opened)

    assert max(sizes) > 1
    for index, frames in enumerate(received):
        texts = [json.loads(f["text"]) for f in frames if f["type"] == "websocket.send"]
        bodies = [t["message"]["body"] for t in texts if t["type"] == "message.new"]
        if index == 2:
            assert bodies == []
            assert not any(t["type"] == "sync.done" for t in texts)
            assert {"type": "websocket.close", "code": 4401} in frames
        else:
            assert bodies == ["m0", "m1", "m2"]
            assert texts[-1]["type"] == "sync.done"
    await _close_all([o for i, o in enumerate(opened) if i != 2])


@override_settings(EIM_HANDSHAKES_IN_FLIGHT=50)
async def test_when_a_catch_up_batchs_shared_queries_fail_each_socket_reads_alone(monkeypatch):
    people = await database_sync_to_async(_people_with_tokens)(3)
    opened = await asyncio.gather(*(_open(token) for _person, token in people))
    await database_sync_to_async(_messages_sent)(people[0][0], 2)
    sizes = _catch_up_batch_sizes(monkeypatch)

    def failing(*, ranges):  # type: ignore[no-untyped-def]
        raise RuntimeError("the batch's page query failed")

    monkeypatch.setattr(selectors, "events_in_range_set", failing)

    received = await _sync_all(opened)

    assert max(sizes) > 1
    for frames in received:
        texts = [json.loads(f["text"]) for f in frames if f["type"] == "websocket.send"]
        assert [t["message"]["body"] for t in texts if t["type"] == "message.new"] == ["m0", "m1"]
    await _close_all(opened)
