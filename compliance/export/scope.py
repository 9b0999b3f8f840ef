"""Freezing a job's scope: the messages and conversations it exports, decided once when it
starts, so that a resumed run exports exactly what the first one would have.

A query runs as a compliance search (every version, deleted messages included) and
contributes each hit's message; chosen messages count as hits; chosen conversations
contribute every message written in them. The date range then keeps the messages written in
it. Each message's conversation joins the scope, so its membership records go along.

A scope of whole conversations (nothing but chosen conversations, a date range allowed) is
not written down record by record: the archive only grows, so its records up to the
checkpoint are fixed, and the steps read them from the archive (records.py).
"""

from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Field, Model, QuerySet

from archive import selectors as archive_selectors
from archive.conversation_scope import ConversationScope, conversation_scope_counts

from ..search.backends import search_backend
from ..search.query import parse_query
from ..search.results import Order, Scope
from .models import ExportConversation, ExportJob, ExportMessage, ExportRecord
from .options import ExportRequest

PAGE = 200
BATCH = 5000


def _query_message_ids(query: str) -> Iterator[int]:
    tree = parse_query(query)
    backend = search_backend()
    after = None
    while True:
        page = backend.search(
            tree,
            scope=Scope.everything(),
            order=Order.NEWEST,
            after=after,
            limit=PAGE,
            highlights=False,
        )
        for hit in page.hits:
            yield hit.document.message_id
        if page.next_after is None or not page.hits:
            return
        after = page.next_after


def by_conversation(request: ExportRequest) -> bool:
    """Whether the request's scope is whole conversations (a date range may apply): stable
    without a row per record, since the archive only grows."""
    return bool(request.conversation_ids) and not (
        request.query or request.message_ids or request.context
    )


def conversation_scope(*, job: ExportJob, request: ExportRequest) -> ConversationScope:
    """The job's scope of whole conversations, up to its checkpoint."""
    assert job.tree_size is not None
    since, until = _in_range(request)
    return ConversationScope(
        conversation_ids=tuple(request.conversation_ids),
        up_to_seq=job.tree_size,
        since=since,
        until=until,
        latest_only=request.versions == "latest",
    )


def _in_range(request: ExportRequest) -> tuple[datetime | None, datetime | None]:
    since = datetime.combine(request.since, time(), UTC) if request.since else None
    until = (
        datetime.combine(request.until + timedelta(days=1), time(), UTC) if request.until else None
    )
    return since, until


def _chunks(values: Iterable[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _concrete(model: type[Model], name: str) -> "Field[Any, Any]":
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def _insert_select(model: type[Model], constants: dict[str, Any], source: QuerySet[Any]) -> int:
    """INSERT INTO model (constants…, source's columns…) SELECT … FROM source, skipping rows
    already there: the scope is frozen by the database, never held in this process."""
    sql, params = source.query.sql_with_params()
    names = [*constants, *source.query.values_select]
    fields = {name: _concrete(model, name) for name in names}
    columns = ", ".join(connection.ops.quote_name(fields[n].column) for n in names)
    values = [fields[n].get_db_prep_value(value, connection) for n, value in constants.items()]
    marks = ", ".join(["%s"] * len(values))
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            # Names from the models' meta and the ORM's own SQL; values are parameters.
            f"INSERT INTO {table} ({columns}) SELECT {marks}, s.* FROM ({sql}) s "  # noqa: S608
            "WHERE 1 = 1 ON CONFLICT DO NOTHING",  # WHERE: SQLite's parser needs it there
            [*values, *params],
        )
        return int(cursor.rowcount)


def _hits_freeze(job: ExportJob, request: ExportRequest) -> None:
    """The chosen and found messages written in the date range, and every message of the
    chosen conversations written in it."""
    assert job.tree_size is not None
    since, until = _in_range(request)
    candidates = set(request.message_ids)
    if request.query:
        candidates.update(_query_message_ids(request.query))
    for chunk in _chunks(sorted(candidates), BATCH):
        kept = archive_selectors.message_conversations(
            message_ids=chunk, since=since, until=until, up_to_seq=job.tree_size
        )
        ExportMessage.objects.bulk_create(
            (ExportMessage(job=job, message_id=m) for m in sorted(kept)), ignore_conflicts=True
        )
    if request.conversation_ids:
        _insert_select(
            ExportMessage,
            {"job": job.pk, "context": False},
            archive_selectors.message_ids_written(
                conversation_ids=list(request.conversation_ids),
                up_to_seq=job.tree_size,
                since=since,
                until=until,
            ),
        )


def _records_freeze(job: ExportJob, request: ExportRequest) -> None:
    assert job.tree_size is not None
    conversations = ExportConversation.objects.filter(job=job).values("conversation_id")
    for context in (False, True):
        messages = ExportMessage.objects.filter(job=job, context=context).values("message_id")
        _insert_select(
            ExportRecord,
            {"job": job.pk, "context": context, "listed": True},
            archive_selectors.scope_record_seqs(
                message_ids=messages,
                conversation_ids=conversations if not context else [],
                up_to_seq=job.tree_size,
            ),
        )
    if request.versions == "latest":
        superseded = archive_selectors.superseded_version_seqs_of(
            message_ids=ExportMessage.objects.filter(job=job).values("message_id"),
            up_to_seq=job.tree_size,
        )
        ExportRecord.objects.filter(job=job, seq__in=superseded).update(listed=False)


class ScopeSize(NamedTuple):
    messages: int
    conversations: int
    #: The records, when counted with the messages (a scope of whole conversations).
    records: int | None = None


def scope_freeze(*, job: ExportJob, request: ExportRequest) -> ScopeSize:
    """Write the job's scope rows (replacing any from an earlier, interrupted attempt): its
    messages, their context, their conversations and every archive record exported; for a
    job `by_conversation`, only its conversations (the archive holds the rest, counted in
    one pass)."""
    assert job.tree_size is not None
    with transaction.atomic():
        ExportRecord.objects.filter(job=job).delete()
        ExportMessage.objects.filter(job=job).delete()
        ExportConversation.objects.filter(job=job).delete()
        if job.by_conversation:
            ExportConversation.objects.bulk_create(
                ExportConversation(job=job, conversation_id=c) for c in request.conversation_ids
            )
            records, messages = conversation_scope_counts(
                conversation_scope(job=job, request=request)
            )
            return ScopeSize(messages, len(request.conversation_ids), records)
        _hits_freeze(job, request)
        if request.context:
            context_freeze(job=job, context=request.context)
        ExportConversation.objects.bulk_create(
            ExportConversation(job=job, conversation_id=c) for c in request.conversation_ids
        )
        _insert_select(
            ExportConversation,
            {"job": job.pk},
            archive_selectors.conversations_of_messages(
                message_ids=ExportMessage.objects.filter(job=job).values("message_id"),
                up_to_seq=job.tree_size,
            ),
        )
        _records_freeze(job, request)
    messages = ExportMessage.objects.filter(job=job).count()
    return ScopeSize(messages, ExportConversation.objects.filter(job=job).count())


def context_freeze(*, job: ExportJob, context: dict[str, int]) -> None:
    """Add the messages around each hit (N before and after it in its conversation, or
    those written within M minutes of it) as context, conversation by conversation, walking
    each one's messages once with a bounded window."""
    assert job.tree_size is not None
    hits = ExportMessage.objects.filter(job=job, context=False)
    conversations = archive_selectors.conversations_of_messages(
        message_ids=hits.values("message_id"), up_to_seq=job.tree_size
    )
    for conversation_id in sorted(row["conversation_id"] for row in conversations):
        hit_ids = set(
            hits.filter(
                message_id__in=archive_selectors.message_ids_written(
                    conversation_ids=[conversation_id], up_to_seq=job.tree_size
                )
            ).values_list("message_id", flat=True)
        )
        line = archive_selectors.message_time_line(
            conversation_id=conversation_id, up_to_seq=job.tree_size
        )
        around = _around(line, hit_ids, context)
        for chunk in _chunks(around, BATCH):
            ExportMessage.objects.bulk_create(
                (ExportMessage(job=job, message_id=m, context=True) for m in chunk),
                ignore_conflicts=True,
            )


def _around(
    line: Iterable[tuple[int, datetime]], hits: set[int], context: dict[str, int]
) -> Iterator[int]:
    """The ids of the messages of `line` (in order) around a hit, hits excluded."""
    if "messages" in context:
        yield from _around_count(line, hits, context["messages"])
    else:
        yield from _around_time(line, hits, timedelta(minutes=context["minutes"]))


def _around_count(line: Iterable[tuple[int, datetime]], hits: set[int], n: int) -> Iterator[int]:
    before: deque[int] = deque(maxlen=n)
    after = 0
    for message_id, _ in line:
        if message_id in hits:
            yield from before
            before.clear()
            after = n
        elif after:
            yield message_id
            after -= 1
        else:
            before.append(message_id)


def _around_time(
    line: Iterable[tuple[int, datetime]], hits: set[int], window: timedelta
) -> Iterator[int]:
    before: deque[tuple[int, datetime]] = deque()
    until: datetime | None = None
    for message_id, moment in line:
        if message_id in hits:
            yield from (m for m, t in before if t >= moment - window)
            before.clear()
            until = moment + window
        elif until is not None and moment <= until:
            yield message_id
        else:
            before.append((message_id, moment))
            while before and before[0][1] < moment - window:
                before.popleft()
