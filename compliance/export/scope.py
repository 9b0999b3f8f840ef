"""Freezing a job's scope: the messages and conversations it exports, decided once when it
starts, so that a resumed run exports exactly what the first one would have.

A query runs as a compliance search (every version, deleted messages included) and
contributes each hit's message; chosen messages count as hits; chosen conversations
contribute every message written in them. The date range then keeps the messages written in
it. Each message's conversation joins the scope, so its membership records go along.
"""

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, time, timedelta

from django.db import transaction

from archive import selectors as archive_selectors

from ..search.backends import search_backend
from ..search.query import parse_query
from ..search.results import Order, Scope
from .models import ExportConversation, ExportJob, ExportMessage
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


def _candidate_ids(request: ExportRequest, *, tree_size: int) -> set[int]:
    ids = set(request.message_ids)
    if request.query:
        ids.update(_query_message_ids(request.query))
    if request.conversation_ids:
        ids.update(
            archive_selectors.messages_in_conversations(
                conversation_ids=request.conversation_ids, up_to_seq=tree_size
            )
        )
    return ids


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


def scope_freeze(*, job: ExportJob, request: ExportRequest) -> tuple[int, int]:
    """Write the job's scope rows (replacing any from an earlier, interrupted attempt);
    returns (messages, conversations)."""
    assert job.tree_size is not None
    ids = sorted(_candidate_ids(request, tree_size=job.tree_size))
    since, until = _in_range(request)
    conversations: set[int] = set(request.conversation_ids)
    messages = 0
    with transaction.atomic():
        ExportMessage.objects.filter(job=job).delete()
        ExportConversation.objects.filter(job=job).delete()
        for chunk in _chunks(ids, BATCH):
            kept = archive_selectors.message_conversations(
                message_ids=chunk, since=since, until=until, up_to_seq=job.tree_size
            )
            ExportMessage.objects.bulk_create(
                ExportMessage(job=job, message_id=m) for m in sorted(kept)
            )
            conversations.update(kept.values())
            messages += len(kept)
        ExportConversation.objects.bulk_create(
            ExportConversation(job=job, conversation_id=c) for c in sorted(conversations)
        )
    return messages, len(conversations)


def scope_subqueries(job: ExportJob) -> tuple[object, object]:
    """The job's message ids and conversation ids, as subqueries for the archive's reads."""
    return (
        ExportMessage.objects.filter(job=job).values("message_id"),
        ExportConversation.objects.filter(job=job).values("conversation_id"),
    )
