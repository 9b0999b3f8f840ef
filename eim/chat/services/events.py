"""Recording conversation events: the outbox, and the live broadcast after commit.

`event_record` must run inside the transaction that makes the change. It takes the
conversation's row lock (by bumping its sequence counter), so events, membership changes and
messages in one conversation are serialised and their seq order is their commit order.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User

from ..models import Conversation, ConversationEvent, EventType, Membership

logger = logging.getLogger(__name__)

# Hooks run after an event commits (the archive pipeline registers here); they get event ids.
_after_commit_hooks: list[Callable[[list[int]], None]] = []


def after_event_commit(hook: Callable[[list[int]], None]) -> None:
    _after_commit_hooks.append(hook)


def conversation_group(conversation_id: int) -> str:
    return f"conv.{conversation_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def conversation_lock(*, conversation_id: int) -> Conversation:
    """Take the conversation's row lock before a check whose outcome a write depends on."""
    return Conversation.objects.select_for_update().get(pk=conversation_id)


class Advance(NamedTuple):
    seq: int
    archived: bool
    # Read-only under an information barrier (eim.chat.barriers), read under the same lock.
    barrier_restricted: bool = False
    # The barrier generation (BarrierGeneration), when asked for, read after the lock.
    barrier_generation: int | None = None


def conversation_advance(
    *, conversation_id: int, barrier_generation: bool = False
) -> Advance | None:
    """Bump the conversation's event counter, holding its row lock until commit.

    Also says whether the conversation is archived, read under that lock (archiving takes
    it too), so a writer needs no second query to check. With `barrier_generation` (a message
    that may @mention someone), also the barrier generation, so the mention check can tell
    whether its facts in memory are current without a query (PostgreSQL only: SQLite's
    check always reads). None: there is no such conversation.
    """
    table = Conversation._meta.db_table
    returning = "last_seq, archived_at, barrier_restricted"
    if barrier_generation and connection.vendor == "postgresql":
        returning += ", chat_barrier_generation()"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1 WHERE id = %s "  # noqa: S608
            f"RETURNING {returning}",
            [conversation_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    generation = int(row[3]) if len(row) > 3 and row[3] is not None else None
    return Advance(
        seq=int(row[0]),
        archived=row[1] is not None,
        barrier_restricted=row[2],
        barrier_generation=generation,
    )


def conversation_lock_advance(*, conversation_id: int, barrier_generation: bool = False) -> Advance:
    advance = conversation_advance(
        conversation_id=conversation_id, barrier_generation=barrier_generation
    )
    if advance is None:
        raise Conversation.DoesNotExist(conversation_id)
    return advance


def conversation_lock_next_seq(*, conversation_id: int) -> int:
    return conversation_lock_advance(conversation_id=conversation_id).seq


def conversation_audience(*, conversation_id: int) -> list[int]:
    """The members' ids, in order. Every event reads it; in SQL because building the
    equivalent ORM query cost more than running it (docs/performance.md)."""
    table = Membership._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT user_id FROM {table} WHERE conversation_id = %s ORDER BY user_id",  # noqa: S608
            [conversation_id],
        )
        return [int(user_id) for (user_id,) in cursor.fetchall()]


def message_audience(*, conversation_id: int, message_seq: int) -> list[int]:
    """The members who may read a message (their history reaches back to it): the audience
    of its edits, deletion and reactions. A member who joined later without the history
    does not learn an earlier message's new text from its edit."""
    table = Membership._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT user_id FROM {table} WHERE conversation_id = %s "  # noqa: S608
            "AND history_from_seq <= %s ORDER BY user_id",
            [conversation_id, message_seq],
        )
        return [int(user_id) for (user_id,) in cursor.fetchall()]


def event_frame(event: ConversationEvent) -> dict[str, Any]:
    """The socket frame of an event: the same for live delivery and for a resume."""
    return {
        **event.payload,
        "type": event.type,
        "conversation": event.conversation_id,
        "seq": event.seq,
        "event_id": str(event.event_id),
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor_id,
    }


def event_record(
    *,
    conversation_id: int,
    seq: int,
    type: EventType,
    actor: User | None,
    payload: dict[str, Any],
    audience: list[int],
    notify_users: tuple[int, ...] = (),
) -> ConversationEvent:
    """Write one outbox row and schedule its live delivery for after the commit.

    `seq` comes from conversation_lock_next_seq in the same transaction. `notify_users` also
    receive the frame on their personal group (a member who joins or is removed).
    """
    event = ConversationEvent.objects.create(
        conversation_id=conversation_id,
        seq=seq,
        type=type,
        actor=actor,
        payload=payload,
        audience=audience,
        occurred_at=timezone.now(),
    )
    frame = event_frame(event)
    if not audience:
        # Nobody may see it (a blocked attempt): the sockets only learn its seq was used.
        frame = {k: frame[k] for k in ("type", "conversation", "seq", "event_id", "occurred_at")}
    # robust: a channel layer that is down must not turn a committed write into an error.
    transaction.on_commit(lambda: broadcast_event(frame, audience, notify_users), robust=True)
    for hook in _after_commit_hooks:
        transaction.on_commit(lambda hook=hook: hook([event.pk]), robust=True)  # type: ignore[misc]
    return event


GroupMessage = tuple[str, dict[str, Any]]

# Set while a caller on the event loop runs a service in a thread (the chat socket): the
# broadcasts wait here and the caller sends them itself, instead of the thread handing each
# one to the loop and blocking until it is sent.
_deferred_broadcasts: ContextVar[list[GroupMessage] | None] = ContextVar(
    "eim_deferred_broadcasts", default=None
)


@contextmanager
def broadcasts_deferred(pending: list[GroupMessage]) -> Iterator[None]:
    """Collect the live broadcasts of the services called inside into `pending`."""
    token = _deferred_broadcasts.set(pending)
    try:
        yield
    finally:
        _deferred_broadcasts.reset(token)


def _group_send(messages: list[GroupMessage]) -> None:
    pending = _deferred_broadcasts.get()
    if pending is not None:
        pending.extend(messages)
        return
    layer = get_channel_layer()
    if layer is None:
        return
    send = async_to_sync(layer.group_send)
    for group, message in messages:
        send(group, message)


async def group_send_all(messages: list[GroupMessage]) -> None:
    """Send collected broadcasts from the event loop; best effort, like every live frame."""
    layer = get_channel_layer()
    if layer is None:
        return
    for group, message in messages:
        try:
            await layer.group_send(group, message)
        except Exception:
            # The outbox has the event; a client fills the gap on its next frame or ping.
            logger.exception("live broadcast to %s failed", group)


def broadcast_event(
    frame: dict[str, Any], audience: list[int], notify_users: tuple[int, ...]
) -> None:
    """Best-effort live delivery; a lost frame is recovered from the outbox by seq."""
    message = {"type": "conversation.event", "event": frame, "audience": audience}
    groups = [conversation_group(frame["conversation"])]
    groups += [user_group(user_id) for user_id in notify_users]
    _group_send([(group, message) for group in groups])


def ephemeral_broadcast(group: str, message: dict[str, Any]) -> None:
    _group_send([(group, message)])


def events_mark_archived(*, archived: list[tuple[int, int]]) -> None:
    """Set archived_seq on outbox events, [(event pk, archive seq)], while archiving them."""
    rows = [ConversationEvent(pk=pk, archived_seq=seq) for pk, seq in archived]
    ConversationEvent.objects.bulk_update(rows, ["archived_seq"], batch_size=1000)
