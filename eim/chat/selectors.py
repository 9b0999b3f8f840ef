"""Reads a user triggers, each scoped to what that user may see."""

from typing import Any

from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User

from .access import access_member_conversation_by_id, readable_messages
from .errors import ChatError, ErrorCode
from .models import (
    Attachment,
    ChatPreferences,
    Conversation,
    ConversationEvent,
    ConversationKind,
    Membership,
    Message,
    PresenceSession,
    UserNotice,
)
from .payloads import (
    conversation_payload,
    message_payload_loaded,
    preferences_payload,
    user_payload,
)
from .services.notices import notice_frame
from .services.presence import PRESENCE_TTL

MAX_PAGE = 200
NOT_ARCHIVED_YET = 2**62


def _unread_subquery(user: User, *, mentioning: bool = False) -> Subquery:
    """Unread top-level messages of others; with `mentioning`, the unread messages of others
    that mention the user, thread replies included (a mention in a thread is for them too)."""
    unread = Message.objects.filter(
        conversation=OuterRef("conversation"),
        seq__gt=OuterRef("last_read_seq"),
        deleted_at__isnull=True,
    )
    unread = unread.filter(mentions=user) if mentioning else unread.filter(parent__isnull=True)
    counted = (
        unread.exclude(author=user)
        .order_by()
        .values("conversation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(counted, output_field=IntegerField())


def conversations_for_user(*, user: User) -> list[dict[str, Any]]:
    """The user's conversations with unread counts, for the sidebar."""
    memberships = (
        Membership.objects.filter(user=user)
        .select_related("conversation")
        .annotate(
            unread=Coalesce(_unread_subquery(user), 0),
            unread_mentions=Coalesce(_unread_subquery(user, mentioning=True), 0),
        )
        .order_by("conversation__kind", "conversation__name", "conversation_id")
    )
    direct_names = _direct_conversation_names(
        user=user, ids=[m.conversation_id for m in memberships if not m.conversation.is_channel]
    )
    result = []
    for membership in memberships:
        payload = conversation_payload(
            membership.conversation, membership=membership, unread=membership.unread
        )
        # Only in the member's own listing: event payloads (and so the archive) keep the
        # conversation's shape without it.
        payload["unread_mentions"] = membership.unread_mentions
        if membership.conversation_id in direct_names:
            payload.update(direct_names[membership.conversation_id])
        result.append(payload)
    return result


def _direct_conversation_names(*, user: User, ids: list[int]) -> dict[int, dict[str, Any]]:
    others: dict[int, list[User]] = {i: [] for i in ids}
    rows = (
        Membership.objects.filter(conversation_id__in=ids).exclude(user=user).select_related("user")
    )
    for membership in rows.order_by("user__username"):
        others[membership.conversation_id].append(membership.user)
    return {
        cid: {
            "name": ", ".join(u.shown_name for u in people) or user.shown_name,
            "people": [user_payload(u) for u in people],
        }
        for cid, people in others.items()
    }


def conversation_for_user(*, user: User, conversation_id: int) -> dict[str, Any]:
    conversations = {c["id"]: c for c in conversations_for_user(user=user)}
    if conversation_id in conversations:
        return conversations[conversation_id]
    conversation = Conversation.objects.filter(
        pk=conversation_id, kind=ConversationKind.PUBLIC
    ).first()
    if conversation is None:
        raise ChatError(ErrorCode.NOT_FOUND, "conversation does not exist or you cannot see it")
    return conversation_payload(conversation)


def public_channels_to_join(*, user: User) -> list[dict[str, Any]]:
    channels = (
        Conversation.objects.filter(kind=ConversationKind.PUBLIC, archived_at__isnull=True)
        .exclude(memberships__user=user)
        .annotate(member_count=Count("memberships"))
        .order_by("name")
    )
    return [conversation_payload(c) | {"member_count": c.member_count} for c in channels]


def direct_conversation_people(*, conversation_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    """The people of these direct and group conversations, to name them where a channel
    shows its name. Their members are fixed at creation, so today's are the participants.
    Not scoped to a reader: callers pass only ids the reader may already see (search hits)."""
    people: dict[int, list[dict[str, Any]]] = {}
    rows = (
        Membership.objects.filter(
            conversation_id__in=conversation_ids,
            conversation__kind__in=[ConversationKind.DIRECT, ConversationKind.GROUP],
        )
        .select_related("user")
        .order_by("user__username")
    )
    for membership in rows:
        people.setdefault(membership.conversation_id, []).append(user_payload(membership.user))
    return people


def conversation_members(*, user: User, conversation_id: int) -> list[dict[str, Any]]:
    conversation = access_member_conversation_by_id(user=user, conversation_id=conversation_id)
    memberships = (
        Membership.objects.filter(conversation=conversation)
        .select_related("user")
        .order_by("user__username")
    )
    return [user_payload(m.user) | {"role": m.role} for m in memberships]


def _messages_with_relations() -> QuerySet[Message]:
    return (
        Message.objects.select_related("author")
        .prefetch_related(
            "mentions",
            Prefetch("attachments", queryset=Attachment.objects.order_by("pk")),
            "reactions",
        )
        .annotate(reply_count=Count("replies", filter=Q(replies__deleted_at__isnull=True)))
    )


def messages_page(
    *,
    user: User,
    conversation_id: int,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
    thread: int | None = None,
) -> dict[str, Any]:
    """A page of messages in seq order, keyset-paginated by seq; members only, and only
    from where their membership's history starts."""
    conversation = access_member_conversation_by_id(user=user, conversation_id=conversation_id)
    limit = max(1, min(limit, MAX_PAGE))
    messages = _messages_with_relations().filter(
        readable_messages(user=user), conversation=conversation
    )
    if thread is not None:
        messages = messages.filter(Q(pk=thread) | Q(parent_id=thread))
    else:
        messages = messages.filter(parent__isnull=True)
    if after is not None:
        rows = list(messages.filter(seq__gt=after).order_by("seq")[: limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit]
    else:
        if before is not None:
            messages = messages.filter(seq__lt=before)
        rows = list(messages.order_by("-seq")[: limit + 1])
        has_more = len(rows) > limit
        rows = list(reversed(rows[:limit]))
    return {
        "conversation": conversation.pk,
        "last_seq": conversation.last_seq,
        "has_more": has_more,
        "results": [message_payload_loaded(m) for m in rows],
    }


def message_for_user(*, user: User, message_id: int) -> dict[str, Any]:
    message = _messages_with_relations().filter(readable_messages(user=user), pk=message_id).first()
    if message is None:
        raise ChatError(ErrorCode.NOT_FOUND, "message does not exist or you cannot see it")
    return message_payload_loaded(message)


def events_after(*, conversation_id: int, after_seq: int, limit: int) -> list[ConversationEvent]:
    """Outbox events of one conversation after a cursor, for a resuming socket.

    Callers filter each event by its audience: a user sees only events they could see.
    """
    return list(
        ConversationEvent.objects.filter(
            conversation_id=conversation_id, seq__gt=after_seq
        ).order_by("seq")[:limit]
    )


def events_in_ranges(*, ranges: dict[int, tuple[int, int]]) -> dict[int, list[ConversationEvent]]:
    """Outbox events of several conversations, each in its (after, up to] seq range, in seq
    order: one query for a resuming socket's every conversation. Callers filter each event by
    its audience, as for events_after."""
    if not ranges:
        return {}
    wanted = Q(
        *[Q(conversation_id=c, seq__gt=a, seq__lte=b) for c, (a, b) in ranges.items()],
        _connector=Q.OR,
    )
    found: dict[int, list[ConversationEvent]] = {}
    for event in ConversationEvent.objects.filter(wanted).order_by("conversation_id", "seq"):
        found.setdefault(event.conversation_id, []).append(event)
    return found


def events_in_range_set(*, ranges: set[tuple[int, int, int]]) -> dict[int, list[ConversationEvent]]:
    """Outbox events in any of these (conversation, after, up to] ranges, per conversation in
    seq order, each once: one query for the catch-ups of many sockets (eim/chat/catch_up.py),
    whose ranges in a conversation may overlap. Callers filter by audience, as for
    events_after."""
    if not ranges:
        return {}
    wanted = Q(
        *[Q(conversation_id=c, seq__gt=a, seq__lte=b) for c, a, b in ranges], _connector=Q.OR
    )
    found: dict[int, list[ConversationEvent]] = {}
    for event in ConversationEvent.objects.filter(wanted).order_by("conversation_id", "seq"):
        found.setdefault(event.conversation_id, []).append(event)
    return found


def conversation_cursors_for_user(*, user_id: int) -> dict[int, tuple[int, int]]:
    """{conversation id: (seq the user joined at, last seq)} of the user's conversations.

    Every handshake reads it twice, and every socket again at each catch-up: in SQL, because
    building the equivalent ORM query cost more than running it (docs/performance.md)."""
    memberships, conversations = Membership._meta.db_table, Conversation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.conversation_id, m.joined_seq, c.last_seq FROM {memberships} m "  # noqa: S608
            f"JOIN {conversations} c ON c.id = m.conversation_id WHERE m.user_id = %s",
            [user_id],
        )
        return {int(cid): (int(joined), int(last)) for cid, joined, last in cursor.fetchall()}


def conversation_cursors_for_users(*, user_ids: list[int]) -> dict[int, dict[int, tuple[int, int]]]:
    """conversation_cursors_for_user for several users in one query ({user id: cursors});
    a user in no conversation maps to {}. A restart's handshakes, batched, read it once."""
    memberships, conversations = Membership._meta.db_table, Conversation._meta.db_table
    result: dict[int, dict[int, tuple[int, int]]] = {user_id: {} for user_id in user_ids}
    if not user_ids:
        return result
    marks = ", ".join(["%s"] * len(user_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.user_id, m.conversation_id, m.joined_seq, c.last_seq FROM {memberships} m "  # noqa: S608
            f"JOIN {conversations} c ON c.id = m.conversation_id WHERE m.user_id IN ({marks})",
            list(user_ids),
        )
        for user_id, cid, joined, last in cursor.fetchall():
            result[int(user_id)][int(cid)] = (int(joined), int(last))
    return result


def history_archive_starts_for_user(*, user_id: int) -> dict[int, int]:
    """{conversation id: archive seq} for the user's memberships whose history starts after
    the conversation's beginning: the archive record of the event their readable history
    starts at (their join). Within a conversation, archive order is seq order, so nothing
    earlier than that record is theirs to read. A join not archived yet maps to the largest
    seq (nothing of theirs is in the archive before it)."""
    later = Membership.objects.filter(user_id=user_id, history_from_seq__gt=1)
    starts = {m.conversation_id: m.history_from_seq for m in later}
    archived = dict(
        ConversationEvent.objects.filter(
            Q(*[Q(conversation_id=cid, seq=seq) for cid, seq in starts.items()], _connector=Q.OR)
        ).values_list("conversation_id", "archived_seq")
        if starts
        else []
    )
    return {cid: archived.get(cid) or NOT_ARCHIVED_YET for cid in starts}


def attachment_for_user(*, user: User, attachment_id: int) -> Any:
    from .models import Attachment

    # A sent file is readable with its message; a staged one only by its uploader (a
    # member: staging checks membership, and a departure takes the membership).
    sent = Q(
        message__deleted_at__isnull=True,
        message__conversation__memberships__user=user,
        message__seq__gte=F("message__conversation__memberships__history_from_seq"),
    )
    staged = Q(message__isnull=True, uploaded_by=user, conversation__memberships__user=user)
    attachment = Attachment.objects.filter(sent | staged, pk=attachment_id).first()
    if attachment is None:
        raise ChatError(ErrorCode.NOT_FOUND, "file does not exist or you cannot see it")
    return attachment


def events_pending_archive(*, limit: int) -> list[ConversationEvent]:
    """Outbox events not yet archived, oldest first (the archiver holds the archive lock)."""
    return list(ConversationEvent.objects.filter(archived_seq__isnull=True).order_by("id")[:limit])


def events_pending_archive_summary() -> dict[str, Any]:
    """How many events wait for the archive, and since when."""
    from django.db.models import Min

    pending = ConversationEvent.objects.filter(archived_seq__isnull=True)
    summary = pending.aggregate(count=Count("id"), oldest=Min("occurred_at"))
    return {"count": summary["count"], "oldest": summary["oldest"]}


def attachment_file_by_id(*, attachment_id: int) -> Any:
    """The stored file of an attachment, opened for reading (for the archive's copy)."""
    from .models import Attachment

    return Attachment.objects.get(pk=attachment_id).file.open("rb")


def live_message_ids() -> Any:
    """Ids of every live message, for the archive's completeness check."""
    return Message.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=5000)


def archived_events_in_archive_order(*, from_seq: int) -> Any:
    """Outbox events that were archived, in archive order, for the record-by-record check."""
    return (
        ConversationEvent.objects.filter(archived_seq__gte=from_seq)
        .order_by("archived_seq")
        .iterator(chunk_size=2000)
    )


def events_unarchived() -> Any:
    return (
        ConversationEvent.objects.filter(archived_seq__isnull=True)
        .order_by("pk")
        .values_list("event_id", "occurred_at")
    )


def conversation_kind_by_id(*, conversation_id: int) -> str:
    """A conversation's kind (it never changes), for the send-time content check's scope."""
    kind = Conversation.objects.filter(pk=conversation_id).values_list("kind", flat=True).first()
    return str(kind or "")


def sockets_of_user(*, user_id: int) -> list[dict[str, Any]]:
    """A person's open chat sockets as presence tracks them (one PresenceSession each, touched
    by the socket's heartbeat), for the administrator's console: status and last heartbeat."""
    rows = PresenceSession.objects.filter(user_id=user_id).order_by("-last_seen")
    return [
        {
            "channel": row.channel_name.rsplit("!", 1)[-1][:12],
            "status": row.status,
            "last_seen": row.last_seen,
            "stale": row.last_seen < timezone.now() - PRESENCE_TTL,
        }
        for row in rows
    ]


def notices_for_user(*, user: User, limit: int = 50) -> list[dict[str, Any]]:
    """The user's notices not yet dismissed, newest first (docs/chat.md, "Notices")."""
    notices = UserNotice.objects.filter(user=user, dismissed_at__isnull=True)
    return [notice_frame(n) for n in notices.order_by("-created_at", "-pk")[:limit]]


def chat_preferences_of(*, user: User) -> dict[str, Any]:
    """The user's own chat choices (services/preferences.py keeps them)."""
    return preferences_payload(ChatPreferences.objects.filter(user=user).first())
