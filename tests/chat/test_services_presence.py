"""Presence and typing: ephemeral, derived from each user's open sockets, never archived."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import PresenceStatus
from eim.chat.services import presence as presence_service
from eim.chat.services.presence import (
    presence_of_users,
    presence_session_set,
    typing_notify,
    user_presence,
)
from tests.factories import ChannelFactory, chat_state

pytestmark = pytest.mark.django_db


def test_a_user_without_sockets_is_offline(alice):
    assert user_presence(user_id=alice.pk) == PresenceStatus.OFFLINE


def test_one_online_socket_makes_the_user_online(alice):
    presence_session_set(user=alice, channel_name="laptop", status="away")

    status = presence_session_set(user=alice, channel_name="phone", status="online")

    assert status == PresenceStatus.ONLINE
    assert user_presence(user_id=alice.pk) == PresenceStatus.ONLINE


def test_only_away_sockets_make_the_user_away(alice):
    presence_session_set(user=alice, channel_name="laptop", status="online")

    status = presence_session_set(user=alice, channel_name="laptop", status="away")

    assert status == PresenceStatus.AWAY


def test_closing_the_last_socket_makes_the_user_offline(alice):
    presence_session_set(user=alice, channel_name="laptop", status="online")

    status = presence_session_set(user=alice, channel_name="laptop", status="offline")

    assert status == PresenceStatus.OFFLINE


def test_presence_of_many_users_at_once(alice, bob, carol):
    presence_session_set(user=alice, channel_name="a1", status="away")
    presence_session_set(user=alice, channel_name="a2", status="online")
    presence_session_set(user=bob, channel_name="b1", status="away")

    statuses = presence_of_users(user_ids=[alice.pk, bob.pk, carol.pk])

    assert statuses == {alice.pk: "online", bob.pk: "away", carol.pk: "offline"}


@pytest.mark.parametrize("status", ["busy", "", None, 1], ids=repr)
def test_an_unknown_status_is_refused(alice, status):
    with pytest.raises(ChatError) as refused:
        presence_session_set(user=alice, channel_name="laptop", status=status)

    assert refused.value.code == ErrorCode.INVALID_INPUT
    assert user_presence(user_id=alice.pk) == PresenceStatus.OFFLINE


@pytest.mark.parametrize(
    ("private", "code"),
    [(True, ErrorCode.NOT_FOUND), (False, ErrorCode.NOT_A_MEMBER)],
    ids=["private", "public"],
)
def test_a_non_member_cannot_type_into_a_conversation(alice, carol, private, code):
    channel = ChannelFactory(creator=alice, private=private)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        typing_notify(user=carol, conversation_id=channel.pk)

    assert refused.value.code == code
    assert chat_state() == before


def test_typing_is_never_recorded(alice):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    typing_notify(user=alice, conversation_id=channel.pk)

    assert chat_state() == before


@pytest.mark.django_db(transaction=True)
def test_two_sockets_changing_at_once_announce_the_status_that_holds(alice, monkeypatch):
    """A tab closing while another goes idle, on two database threads: the last status
    announced must be the user's real status."""
    announced: list[str] = []
    monkeypatch.setattr(
        presence_service,
        "ephemeral_broadcast",
        lambda group, message: (
            announced.append(message["frame"]["status"]) if group == f"user.{alice.pk}" else None
        ),
    )

    def change(channel_name: str, status: str, start: threading.Barrier) -> None:
        start.wait()
        try:
            presence_session_set(user=alice, channel_name=channel_name, status=status)
        finally:
            connection.close()

    outcomes = []
    for _ in range(15):
        presence_session_set(user=alice, channel_name="laptop", status="online")
        presence_session_set(user=alice, channel_name="phone", status="online")
        announced.clear()
        start = threading.Barrier(2)
        with ThreadPoolExecutor(max_workers=2) as pool:
            closing = pool.submit(change, "laptop", "offline", start)
            idling = pool.submit(change, "phone", "away", start)
            closing.result(), idling.result()
        outcomes.append((announced[-1] if announced else None, user_presence(user_id=alice.pk)))
        presence_session_set(user=alice, channel_name="phone", status="offline")

    assert outcomes == [(PresenceStatus.AWAY, PresenceStatus.AWAY)] * 15


@pytest.mark.django_db(transaction=True)
def test_typing_in_a_thread_names_the_thread(alice, bob, monkeypatch):
    channel = ChannelFactory(creator=alice, members=[bob])
    sent = []
    monkeypatch.setattr(presence_service, "ephemeral_broadcast", lambda g, m: sent.append(m))

    typing_notify(user=alice, conversation_id=channel.pk, thread=42)
    typing_notify(user=alice, conversation_id=channel.pk)

    assert [m["frame"]["thread"] for m in sent] == [42, None]
    assert [m["frame"]["conversation"] for m in sent] == [channel.pk, channel.pk]


def test_typing_with_a_thread_that_is_not_an_id_is_refused(alice):
    channel = ChannelFactory(creator=alice)

    with pytest.raises(ChatError) as refused:
        typing_notify(user=alice, conversation_id=channel.pk, thread="7")

    assert refused.value.code == ErrorCode.INVALID_INPUT


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_arrivals_announces_what_one_socket_at_a_time_would(
    alice, bob, carol, monkeypatch
):
    """A restart's handshakes record their presence in batches: two sockets of one person in
    a batch announce "online" once, and a person still online by another socket not at all."""
    announced: list[tuple[str, str]] = []
    monkeypatch.setattr(
        presence_service,
        "ephemeral_broadcast",
        lambda group, message: announced.append((group, message["frame"]["status"])),
    )
    presence_session_set(user=bob, channel_name="bob-laptop", status="online")
    announced.clear()

    presence_service.presence_sessions_online(
        sessions=[(alice, "alice-laptop"), (bob, "bob-phone"), (alice, "alice-phone"), (carol, "c")]
    )

    assert sorted(announced) == sorted(
        [(f"user.{alice.pk}", "online"), (f"user.{carol.pk}", "online")]
    )
    assert presence_of_users(user_ids=[alice.pk, bob.pk, carol.pk]) == {
        alice.pk: "online",
        bob.pk: "online",
        carol.pk: "online",
    }
    assert set(alice.presence_sessions.values_list("channel_name", flat=True)) == {
        "alice-laptop",
        "alice-phone",
    }


@pytest.mark.django_db(transaction=True)
def test_batches_of_arrivals_with_the_same_people_in_any_order_never_deadlock(alice, bob, carol):
    """Each batch locks its people in id order, so two batches naming them in opposite orders
    (and a single socket beside them) wait for each other instead of deadlocking."""

    def arrive(sessions: list, start: threading.Barrier) -> None:
        start.wait()
        try:
            presence_service.presence_sessions_online(sessions=sessions)
        finally:
            connection.close()

    for round_ in range(10):
        start = threading.Barrier(3)
        forward = [(alice, f"a{round_}"), (bob, f"b{round_}"), (carol, f"c{round_}")]
        backward = [(carol, f"C{round_}"), (bob, f"B{round_}"), (alice, f"A{round_}")]
        with ThreadPoolExecutor(max_workers=3) as pool:
            calls = [
                pool.submit(arrive, forward, start),
                pool.submit(arrive, backward, start),
                pool.submit(arrive, [(bob, f"single{round_}")], start),
            ]
            for call in calls:
                call.result(timeout=30)

    assert bob.presence_sessions.count() == 30
