"""Archiving outbox events: one record per event, exactly once, chained, in one transaction.

The archive head row is locked for the whole batch, so concurrent workers serialise and the
sequence stays gapless; an event is archived in the same transaction that marks it archived,
so a crash, a redelivered task or two competing workers can neither skip nor repeat one.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from eim.chat import selectors as chat_selectors
from eim.chat.models import ConversationEvent
from eim.chat.services.events import events_mark_archived
from ledger.canonical import canonical_json, chain_hash

from ..blobs import BlobIntegrityError, blob_store
from ..models import ArchiveBlob, ArchiveHead, ArchiveRecord

logger = logging.getLogger(__name__)

MESSAGE_EVENT_TYPES = {
    "message.edited",
    "message.deleted",
    "reaction.added",
    "reaction.removed",
    "attachment.added",
}

# Later pipeline stages (scanning, indexing) register here; they get (first seq, last seq).
_after_archive_hooks: list[Callable[[int, int], None]] = []


def after_archive(hook: Callable[[int, int], None]) -> None:
    _after_archive_hooks.append(hook)


def _message_id(event: ConversationEvent) -> int | None:
    payload = event.payload
    if isinstance(payload.get("message"), dict):
        return int(payload["message"]["id"])
    if "message_id" in payload:
        return int(payload["message_id"])
    return None


def record_content(
    *,
    seq: int,
    event: ConversationEvent,
    archived_at: datetime,
    message_id: int | None,
    original_seq: int | None,
) -> dict[str, Any]:
    """Everything a record says, as hashed: the event as it was, and who could see it."""
    return {
        "seq": seq,
        "event_id": str(event.event_id),
        "type": event.type,
        "conversation": event.conversation_id,
        "conversation_seq": event.seq,
        "actor": event.actor_id,
        "occurred_at": event.occurred_at.isoformat(),
        "archived_at": archived_at.isoformat(),
        "audience": event.audience,
        "message_id": message_id,
        "original_seq": original_seq,
        "payload": event.payload,
    }


def _original_seqs(events: list[ConversationEvent]) -> dict[int, int]:
    wanted = {mid for e in events if e.type in MESSAGE_EVENT_TYPES if (mid := _message_id(e))}
    rows = ArchiveRecord.objects.filter(message_id__in=wanted, event_type="message.new")
    return {int(mid): seq for mid, seq in rows.values_list("message_id", "seq") if mid}


def _store_blob(event: ConversationEvent, seq: int, stored_at: datetime) -> None:
    attachment = event.payload["attachment"]
    sha256 = attachment["sha256"]
    if ArchiveBlob.objects.filter(sha256=sha256).exists():
        return
    try:
        with chat_selectors.attachment_file_by_id(attachment_id=attachment["id"]) as stream:
            stored = blob_store().put(sha256, stream)
    except (FileNotFoundError, BlobIntegrityError) as exc:
        # The live file is gone or no longer matches its hash. Holding back every later event
        # would not bring it back: archive the record (it names the hash) and leave the blob
        # missing, which archive_verify reports. A store outage (other errors) is retried.
        logger.error("archive record %s: attachment blob %s not stored: %s", seq, sha256, exc)
        return
    ArchiveBlob(
        sha256=sha256,
        size=stored.size,
        content_type=attachment["content_type"],
        stored_at=stored_at,
        first_seq=seq,
        locked_until=stored.locked_until,
        version_id=stored.version_id,
    ).save()


@transaction.atomic
def archive_batch(*, limit: int | None = None) -> int:
    """Archive up to `limit` pending events in outbox order; returns how many."""
    ArchiveHead.objects.bulk_create([ArchiveHead(pk=1)], ignore_conflicts=True)
    head = ArchiveHead.objects.select_for_update().get(pk=1)
    events = chat_selectors.events_pending_archive(limit=limit or settings.EIM_ARCHIVE_BATCH)
    if not events:
        return 0
    archived_at = timezone.now()
    originals = _original_seqs(events)
    records: list[ArchiveRecord] = []
    seq, prev_hash = head.last_seq, head.last_hash
    for event in events:
        seq += 1
        message_id = _message_id(event)
        if event.type == "message.new" and message_id is not None:
            originals[message_id] = seq
        original_seq = (
            originals.get(message_id)
            if message_id is not None and event.type in MESSAGE_EVENT_TYPES
            else None
        )
        if event.type == "attachment.added":
            _store_blob(event, seq, archived_at)
        canonical = canonical_json(
            record_content(
                seq=seq,
                event=event,
                archived_at=archived_at,
                message_id=message_id,
                original_seq=original_seq,
            )
        )
        record_hash = chain_hash(prev_hash, canonical)
        records.append(
            ArchiveRecord(
                seq=seq,
                event_id=event.event_id,
                event_type=event.type,
                conversation_id=event.conversation_id,
                message_id=message_id,
                original_seq=original_seq,
                actor_id=event.actor_id,
                occurred_at=event.occurred_at,
                archived_at=archived_at,
                canonical=canonical,
                prev_hash=prev_hash,
                hash=record_hash,
            )
        )
        prev_hash = record_hash
    ArchiveRecord.objects.bulk_create(records)
    events_mark_archived(archived=[(e.pk, r.seq) for e, r in zip(events, records, strict=True)])
    first = head.last_seq + 1
    head.last_seq, head.last_hash = seq, prev_hash
    head.save(update_fields=["last_seq", "last_hash"])
    for hook in _after_archive_hooks:
        transaction.on_commit(lambda hook=hook: hook(first, seq), robust=True)  # type: ignore[misc]
    return len(records)


def archive_pending(*, max_batches: int = 50) -> int:
    """Drain the outbox in batches (bounded, so one task never runs for ever)."""
    total = 0
    for _ in range(max_batches):
        archived = archive_batch()
        total += archived
        if archived < settings.EIM_ARCHIVE_BATCH:
            break
    return total
