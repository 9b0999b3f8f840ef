"""The shape of every event frame, checked in one place (as Zulip checks its events).

Each EventType has a schema here and a producer that makes the event through the services.
Adding an event type without a schema, or changing a payload, fails this module.
"""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from accounts.models import User
from eim.chat.errors import ChatError
from eim.chat.models import ConversationEvent, EventType, Message
from eim.chat.services import send_checks
from eim.chat.services.administration import conversation_visibility_set
from eim.chat.services.conversations import (
    conversation_create_channel,
    conversation_update,
    membership_join,
    membership_leave,
)
from eim.chat.services.events import event_frame
from eim.chat.services.messages import (
    message_delete,
    message_edit,
    reaction_add,
    reaction_remove,
)
from eim.chat.services.notices import notice_frame, user_notice_create
from eim.chat.services.send_checks import SendAttempt, SendFinding
from tests.factories import ChannelFactory, send, staged_attachment

pytestmark = pytest.mark.django_db

# --- a small schema language -----------------------------------------------------------------


class Nullable:
    def __init__(self, schema: Any) -> None:
        self.schema = schema


class ListOf:
    def __init__(self, schema: Any) -> None:
        self.schema = schema


class OneOf:
    def __init__(self, *values: Any) -> None:
        self.values = values


class IsoTime:
    pass


class Uuid:
    pass


def problems(schema: Any, value: Any, path: str = "frame") -> list[str]:
    """Every way `value` differs from `schema`; an empty list when it conforms."""
    if isinstance(schema, Nullable):
        return [] if value is None else problems(schema.schema, value, path)
    if isinstance(schema, ListOf):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        return [
            p for i, item in enumerate(value) for p in problems(schema.schema, item, f"{path}[{i}]")
        ]
    if isinstance(schema, OneOf):
        return [] if value in schema.values else [f"{path}: {value!r} not in {schema.values}"]
    if isinstance(schema, IsoTime):
        return _parses(datetime.fromisoformat, value, path)
    if isinstance(schema, Uuid):
        return _parses(uuid.UUID, value, path)
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {value!r}"]
        if set(value) != set(schema):
            return [f"{path}: keys {sorted(value)} != {sorted(schema)}"]
        return [
            p for key, sub in schema.items() for p in problems(sub, value[key], f"{path}.{key}")
        ]
    # bool is an int in Python; a schema's int never accepts a bool.
    if type(value) is not schema:
        return [f"{path}: expected {schema.__name__}, got {value!r}"]
    return []


def _parses(parse: Callable[[str], Any], value: Any, path: str) -> list[str]:
    try:
        parse(value)
    except (TypeError, ValueError):
        return [f"{path}: {value!r} does not parse"]
    return []


# --- the schemas -----------------------------------------------------------------------------

USER = {"id": int, "username": str, "name": str}
ATTACHMENT = {
    "id": int,
    "filename": str,
    "content_type": str,
    "size": int,
    "sha256": str,
    "url": str,
}
MESSAGE = {
    "id": int,
    "conversation": int,
    "seq": int,
    "author": USER,
    "parent": Nullable(int),
    "client_id": Uuid(),
    "body": str,
    "html": str,
    "created_at": IsoTime(),
    "edited_at": Nullable(IsoTime()),
    "deleted": bool,
    "mentions": ListOf(int),
    "attachments": ListOf(ATTACHMENT),
    "reactions": ListOf({"emoji": str, "users": ListOf(int)}),
    "reply_count": int,
}
CONVERSATION = {
    "id": int,
    "kind": OneOf("public", "private", "direct", "group"),
    "name": str,
    "topic": str,
    "purpose": str,
    "created_at": IsoTime(),
    "archived": bool,
    "history_visible": bool,
    "barrier_read_only": bool,
    "last_seq": int,
    "member": bool,
    "role": Nullable(OneOf("owner", "member")),
    "last_read_seq": Nullable(int),
    "unread": int,
}
ENVELOPE = {
    "type": str,
    "conversation": int,
    "seq": int,
    "event_id": Uuid(),
    "occurred_at": IsoTime(),
    "actor": Nullable(int),
}
REACTION = {"message_id": int, "emoji": str, "user": USER}

SCHEMAS: dict[str, dict[str, Any]] = {
    EventType.CONVERSATION_CREATED: ENVELOPE | {"details": CONVERSATION},
    EventType.CONVERSATION_UPDATED: ENVELOPE
    | {
        "details": CONVERSATION,
        "changes": ListOf(
            OneOf(
                "name",
                "topic",
                "purpose",
                "visibility",
                "archived",
                "history_visible",
                "read_only",
            )
        ),
    },
    EventType.MEMBER_JOINED: ENVELOPE
    | {"user": USER, "role": OneOf("owner", "member"), "history_from_seq": int},
    EventType.MEMBER_LEFT: ENVELOPE | {"user": USER, "reason": OneOf("left", "removed")},
    EventType.MESSAGE_NEW: ENVELOPE | {"message": MESSAGE},
    EventType.MESSAGE_EDITED: ENVELOPE | {"message": MESSAGE},
    EventType.MESSAGE_DELETED: ENVELOPE | {"message": MESSAGE},
    EventType.REACTION_ADDED: ENVELOPE | REACTION,
    EventType.REACTION_REMOVED: ENVELOPE | REACTION,
    EventType.ATTACHMENT_ADDED: ENVELOPE | {"message_id": int, "attachment": ATTACHMENT},
    EventType.MESSAGE_BLOCKED: ENVELOPE
    | {
        "attempt": {
            "body": str,
            "edit_of": Nullable(int),
            "client_id": Nullable(Uuid()),
            "parent": Nullable(int),
            "attachments": ListOf(int),
        },
        "blocked_by": ListOf(
            {
                "action": OneOf("block"),
                "policy": str,
                "version": int,
                "token": str,
                "spans": ListOf(
                    {"kind": str, "name": str, "term": str, "start": int, "end": int, "text": str}
                ),
            }
        ),
    },
}


# --- producing each event through the services -----------------------------------------------


def _rich_reply(alice: User, bob: User) -> Message:
    """Bob's reply in a thread, mentioning alice, with alice's reaction; beside a file."""
    channel = ChannelFactory(creator=alice, members=[bob])
    root = send(alice, channel, "root")
    send(alice, channel, "see attached", attachment_ids=[staged_attachment(alice, channel).pk])
    reply = send(bob, channel, "**reply** to @alice", parent_id=root.pk)
    reaction_add(user=alice, message_id=reply.pk, emoji="👍")
    return reply


def _blocked_attempt(alice: User, bob: User) -> None:
    """A send and an edit that a send check blocks (compliance registers the real one)."""

    def check(attempt: SendAttempt) -> list[SendFinding]:
        span = {"kind": "term", "name": "words", "term": "secret", "start": 0, "end": 6}
        return (
            [SendFinding("block", "Words", 2, 7, ({**span, "text": "secret"},))]
            if attempt.text.startswith("secret")
            else []
        )

    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(bob, channel, "fine")
    send_checks._send_checks.append(check)
    try:
        with pytest.raises(ChatError):
            send(bob, channel, "secret plans", parent_id=message.pk)
        with pytest.raises(ChatError):
            message_edit(user=bob, message_id=message.pk, body="secret edit")
    finally:
        send_checks._send_checks.remove(check)


PRODUCERS: dict[str, Callable[[User, User], Any]] = {
    EventType.CONVERSATION_CREATED: lambda alice, bob: conversation_create_channel(
        creator=alice, name="desk", private=True, topic="FX"
    ),
    EventType.CONVERSATION_UPDATED: lambda alice, bob: conversation_update(
        actor=alice, conversation_id=ChannelFactory(creator=alice).pk, name="renamed", topic="t"
    ),
    EventType.MEMBER_JOINED: lambda alice, bob: membership_join(
        user=bob, conversation_id=ChannelFactory(creator=alice).pk
    ),
    EventType.MEMBER_LEFT: lambda alice, bob: membership_leave(
        user=bob, conversation_id=ChannelFactory(creator=alice, members=[bob]).pk
    ),
    EventType.MESSAGE_NEW: _rich_reply,
    EventType.MESSAGE_EDITED: lambda alice, bob: message_edit(
        user=bob, message_id=_rich_reply(alice, bob).pk, body="edited @alice"
    ),
    EventType.MESSAGE_DELETED: lambda alice, bob: message_delete(
        user=bob, message_id=_rich_reply(alice, bob).pk
    ),
    EventType.REACTION_ADDED: _rich_reply,
    EventType.REACTION_REMOVED: lambda alice, bob: reaction_remove(
        user=alice, message_id=_rich_reply(alice, bob).pk, emoji="👍"
    ),
    EventType.ATTACHMENT_ADDED: _rich_reply,
    EventType.MESSAGE_BLOCKED: _blocked_attempt,
}


def test_every_event_type_has_a_schema_and_a_producer():
    assert set(SCHEMAS) == set(EventType.values)
    assert set(PRODUCERS) == set(EventType.values)


@pytest.mark.parametrize("event_type", list(EventType), ids=lambda t: t.value)
def test_every_frame_of_the_type_matches_its_schema(alice, bob, event_type):
    PRODUCERS[event_type](alice, bob)

    frames = [event_frame(e) for e in ConversationEvent.objects.filter(type=event_type)]

    assert frames
    assert [p for frame in frames for p in problems(SCHEMAS[event_type], frame)] == []
    assert {frame["type"] for frame in frames} == {event_type.value}


def test_a_frame_carries_the_event_envelope(alice):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "hello")
    event = ConversationEvent.objects.get(conversation=channel, seq=message.seq)

    frame = event_frame(event)

    assert frame["type"] == "message.new"
    assert (frame["conversation"], frame["seq"], frame["actor"]) == (
        channel.pk,
        message.seq,
        alice.pk,
    )
    assert frame["event_id"] == str(event.event_id)
    assert frame["occurred_at"] == event.occurred_at.isoformat()


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        (MESSAGE, {"id": 1}),
        (USER, {"id": True, "username": "a", "name": "A"}),
        (USER, {"id": 1, "username": "a", "name": "A", "extra": 1}),
        (Nullable(IsoTime()), "yesterday"),
        (ListOf(int), [1, "2"]),
        (OneOf("left", "removed"), "kicked"),
        (Uuid(), "not-a-uuid"),
    ],
    ids=["missing-keys", "bool-for-int", "extra-key", "bad-time", "bad-item", "bad-enum", "uuid"],
)
def test_the_schema_checker_finds_what_is_wrong(schema, value):
    assert problems(schema, value) != []


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_an_edited_or_deleted_thread_root_carries_its_reply_count(alice, bob, change):
    channel = ChannelFactory(creator=alice, members=[bob])
    root = send(alice, channel, "root")
    send(bob, channel, "one", parent_id=root.pk)
    gone = send(bob, channel, "two", parent_id=root.pk)
    send(bob, channel, "three", parent_id=root.pk)
    message_delete(user=bob, message_id=gone.pk)

    if change == "edit":
        message_edit(user=alice, message_id=root.pk, body="root, edited")
    else:
        message_delete(user=alice, message_id=root.pk)

    frame = event_frame(ConversationEvent.objects.filter(conversation=channel).latest("seq"))
    assert frame["message"]["id"] == root.pk
    assert frame["message"]["reply_count"] == 2


NOTICE = {
    "type": OneOf("notice.new"),
    "id": int,
    "kind": OneOf("policy"),
    "created_at": IsoTime(),
    "policy": str,
    "source": OneOf("message", "attachment", "blocked"),
    "conversation": int,
    "message": Nullable(int),
    "spans": ListOf(str),
}


def test_a_policy_notice_frame_matches_its_schema(alice):
    notice = user_notice_create(
        user_id=alice.pk,
        key="policy-flag:1",
        kind="policy",
        payload={
            "policy": "Promises",
            "source": "message",
            "conversation": 1,
            "message": 2,
            "spans": ["guarantee"],
        },
    )

    assert notice is not None
    assert problems(NOTICE, notice_frame(notice)) == []


def test_a_visibility_change_frame_says_from_what_to_what(alice):
    channel = ChannelFactory(creator=alice)

    conversation_visibility_set(actor=alice, conversation_id=channel.pk, private=True)

    frame = event_frame(ConversationEvent.objects.filter(conversation=channel).latest("seq"))
    kinds = OneOf("public", "private")
    schema = SCHEMAS[EventType.CONVERSATION_UPDATED] | {"visibility": {"from": kinds, "to": kinds}}
    assert problems(schema, frame) == []
    assert frame["changes"] == ["visibility"]
    assert frame["visibility"] == {"from": "public", "to": "private"}
    assert frame["details"]["kind"] == "private"
