"""A scope of whole conversations, read straight from the archive: every record of these
conversations up to a checkpoint's seq (their messages' records, only the messages written
in a date range if one is given, and the conversations' joins, leaves, creation and
renames), in seq order.

The archive only grows, so such a scope is fixed by its conversations, the checkpoint and the
range: an export of it needs no row per record to stay the same across steps and resumes. It
is the scope an export freezes as rows for the same conversations (compliance/export/scope.py):
a message's records are those whose creation (the `message.new` the record names by
`original_seq`) is in the conversations, up to the checkpoint and in the range.

Records are read a window of seqs at a time (`ConversationScopeReader`): `conversation_id =
ANY(...) AND event_type = ANY(...)` with the seq window is a few descents of the
(conversation, type, seq) index, or a primary-key range where the scope is dense, so that a
step reads about what it returns however sparse the scope is in the archive.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, When

from .models import LATER_EVENT_TYPES, ArchiveRecord
from .selectors import (
    CONVERSATION_LEVEL_TYPES,
    MESSAGE_EDITED,
    MESSAGE_NEW,
    VERSION_TYPES,
    RecordRow,
    flat_values,
    record_rows,
    record_rows_with,
)

#: Every kind of record such a scope holds (a blocked attempt names no message: never).
SCOPE_TYPES = (*CONVERSATION_LEVEL_TYPES, MESSAGE_NEW, *LATER_EVENT_TYPES)

#: The smallest window of seqs read at a time, and how much wider than the expected need.
MIN_WINDOW = 256
SLACK = 1.25

T = TypeVar("T")


@dataclass(frozen=True)
class ConversationScope:
    """These conversations' records up to `up_to_seq`, their messages' only for messages
    written in [since, until) when given; `latest_only`: a version a later edit (up to
    `up_to_seq`) replaced is read but not listed."""

    conversation_ids: tuple[int, ...]
    up_to_seq: int
    since: datetime | None = None
    until: datetime | None = None
    latest_only: bool = False


def _in_range(records: QuerySet[ArchiveRecord, Any], scope: ConversationScope) -> Any:
    if scope.since is not None:
        records = records.filter(occurred_at__gte=scope.since)
    if scope.until is not None:
        records = records.filter(occurred_at__lt=scope.until)
    return records


def _records(scope: ConversationScope, *, along_seq: bool = False) -> QuerySet[ArchiveRecord, Any]:
    """The scope's records, unordered. A later record (edit, deletion, attachment, reaction)
    is in it when its creation is: a scalar subquery by primary key, evaluated only for those
    records (never hashed over the whole archive, as an EXISTS could be).

    `along_seq`: the conversations matched as `conversation_id + 0`, which no index serves,
    so that a window of seqs is read along the primary key, in seq order, whatever the
    statistics say (`_window`)."""
    creation = _in_range(
        ArchiveRecord.objects.filter(
            seq=OuterRef("original_seq"), message_id=OuterRef("message_id"), event_type=MESSAGE_NEW
        ),
        scope,
    )
    created = Q(event_type=MESSAGE_NEW, message_id__isnull=False)
    if scope.since is not None:
        created &= Q(occurred_at__gte=scope.since)
    if scope.until is not None:
        created &= Q(occurred_at__lt=scope.until)
    later = Q(event_type__in=LATER_EVENT_TYPES, message_id__isnull=False, creation__isnull=False)
    records = ArchiveRecord.objects.all()
    if along_seq:
        records = records.alias(conversation=F("conversation_id") + 0)
    in_scope = "conversation__in" if along_seq else "conversation_id__in"
    return (
        records.filter(
            **{in_scope: scope.conversation_ids},
            event_type__in=SCOPE_TYPES,
            seq__lte=scope.up_to_seq,
        )
        .alias(creation=Subquery(creation.values("seq")[:1]))
        .filter(Q(event_type__in=CONVERSATION_LEVEL_TYPES) | created | later)
        .order_by()
    )


@contextmanager
def _without_jit() -> Iterator[None]:
    """PostgreSQL's JIT compiles a plan it thinks costly (a whole scope's count, by its
    estimate of the creation subquery) for longer than the query runs: a quarter of a second
    at 200,000 records, for nothing. Off for this transaction only."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


def conversation_scope_counts(scope: ConversationScope) -> tuple[int, int]:
    """(records, messages): how many records the scope holds (listed or not) and how many
    messages (their creations), in one pass."""
    with _without_jit():
        counts = _records(scope).aggregate(
            records=Count("seq"), messages=Count("seq", filter=Q(event_type=MESSAGE_NEW))
        )
    return int(counts["records"]), int(counts["messages"])


def conversation_scope_count(scope: ConversationScope) -> int:
    """How many records the scope holds (listed or not)."""
    return conversation_scope_counts(scope)[0]


def _listed(scope: ConversationScope, records: QuerySet[ArchiveRecord, Any]) -> Any:
    """Each record with `superseded`: a version that a later edit up to the scope's seq
    replaced (only under `latest_only`; a probe of the later records' index per version)."""
    if not scope.latest_only:
        return records
    later_edit = ArchiveRecord.objects.filter(
        message_id=OuterRef("message_id"),
        event_type=MESSAGE_EDITED,
        seq__gt=OuterRef("seq"),
        seq__lte=scope.up_to_seq,
    )
    versions = Q(event_type__in=VERSION_TYPES) & Exists(later_edit)
    return records.annotate(superseded=Case(When(versions, then=True), default=False))


#: A window of seqs expected to hold at least this many of the scope's records per seq is
#: read along the primary key (`_window`).
DENSE = 0.25


def _window(
    scope: ConversationScope, low: int, high: int, count: int, *, conversation_id: int | None = None
) -> QuerySet[ArchiveRecord, Any]:
    """The scope's first `count` records in seqs (low, high], in seq order (with `superseded`
    under `latest_only`; of one conversation if given).

    A dense window is read along the primary key (`_records(along_seq=True)`): the range's
    rows come in seq order, each filtered. Left to the statistics, PostgreSQL read it by the
    (conversation, type, seq) index as often, one run per conversation and type, and sorted
    the whole rows (about 2 MB a window, spilled to disk): its CPU for a CSV record went
    from 4 to 8 µs as ANALYZE's sample tipped the plan (bench/export.py, analysed before
    each invocation). A sparse window, wide in seqs, is left to that index."""
    dense = count >= DENSE * (high - low)
    records = _listed(scope, _records(scope, along_seq=dense))
    if conversation_id is not None:
        records = records.filter(conversation_id=conversation_id)
    return records.filter(seq__gt=low, seq__lte=high).order_by("seq")[:count]


class ConversationScopeReader:
    """Reads a scope in seq order, a window of seqs at a time. The windows are sized from the
    scope's density as last seen (records per seq, kept per conversation asked), so that a
    dense scope is read by primary-key ranges and a sparse one in windows wide enough to hold
    what a read asks for; what is read never depends on the windows."""

    def __init__(self, scope: ConversationScope, *, records: int) -> None:
        self.scope = scope
        self._density: dict[int | None, float] = {None: records / max(scope.up_to_seq, 1)}

    def seqs_after(self, *, after_seq: int, limit: int) -> list[int]:
        """The seqs of the next `limit` records after `after_seq`."""
        records = _records(self.scope)

        def read(low: int, high: int, count: int) -> list[int]:
            window = records.filter(seq__gt=low, seq__lte=high).order_by("seq")
            with _without_jit():
                return flat_values(window.values_list("seq", flat=True)[:count])

        return self._windows(read, lambda seq: seq, after_seq=after_seq, limit=limit, key=None)

    def records_after(
        self, *, after_seq: int, limit: int, conversation_id: int | None = None
    ) -> list[tuple[RecordRow, bool]]:
        """The next `limit` records after `after_seq` (of one conversation if given), each
        with whether it is listed."""
        latest_only = self.scope.latest_only

        def read(low: int, high: int, count: int) -> list[tuple[RecordRow, bool]]:
            window = _window(self.scope, low, high, count, conversation_id=conversation_id)
            with _without_jit():
                if not latest_only:
                    return [(row, True) for row in record_rows(window)]
                return [(row, not old) for row, old in record_rows_with(window, "superseded")]

        return self._windows(
            read, lambda item: item[0].seq, after_seq=after_seq, limit=limit, key=conversation_id
        )

    def read_after(
        self,
        read: Callable[[QuerySet[ArchiveRecord, Any]], Sequence[T]],
        seq_of: Callable[[T], int],
        *,
        after_seq: int,
        limit: int,
    ) -> list[T]:
        """The next `limit` records after `after_seq` as `read` makes them, each window at a
        time from its query (in seq order, cut to what is still needed, with `superseded`
        under `latest_only`): for a caller that reads a window in one statement of its own
        (an export's JSON Lines, written by PostgreSQL)."""

        def window(low: int, high: int, count: int) -> Sequence[T]:
            with _without_jit():
                return read(_window(self.scope, low, high, count))

        return self._windows(window, seq_of, after_seq=after_seq, limit=limit, key=None)

    def _windows(
        self,
        read: Callable[[int, int, int], Sequence[T]],
        seq_of: Callable[[T], int],
        *,
        after_seq: int,
        limit: int,
        key: int | None,
    ) -> list[T]:
        found: list[T] = []
        low, last = after_seq, self.scope.up_to_seq
        density = self._density.get(key, self._density[None])
        while len(found) < limit and low < last:
            need = limit - len(found)
            high = min(last, low + max(MIN_WINDOW, int(need * SLACK / density)))
            got = read(low, high, need)
            found.extend(got)
            if len(got) == need:
                density = need / max(seq_of(got[-1]) - low, 1)
            else:  # the window held fewer than needed: widen the next one (4x when empty)
                density = max(len(got), 0.25) / (high - low)
            low = high
        self._density[key] = min(max(density, 1e-9), 1.0)
        return found
