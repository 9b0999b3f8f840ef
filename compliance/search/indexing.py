"""Indexing: the pipeline stage after the archive. It reads archive records, never live rows.

    archive batch commits ─▶ after_archive hook ─▶ task compliance.index_records
                                                     └▶ index_pending(): (state, head] in batches
    beat compliance.index_sweep ─▶ index_pending()  (whatever a lost task left behind)

    a review change commits (SearchRewrite rows) ─▶ on commit: search_rewrites_run()
    beat compliance.search_rewrite_sweep ─▶ search_rewrites_sweep()  (rewrites a lost one left)

`SearchIndexState.last_seq` says how far the index has got. `index_pending` locks that row,
so concurrent workers serialise; each batch rebuilds the documents of every message it
touches from the message's whole archived history and upserts them by archive_seq, so
running a batch twice, or a task after the sweeper already did its work, changes nothing.
A join that gives the joiner the channel's history also rebuilds every message written
before it in that channel, in chunks, with the joiner in their audience.
"""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from archive.exposure import membership_periods
from archive.selectors import (
    ArchivedEvent,
    archive_head_seq,
    archived_at_of,
    archived_events,
    conversation_message_ids,
    conversation_names,
    member_usernames,
    membership_events,
    message_histories,
)

from ..models import SearchIndexState, SearchRewrite
from ..review.selectors import review_facts
from .backends import SearchBackend, search_backend
from .documents import (
    IndexBatch,
    history_grants,
    message_documents,
    touched_message_ids,
)

WIDEN_CHUNK = 2000  # messages rebuilt at a time after a join: bounded memory on any channel


def _batch(
    histories: dict[int, list[ArchivedEvent]], *, renamed: set[int] | None = None
) -> IndexBatch:
    """The documents of these messages (and the new names of renamed conversations)."""
    renamed = renamed or set()
    conversation_ids = {e.conversation_id for h in histories.values() for e in h}
    names = conversation_names(conversation_ids=conversation_ids | renamed)
    usernames = member_usernames(conversation_ids=conversation_ids)
    periods = {
        cid: membership_periods(records)
        for cid, records in membership_events(conversation_ids=conversation_ids).items()
    }
    facts = review_facts(message_ids=histories)
    documents = [
        document
        for message_id, history in histories.items()
        for document in message_documents(
            history,
            conversation_name=names[history[0].conversation_id],
            usernames=usernames,
            periods=periods.get(history[0].conversation_id, ()),
            review=facts.get(message_id),
        )
    ]
    documents.sort(key=lambda d: d.archive_seq)
    return IndexBatch(documents=documents, renamed={c: names[c] for c in renamed})


def index_batch_for(*, first_seq: int, last_seq: int) -> tuple[IndexBatch, int]:
    """The documents and renames that archive records first_seq..last_seq call for."""
    events = archived_events(first_seq=first_seq, last_seq=last_seq)
    renamed = {e.conversation_id for e in events if e.type == "conversation.updated"}
    histories = message_histories(message_ids=touched_message_ids(events))
    return _batch(histories, renamed=renamed), len(events)


def widened_batches(*, first_seq: int, last_seq: int) -> Iterator[IndexBatch]:
    """For each join among records first_seq..last_seq that gave the joiner the history, the
    documents of every message written before it in that conversation, now with the joiner
    in their audience (docs/search.md, "Who could see it"), WIDEN_CHUNK messages at a time."""
    for join in history_grants(archived_events(first_seq=first_seq, last_seq=last_seq)):
        message_ids = conversation_message_ids(
            conversation_id=join.conversation_id, before_seq=join.seq
        )
        for start in range(0, len(message_ids), WIDEN_CHUNK):
            chunk = message_ids[start : start + WIDEN_CHUNK]
            yield _batch(message_histories(message_ids=chunk))


def index_range(
    *, first_seq: int, last_seq: int, backend: SearchBackend, joins_widen: bool = True
) -> int:
    """Index archive records first_seq..last_seq (inclusive); returns how many were read.

    Each document's audience is built from every membership record archived so far, so a
    rebuild, which writes every message anyway, passes `joins_widen=False`: rewriting a
    channel's earlier messages at each of its joins would write them again for nothing.
    """
    batch, count = index_batch_for(first_seq=first_seq, last_seq=last_seq)
    backend.index_records(batch)
    if joins_widen:
        for widened in widened_batches(first_seq=first_seq, last_seq=last_seq):
            backend.index_records(widened)
    return count


def _locked_state() -> SearchIndexState:
    SearchIndexState.objects.bulk_create([SearchIndexState(pk=1)], ignore_conflicts=True)
    return SearchIndexState.objects.select_for_update().get(pk=1)


def index_pending(*, backend: SearchBackend | None = None, max_batches: int = 20) -> int:
    """Index archived records above the index state, a batch per transaction; how many."""
    backend = backend or search_backend()
    backend.ensure_ready()
    total = 0
    for _ in range(max_batches):
        with transaction.atomic():
            state = _locked_state()
            head = archive_head_seq()
            if state.last_seq >= head:
                break
            last = min(head, state.last_seq + settings.EIM_SEARCH_INDEX_BATCH)
            total += index_range(first_seq=state.last_seq + 1, last_seq=last, backend=backend)
            state.last_seq = last
            state.save(update_fields=["last_seq", "updated_at"])
    return total


def index_messages(*, message_ids: list[int], backend: SearchBackend | None = None) -> int:
    """Rewrite the documents of these messages (their flags or review changed); how many.

    Under the index-state lock, so it runs after (or before) a batch of the indexing stage,
    never interleaved with one that read the older flags. A message not archived yet has
    no documents to write; the stage writes them with the flags when it gets there.
    """
    if not message_ids:
        return 0
    backend = backend or search_backend()
    with transaction.atomic():
        _locked_state()
        batch = _batch(message_histories(message_ids=message_ids))
        backend.index_records(batch)
    return len(batch.documents)


def index_messages_after_commit(message_ids: list[int]) -> None:
    """The review hook, in the change's transaction: note that these messages' documents
    must be rewritten (a SearchRewrite row each, committed with the change) and rewrite them
    once it commits. If that rewrite is lost (the process dies, the backend is down), the
    rows stay and `search_rewrites_sweep` rewrites them."""
    rows = SearchRewrite.objects.bulk_create([SearchRewrite(message_id=i) for i in message_ids])
    pks = [row.pk for row in rows]
    transaction.on_commit(lambda: search_rewrites_run(pks=pks), robust=True)


def search_rewrites_run(
    *, pks: list[int] | None = None, before: datetime | None = None, limit: int = 2000
) -> int:
    """Rewrite the documents the SearchRewrite rows `pks` (or those requested before
    `before`) ask for, then delete those rows; how many messages. Idempotent: a document is
    rebuilt from the archive and the review facts as they are now.

    Under the index-state lock, like a batch of the indexing stage. The rows are read before
    the review facts, so every row deleted here was committed before the facts were read: a
    change committed meanwhile keeps its own row for the next run."""
    backend = search_backend()
    with transaction.atomic():
        _locked_state()
        rows = SearchRewrite.objects.order_by("pk")
        if pks is not None:
            rows = rows.filter(pk__in=pks)
        if before is not None:
            rows = rows.filter(requested_at__lt=before)
        found = list(rows.values_list("pk", "message_id")[:limit])
        if not found:
            return 0
        message_ids = sorted({message_id for _, message_id in found})
        backend.index_records(_batch(message_histories(message_ids=message_ids)))
        SearchRewrite.objects.filter(pk__in=[pk for pk, _ in found]).delete()
    return len(message_ids)


def search_rewrites_sweep() -> int:
    """Beat: rewrite what a lost rewrite left behind (rows older than
    EIM_SEARCH_REWRITE_GRACE_SECONDS, so a rewrite on its way is not done twice)."""
    before = timezone.now() - timedelta(seconds=settings.EIM_SEARCH_REWRITE_GRACE_SECONDS)
    total = 0
    while done := search_rewrites_run(before=before):
        total += done
    return total


def index_rebuild(
    *, backend: SearchBackend | None = None, progress: Callable[[int], object] | None = None
) -> int:
    """Rebuild the whole index from the archive; readers see the old index until the end.

    Holds the index-state lock throughout, so live indexing waits and then carries on from
    the archive head the rebuild reached (nothing written to the old index is lost).
    """
    backend = backend or search_backend()
    backend.ensure_ready()
    with transaction.atomic():
        state = _locked_state()
        head = archive_head_seq()
        writer = backend.rebuild_start()
        size = settings.EIM_SEARCH_INDEX_BATCH
        for first in range(1, head + 1, size):
            last = min(head, first + size - 1)
            index_range(first_seq=first, last_seq=last, backend=writer, joins_widen=False)
            if progress:
                progress(last - first + 1)
        backend.rebuild_finish(writer)
        state.last_seq = head
        state.save(update_fields=["last_seq", "updated_at"])
    return head


def index_status() -> dict[str, Any]:
    """For /healthz: how far the index has got and how far behind the archive it is."""
    state = SearchIndexState.objects.filter(pk=1).first()
    indexed = state.last_seq if state else 0
    head = archive_head_seq()
    oldest = archived_at_of(seq=indexed + 1) if head > indexed else None
    return {
        "backend": search_backend().name,
        "indexed_seq": indexed,
        "archive_seq": head,
        "lag_records": head - indexed,
        "oldest_unindexed_seconds": (
            round((timezone.now() - oldest).total_seconds(), 1) if oldest else None
        ),
    }
