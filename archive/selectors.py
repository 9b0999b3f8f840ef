"""Reads of the archive: its own state, and the records as evidence for search and review.

Every record is parsed from `canonical`, the exact bytes that were hashed, so what is indexed
and shown is what the archive proves.
"""

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import CharField, Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone
from psycopg.adapt import Buffer, Loader

from eim.chat import selectors as chat_selectors

from .models import ArchiveHead, ArchiveRecord, Checkpoint

LAG_SAMPLE = 1000


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def archive_status() -> dict[str, Any]:
    """Backlog, lag over the latest records, and the latest signed checkpoint."""
    pending = chat_selectors.events_pending_archive_summary()
    oldest: datetime | None = pending["oldest"]
    recent = ArchiveRecord.objects.order_by("-seq").values_list("occurred_at", "archived_at")
    lags = sorted(
        (archived - occurred).total_seconds() * 1000 for occurred, archived in recent[:LAG_SAMPLE]
    )
    head = ArchiveHead.objects.filter(pk=1).first()
    checkpoint = Checkpoint.objects.order_by("-tree_size").first()
    return {
        "records": head.last_seq if head else 0,
        "backlog": pending["count"],
        "oldest_pending_seconds": (
            round((timezone.now() - oldest).total_seconds(), 1) if oldest else None
        ),
        "lag_ms": {
            "p50": round(_percentile(lags, 0.5), 1) if lags else None,
            "p99": round(_percentile(lags, 0.99), 1) if lags else None,
            "sample": len(lags),
        },
        "checkpoint": {
            "tree_size": checkpoint.tree_size,
            "signed_at": checkpoint.signed_at.isoformat(),
        }
        if checkpoint
        else None,
    }


MESSAGE_NEW = "message.new"
MESSAGE_EDITED = "message.edited"
MESSAGE_DELETED = "message.deleted"
ATTACHMENT_ADDED = "attachment.added"
MESSAGE_TYPES = (MESSAGE_NEW, MESSAGE_EDITED, MESSAGE_DELETED, ATTACHMENT_ADDED)
VERSION_TYPES = (MESSAGE_NEW, MESSAGE_EDITED)
CONVERSATION_TYPES = ("conversation.created", "conversation.updated")
CHANNEL_KINDS = ("public", "private")


@dataclass(frozen=True, slots=True)
class ArchivedEvent:
    """One archive record, as hashed."""

    seq: int
    type: str
    conversation_id: int
    # The event's number within its conversation (the outbox seq the record names).
    conversation_seq: int
    message_id: int | None
    actor_id: int | None
    occurred_at: datetime
    audience: tuple[int, ...]
    payload: dict[str, Any]

    @property
    def message(self) -> dict[str, Any]:
        """The message payload of a message.new / edited / deleted record."""
        message = self.payload.get("message")
        return message if isinstance(message, dict) else {}


def _event(record: ArchiveRecord) -> ArchivedEvent:
    content = json.loads(record.canonical)
    return ArchivedEvent(
        seq=record.seq,
        type=record.event_type,
        conversation_id=record.conversation_id,
        conversation_seq=int(content.get("conversation_seq") or 0),
        message_id=record.message_id,
        actor_id=record.actor_id,
        occurred_at=record.occurred_at,
        audience=tuple(int(i) for i in content.get("audience") or ()),
        payload=content.get("payload") or {},
    )


def archive_head_seq() -> int:
    head = ArchiveHead.objects.filter(pk=1).values_list("last_seq", flat=True).first()
    return int(head or 0)


def archived_at_of(*, seq: int) -> datetime | None:
    return ArchiveRecord.objects.filter(seq=seq).values_list("archived_at", flat=True).first()


def archived_events(
    *, first_seq: int, last_seq: int, types: Sequence[str] | None = None
) -> list[ArchivedEvent]:
    records = ArchiveRecord.objects.filter(seq__gte=first_seq, seq__lte=last_seq)
    if types is not None:
        records = records.filter(event_type__in=types)
    return [_event(r) for r in records.order_by("seq")]


def archived_event(*, seq: int) -> ArchivedEvent | None:
    record = ArchiveRecord.objects.filter(seq=seq).first()
    return _event(record) if record else None


def message_histories(
    *, message_ids: Iterable[int], types: Iterable[str] = MESSAGE_TYPES
) -> dict[int, list[ArchivedEvent]]:
    """Every record of each message (creation, edits, deletion, attachments; or those of
    `types`), in seq order."""
    records = ArchiveRecord.objects.filter(
        message_id__in=set(message_ids), event_type__in=list(types)
    ).order_by("seq")
    histories: dict[int, list[ArchivedEvent]] = defaultdict(list)
    for record in records:
        histories[int(record.message_id or 0)].append(_event(record))
    return dict(histories)


def later_records(
    *, message_ids: Iterable[int], types: Sequence[str], up_to_seq: int
) -> dict[int, list[ArchivedEvent]]:
    """The records of `types` of each of these messages up to record `up_to_seq`, in seq
    order: `message_histories` for an export's steps, a few thousand messages at a time.

    One array parameter rather than an IN list of thousands (which Django and psycopg
    build and quote one by one: 8 us a message of the worker's CPU for a step of 2,000),
    the types written in (our constants) so that PostgreSQL proves the partial index
    `archive_record_later` applies, the time read as text (see OCCURRED_TEXT)."""
    ids = sorted({int(i) for i in message_ids})
    if not ids or not types:
        return {}
    kinds = ", ".join(_sql_string(t) for t in types)
    query = (
        "SELECT seq, event_type, conversation_id, message_id, actor_id, occurred_at::text, "  # noqa: S608 - constants only
        f"canonical FROM {ArchiveRecord._meta.db_table} WHERE message_id = ANY(%s::bigint[]) "
        f"AND event_type IN ({kinds}) AND seq <= %s ORDER BY seq"
    )
    histories: dict[int, list[ArchivedEvent]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(query, [ids, up_to_seq])
        for seq, kind, conversation, message, actor, at, canonical in cursor.fetchall():
            content = json.loads(canonical)
            histories[int(message)].append(
                ArchivedEvent(
                    seq=seq,
                    type=kind,
                    conversation_id=conversation,
                    conversation_seq=int(content.get("conversation_seq") or 0),
                    message_id=message,
                    actor_id=actor,
                    occurred_at=_instant(at),
                    audience=tuple(int(i) for i in content.get("audience") or ()),
                    payload=content.get("payload") or {},
                )
            )
    return dict(histories)


def _sql_string(value: str) -> str:
    if not value.replace(".", "").replace("_", "").isalnum():
        raise ValueError(f"not an event type: {value!r}")
    return f"'{value}'"


def archived_event_of(row: "RecordRow", content: dict[str, Any]) -> ArchivedEvent:
    """A record already read (with its parsed canonical content) as an ArchivedEvent."""
    return ArchivedEvent(
        seq=row.seq,
        type=row.type,
        conversation_id=row.conversation_id,
        conversation_seq=int(content.get("conversation_seq") or 0),
        message_id=row.message_id,
        actor_id=content.get("actor"),
        occurred_at=row.occurred_at,
        audience=tuple(int(i) for i in content.get("audience") or ()),
        payload=content.get("payload") or {},
    )


def conversation_names(
    *, conversation_ids: Iterable[int], up_to_seq: int | None = None
) -> dict[int, str]:
    """The latest channel name of each conversation (as of record `up_to_seq` if given),
    lower-cased; '' for direct messages."""
    ids = set(conversation_ids)
    records = ArchiveRecord.objects.filter(
        conversation_id__in=ids, event_type__in=CONVERSATION_TYPES
    )
    if up_to_seq is not None:
        records = records.filter(seq__lte=up_to_seq)
    latest = (
        records.values("conversation_id").annotate(seq=Max("seq")).values_list("seq", flat=True)
    )
    names = {cid: "" for cid in ids}
    for record in ArchiveRecord.objects.filter(seq__in=list(latest)):
        details = _event(record).payload.get("details") or {}
        if details.get("kind") in CHANNEL_KINDS:
            names[record.conversation_id] = str(details.get("name") or "").lower()
    return names


def member_usernames(
    *, conversation_ids: Iterable[int], up_to_seq: int | None = None
) -> dict[int, str]:
    """User id → username (lower-cased) of everyone who ever joined these conversations,
    as the archive recorded them (the latest join wins), up to record `up_to_seq` if given."""
    records = ArchiveRecord.objects.filter(
        conversation_id__in=set(conversation_ids), event_type="member.joined"
    ).order_by("seq")
    if up_to_seq is not None:
        records = records.filter(seq__lte=up_to_seq)
    usernames: dict[int, str] = {}
    for record in records:
        user = _event(record).payload.get("user") or {}
        if "id" in user:
            usernames[int(user["id"])] = str(user.get("username", "")).lower()
    return usernames


def membership_events(*, conversation_ids: Iterable[int]) -> dict[int, list[ArchivedEvent]]:
    """Every member.joined and member.left record of these conversations, in seq order."""
    records = ArchiveRecord.objects.filter(
        conversation_id__in=set(conversation_ids),
        event_type__in=("member.joined", "member.left"),
    ).order_by("seq")
    events: dict[int, list[ArchivedEvent]] = defaultdict(list)
    for record in records:
        events[record.conversation_id].append(_event(record))
    return dict(events)


def conversation_message_ids(*, conversation_id: int, before_seq: int) -> list[int]:
    """Ids of the messages written in a conversation before archive record `before_seq`, in
    order (by the conversation's index)."""
    rows = ArchiveRecord.objects.filter(
        conversation_id=conversation_id, event_type=MESSAGE_NEW, seq__lt=before_seq
    ).order_by("seq")
    return [int(mid) for mid in rows.values_list("message_id", flat=True) if mid is not None]


def conversation_message_events(
    *, conversation_id: int, before_seq: int | None = None, after_seq: int | None = None, limit: int
) -> list[ArchivedEvent]:
    """Up to `limit` message.new records of a conversation just before or just after a seq,
    in seq order."""
    records = ArchiveRecord.objects.filter(conversation_id=conversation_id, event_type=MESSAGE_NEW)
    if before_seq is not None:
        rows = list(records.filter(seq__lt=before_seq).order_by("-seq")[:limit])
        return [_event(r) for r in reversed(rows)]
    rows = list(records.filter(seq__gt=after_seq or 0).order_by("seq")[:limit])
    return [_event(r) for r in rows]


def superseded_version_seqs(*, conversation_ids: Iterable[int]) -> list[int]:
    """Seqs of versions that a later edit replaced, in these conversations."""
    edits = ArchiveRecord.objects.filter(
        conversation_id__in=set(conversation_ids), event_type=MESSAGE_EDITED
    ).values_list("message_id", "original_seq", "seq")
    versions: dict[int | None, list[int]] = defaultdict(list)
    for message_id, original_seq, seq in edits.order_by("seq"):
        if not versions[message_id] and original_seq is not None:
            versions[message_id].append(original_seq)
        versions[message_id].append(seq)
    return sorted(seq for seqs in versions.values() for seq in seqs[:-1])


def author_names(*, seqs: Iterable[int]) -> dict[int, str]:
    """The author's display name as each message record carried it, by record seq."""
    names: dict[int, str] = {}
    for record in ArchiveRecord.objects.filter(seq__in=set(seqs)):
        author = _event(record).message.get("author") or {}
        names[record.seq] = str(author.get("name") or author.get("username") or "")
    return names


def conversation_kinds(*, conversation_ids: Iterable[int]) -> dict[int, str]:
    """The kind (public, private, direct, group) of each conversation, as its creation was
    archived; '' for one whose creation is not archived."""
    ids = set(conversation_ids)
    kinds = {cid: "" for cid in ids}
    records = ArchiveRecord.objects.filter(
        conversation_id__in=ids, event_type="conversation.created"
    )
    for record in records:
        details = _event(record).payload.get("details") or {}
        kinds[record.conversation_id] = str(details.get("kind") or "")
    return kinds


def message_records_between(
    *, occurred_after: datetime, after_seq: int, limit: int
) -> list[ArchivedEvent]:
    """Message text records (new, edited) that occurred after a moment, past `after_seq`, in
    seq order: what a back-test or a sample reads, a page at a time."""
    records = ArchiveRecord.objects.filter(
        event_type__in=VERSION_TYPES, occurred_at__gte=occurred_after, seq__gt=after_seq
    ).order_by("seq")[:limit]
    return [_event(r) for r in records]


# Records that belong to a conversation rather than to one message: an export of a
# conversation's messages carries them too (who was there, what it was called).
CONVERSATION_LEVEL_TYPES = (
    "conversation.created",
    "conversation.updated",
    "member.joined",
    "member.left",
)


#: The columns of a RecordRow, in its fields' order.
ZERO = timedelta(0)
RECORD_ROW_COLUMNS = (
    "seq",
    "event_type",
    "conversation_id",
    "message_id",
    "occurred_at",
    "canonical",
    "prev_hash",
    "hash",
)


class RecordRow(NamedTuple):
    """One archive record with its hashes, as an export copies it (a tuple: made at C speed,
    a million of them per export)."""

    seq: int
    type: str
    conversation_id: int
    message_id: int | None
    occurred_at: datetime
    #: The canonical JSON's UTF-8 bytes, as hashed (never decoded: a format that hashes,
    #: parses or copies them does it from the bytes).
    canonical: bytes
    prev_hash: str
    hash: str


def _scope_filter(message_ids: Any, conversation_ids: Any) -> Q:
    return Q(message_id__in=message_ids) | Q(
        conversation_id__in=conversation_ids, event_type__in=CONVERSATION_LEVEL_TYPES
    )


def message_conversations(
    *,
    message_ids: Iterable[int],
    up_to_seq: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, int]:
    """Message id → conversation id, for the messages among these ids archived by `up_to_seq`
    and written in [since, until)."""
    rows = ArchiveRecord.objects.filter(
        message_id__in=set(message_ids), event_type=MESSAGE_NEW, seq__lte=up_to_seq
    )
    if since is not None:
        rows = rows.filter(occurred_at__gte=since)
    if until is not None:
        rows = rows.filter(occurred_at__lt=until)
    return {int(m): c for m, c in rows.values_list("message_id", "conversation_id") if m}


def reaction_histories(*, message_ids: Iterable[int]) -> dict[int, list[ArchivedEvent]]:
    """Every reaction.added and reaction.removed record of each message, in seq order."""
    records = ArchiveRecord.objects.filter(
        message_id__in=set(message_ids), event_type__in=("reaction.added", "reaction.removed")
    ).order_by("seq")
    histories: dict[int, list[ArchivedEvent]] = defaultdict(list)
    for record in records:
        histories[int(record.message_id or 0)].append(_event(record))
    return dict(histories)


def scope_record_seqs(
    *, message_ids: Any, conversation_ids: Any, up_to_seq: int
) -> QuerySet[ArchiveRecord, Any]:
    """(seq, conversation_id) of every record of these messages and of these conversations'
    joins, leaves, creation and renames, up to `up_to_seq`, unordered: what an export freezes
    (INSERT … SELECT). The id collections may be subqueries."""
    return (
        ArchiveRecord.objects.filter(_scope_filter(message_ids, conversation_ids))
        .filter(seq__lte=up_to_seq)
        .order_by()
        .values("seq", "conversation_id")
    )


def message_ids_written(
    *,
    conversation_ids: Any,
    up_to_seq: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[ArchiveRecord, Any]:
    """message_id of every message written in these conversations (up to `up_to_seq`, in
    [since, until)), unordered, as a query to select from."""
    rows = ArchiveRecord.objects.filter(
        conversation_id__in=conversation_ids, event_type=MESSAGE_NEW, seq__lte=up_to_seq
    )
    if since is not None:
        rows = rows.filter(occurred_at__gte=since)
    if until is not None:
        rows = rows.filter(occurred_at__lt=until)
    return rows.order_by().values("message_id")


def conversations_of_messages(*, message_ids: Any, up_to_seq: int) -> QuerySet[ArchiveRecord, Any]:
    """The distinct conversation_id of these messages' creations, as a query to select from."""
    return (
        ArchiveRecord.objects.filter(
            message_id__in=message_ids, event_type=MESSAGE_NEW, seq__lte=up_to_seq
        )
        .order_by()
        .values("conversation_id")
        .distinct()
    )


def superseded_version_seqs_of(*, message_ids: Any, up_to_seq: int) -> QuerySet[ArchiveRecord, Any]:
    """Seqs of these messages' versions (the original, edits) that a later edit up to
    `up_to_seq` replaced, as a query: what "only the latest version" leaves out."""
    later_edit = ArchiveRecord.objects.filter(
        message_id=OuterRef("message_id"),
        event_type=MESSAGE_EDITED,
        seq__gt=OuterRef("seq"),
        seq__lte=up_to_seq,
    )
    return (
        ArchiveRecord.objects.filter(
            message_id__in=message_ids, event_type__in=VERSION_TYPES, seq__lte=up_to_seq
        )
        .filter(Exists(later_edit))
        .order_by()
        .values("seq")
    )


def records_at(*, seqs: Any, first: int, last: int) -> list[RecordRow]:
    """The records with these seqs (a subquery), all in [first, last], in seq order: a range
    of the primary key, filtered by the subquery."""
    return record_rows(
        ArchiveRecord.objects.filter(seq__gte=first, seq__lte=last, seq__in=seqs).order_by("seq")
    )


def _record_values(records: QuerySet[ArchiveRecord, Any], *extra: str) -> list[tuple[Any, ...]]:
    """The RecordRow columns (and `extra`) of an ordered query, fetched as plain tuples: the
    ORM writes the SQL, psycopg makes the rows (a third of the cost of the ORM's rows)."""
    values = records.annotate(occurred_text=Cast("occurred_at", CharField())).values_list(
        *(OCCURRED_TEXT.get(c, c) for c in RECORD_ROW_COLUMNS), *extra
    )
    sql, params = values.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.cursor.adapters.register_loader("text", _TextBytesLoader)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if connection.vendor != "postgresql":
        at = RECORD_ROW_COLUMNS.index("canonical")
        rows = [(*row[:at], row[at].encode(), *row[at + 1 :]) for row in rows]
    return rows


class _TextBytesLoader(Loader):
    """PostgreSQL's `text` (the records' canonical JSON; their other columns are varchar) as
    the UTF-8 bytes the server sent: hashed, parsed and copied as they are, never decoded
    to a str and encoded back (a CSV export's record: 21 -> 13 µs of CPU, measured with its
    parsing from bytes)."""

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def flat_values(query: QuerySet[Any, Any]) -> list[Any]:
    """The values of a one-column query (`values_list(name, flat=True)`), fetched as plain
    tuples: Django's flat rows cost 2 µs each, and a million-record export reads every seq of
    its scope for its plan and every hash of its blocks for its proofs."""
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def record_rows(records: QuerySet[ArchiveRecord, Any]) -> list[RecordRow]:
    """The records of an ordered query, as RecordRows."""
    return [
        RecordRow(seq, kind, conversation, message, _instant(at), canonical, prev, hash_)
        for seq, kind, conversation, message, at, canonical, prev, hash_ in _record_values(records)
    ]


def record_rows_with(
    records: QuerySet[ArchiveRecord, Any], name: str
) -> list[tuple[RecordRow, Any]]:
    """The records of an ordered query, as RecordRows, each with the value the query
    annotates as `name`."""
    return [
        (RecordRow(seq, kind, conversation, message, _instant(at), canonical, prev, hash_), value)
        for seq, kind, conversation, message, at, canonical, prev, hash_, value in _record_values(
            records, name
        )
    ]


#: A step's records take their time as text (varchar: `text` comes as bytes): Django's
#: timestamptz loader is psycopg's pure-Python one (a fifth of a JSON Lines export's CPU),
#: `fromisoformat` is C.
OCCURRED_TEXT = {"occurred_at": "occurred_text"}


def _instant(text: str) -> datetime:
    """A timestamp as the database wrote it as text, in UTC (the connection's time zone on
    PostgreSQL; SQLite keeps it naive, in UTC)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment if moment.utcoffset() == ZERO else moment.astimezone(UTC)


def message_time_line(*, conversation_id: int, up_to_seq: int) -> Iterator[tuple[int, datetime]]:
    """(message_id, occurred_at) of every message written in a conversation, in seq order,
    streamed: what "include context" walks."""
    rows = (
        ArchiveRecord.objects.filter(
            conversation_id=conversation_id, event_type=MESSAGE_NEW, seq__lte=up_to_seq
        )
        .order_by("seq")
        .values_list("message_id", "occurred_at")
        .iterator(chunk_size=10000)
    )
    return ((int(m), t) for m, t in rows if m is not None)
