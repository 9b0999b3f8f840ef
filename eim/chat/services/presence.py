"""Presence (online / away / offline) and typing: ephemeral, never archived."""

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services.users import user_seen

from ..access import access_member_conversation_by_id
from ..barriers.rules import read_only_refusal
from ..errors import ChatError, ErrorCode
from ..models import Membership, PresenceSession, PresenceStatus
from .events import conversation_audience, conversation_group, ephemeral_broadcast, user_group

PRESENCE_TTL = timedelta(seconds=90)


def user_presence(*, user_id: int) -> PresenceStatus:
    fresh = PresenceSession.objects.filter(
        user_id=user_id, last_seen__gte=timezone.now() - PRESENCE_TTL
    ).values_list("status", flat=True)
    return _presence_of_statuses(set(fresh))


def _presence_of_statuses(statuses: set[str]) -> PresenceStatus:
    """A user's presence from their fresh sockets' statuses."""
    if PresenceStatus.ONLINE in statuses:
        return PresenceStatus.ONLINE
    if statuses:
        return PresenceStatus.AWAY
    return PresenceStatus.OFFLINE


def presence_of_users(*, user_ids: list[int]) -> dict[int, str]:
    result = dict.fromkeys(user_ids, PresenceStatus.OFFLINE.value)
    rows = PresenceSession.objects.filter(
        user_id__in=user_ids, last_seen__gte=timezone.now() - PRESENCE_TTL
    ).values_list("user_id", "status")
    for user_id, status in rows:
        if result[user_id] != PresenceStatus.ONLINE:
            result[user_id] = status
    return result


def _announce(user: User, status: PresenceStatus) -> None:
    """To every conversation of the user, which reaches their own sockets too; to their own
    sockets directly only when they are in none. A socket in several of these groups gets the
    frame from each, and passes on only the first (ChatConsumer.presence_changed)."""
    frame = {"type": "presence", "user": user.pk, "status": status.value}
    # Not into conversations an information barrier made read-only: barred people in them
    # do not see each other's presence (docs/barriers.md).
    conversation_ids = list(
        Membership.objects.filter(user=user, conversation__barrier_restricted=False).values_list(
            "conversation_id", flat=True
        )
    )
    groups = [conversation_group(c) for c in conversation_ids] or [user_group(user.pk)]

    def send() -> None:
        for group in groups:
            ephemeral_broadcast(group, {"type": "presence.changed", "frame": frame})

    transaction.on_commit(send, robust=True)


def _lock_presence_of(user: User) -> None:
    """One user's sockets change presence one at a time (the user's row lock, to commit).

    Two at once (a tab closing while another goes idle, on two database threads) could each
    read the other's old row and announce a status that is no longer true.
    """
    if not connection.features.has_select_for_update:
        return  # SQLite: one writer at a time anyway
    with connection.cursor() as cursor:  # in SQL: every handshake takes it (docs/performance.md)
        cursor.execute(
            f"SELECT 1 FROM {User._meta.db_table} WHERE id = %s FOR UPDATE",  # noqa: S608
            [user.pk],
        )


def _session_record(*, user: User, channel_name: str, status: PresenceStatus) -> dict[str, str]:
    """Upsert one socket's row; return the user's fresh sockets' statuses as they were just
    before ({channel name: status}). One statement on PostgreSQL: its query part sees the
    rows as they were when the statement began, without the insert."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        before = dict(
            PresenceSession.objects.filter(
                user_id=user.pk, last_seen__gte=now - PRESENCE_TTL
            ).values_list("channel_name", "status")
        )
        PresenceSession.objects.bulk_create(
            [PresenceSession(user=user, channel_name=channel_name, status=status, last_seen=now)],
            update_conflicts=True,
            unique_fields=["channel_name"],
            update_fields=["user", "status", "last_seen"],
        )
        return before
    table = PresenceSession._meta.db_table
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH up AS (INSERT INTO {table} (user_id, channel_name, status, last_seen) "  # noqa: S608
            "VALUES (%s, %s, %s, %s) ON CONFLICT (channel_name) DO UPDATE SET "
            "user_id = EXCLUDED.user_id, status = EXCLUDED.status, "
            "last_seen = EXCLUDED.last_seen RETURNING 1) "
            f"SELECT channel_name, status FROM {table} WHERE user_id = %s AND last_seen >= %s",
            [
                user.pk,
                channel_name,
                status.value,
                stamp,
                user.pk,
                connection.ops.adapt_datetimefield_value(now - PRESENCE_TTL),
            ],
        )
        return dict(cursor.fetchall())


@transaction.atomic
def presence_session_set(*, user: User, channel_name: str, status: object) -> PresenceStatus:
    """Record one socket's status; announce the user's presence if it changed."""
    if status not in (PresenceStatus.ONLINE, PresenceStatus.AWAY, PresenceStatus.OFFLINE):
        raise ChatError(ErrorCode.INVALID_INPUT, "status is online, away or offline")
    _lock_presence_of(user)
    if status == PresenceStatus.OFFLINE:
        before = user_presence(user_id=user.pk)
        PresenceSession.objects.filter(channel_name=channel_name).delete()
        after = user_presence(user_id=user.pk)
    else:
        # One statement: every handshake makes one, and a restart makes them all.
        fresh = _session_record(
            user=user, channel_name=channel_name, status=PresenceStatus(str(status))
        )
        user_seen(user=user)  # a socket connecting (or coming back) is being seen
        before = _presence_of_statuses(set(fresh.values()))
        fresh[channel_name] = str(status)
        after = _presence_of_statuses(set(fresh.values()))
    if after != before:
        _announce(user, after)
    return after


@transaction.atomic
def presence_sessions_online(*, sessions: list[tuple[User, str]]) -> None:
    """Record arriving sockets ([(user, channel name)]) online: what presence_session_set
    does for each in turn, announcements included, in one transaction and three statements
    however many there are. A restart's handshakes arrive together and are batched
    (eim/chat/arrivals.py). The users' locks are taken in id order, so two batches (or a
    batch and a single socket) never wait on each other in a cycle."""
    if connection.vendor != "postgresql":
        for user, channel_name in sessions:
            presence_session_set(user=user, channel_name=channel_name, status=PresenceStatus.ONLINE)
        return
    users = {user.pk: user for user, _channel_name in sessions}
    user_ids = sorted(users)
    fresh = _sessions_record(sessions)
    # The same transitions as one socket at a time: each socket sees the user's sockets as
    # they were before the batch, plus the ones of this batch ahead of it.
    for user, channel_name in sessions:
        statuses = fresh.setdefault(user.pk, {})
        before = _presence_of_statuses(set(statuses.values()))
        statuses[channel_name] = PresenceStatus.ONLINE.value
        if _presence_of_statuses(set(statuses.values())) != before:
            _announce(user, PresenceStatus.ONLINE)
    for user_id in user_ids:
        user_seen(user=users[user_id])


def _sessions_record(sessions: list[tuple[User, str]]) -> dict[int, dict[str, str]]:
    """Lock the users (in id order), upsert every socket's row, and return the users' fresh
    sockets as they were just before ({user id: {channel name: status}}): _session_record
    for many, PostgreSQL only."""
    table, users_table = PresenceSession._meta.db_table, User._meta.db_table
    now = timezone.now()
    user_ids = sorted({user.pk for user, _channel_name in sessions})
    fresh: dict[int, dict[str, str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {users_table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE",  # noqa: S608
            [user_ids],
        )
        cursor.execute(
            f"WITH up AS (INSERT INTO {table} (user_id, channel_name, status, last_seen) "  # noqa: S608
            "SELECT u, c, %s, %s FROM unnest(%s::bigint[], %s::varchar[]) AS a(u, c) "
            "ON CONFLICT (channel_name) DO UPDATE SET user_id = EXCLUDED.user_id, "
            "status = EXCLUDED.status, last_seen = EXCLUDED.last_seen RETURNING 1) "
            f"SELECT user_id, channel_name, status FROM {table} "
            "WHERE user_id = ANY(%s) AND last_seen >= %s",
            [
                PresenceStatus.ONLINE.value,
                connection.ops.adapt_datetimefield_value(now),
                [user.pk for user, _channel_name in sessions],
                [channel_name for _user, channel_name in sessions],
                user_ids,
                connection.ops.adapt_datetimefield_value(now - PRESENCE_TTL),
            ],
        )
        for user_id, channel_name, status in cursor.fetchall():
            fresh.setdefault(int(user_id), {})[channel_name] = status
    return fresh


def presence_session_touch(*, channel_name: str) -> None:
    PresenceSession.objects.filter(channel_name=channel_name).update(last_seen=timezone.now())


def typing_notify(*, user: User, conversation_id: int, thread: object = None) -> None:
    """`thread`: the root message id when typing a reply in a thread (echoed, not looked up:
    a client shows it only for a thread it has open)."""
    if thread is not None and (not isinstance(thread, int) or isinstance(thread, bool)):
        raise ChatError(ErrorCode.INVALID_INPUT, "'thread' is the id of a thread's root message")
    conversation = access_member_conversation_by_id(user=user, conversation_id=conversation_id)
    if conversation.barrier_restricted:
        raise read_only_refusal(conversation_id=conversation.pk)
    frame = {
        "type": "typing",
        "conversation": conversation.pk,
        "thread": thread,
        "user": user.pk,
        "name": user.shown_name,
    }
    ephemeral_broadcast(
        conversation_group(conversation.pk),
        {
            "type": "typing.changed",
            "frame": frame,
            "audience": conversation_audience(conversation_id=conversation.pk),
        },
    )
