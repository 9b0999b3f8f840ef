"""Scanning: the pipeline stage after the archive. It reads archive records, never live rows.

    archive batch commits ─▶ after_archive hook ─▶ task compliance.scan_records
                                                     └▶ scan_pending(): (state, head] in batches
    beat compliance.scan_sweep ─▶ scan_pending()  (whatever a lost task left behind)

`ScanState.last_seq` says how far scanning has got. Before each batch, the attachments it
holds are extracted with no transaction open (`attachment_texts_prepare`: seconds each, in a
reused limited child process) and their texts stored. Then `scan_pending` locks that row, so
concurrent workers serialise; a batch's flags, its review items (the `after_flags` hooks)
and the moved state commit together, so a killed worker leaves either all of a batch or
none of it, and a redelivered task finds nothing left to do: every record is scanned once.

Every version of a message is scanned (an edit is a new record), and so is a blocked
attempt. Each policy version that finds something in a record writes one flag naming it.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.selectors import group_ids_of_users
from archive.selectors import (
    ATTACHMENT_ADDED,
    ArchivedEvent,
    archive_head_seq,
    archived_at_of,
    archived_events,
    conversation_kinds,
)

from .attachments import attachment_flags, attachment_texts, attachment_texts_prepare
from .cache import policy_set
from .compiled import PolicySet
from .models import AttachmentText, Flag, FlagSource, ScanState
from .policies import PolicyHit

_after_flags_hooks: list[Callable[[list[Flag]], object]] = []


def after_flags(hook: Callable[[list[Flag]], object]) -> None:
    """Called in the scanning transaction with the flags it wrote (the review queue)."""
    if hook not in _after_flags_hooks:
        _after_flags_hooks.append(hook)


def record_text(event: ArchivedEvent) -> tuple[str, FlagSource] | None:
    """The text a record carries to be scanned, and where it comes from."""
    if event.type in ("message.new", "message.edited"):
        return str(event.message.get("body") or ""), FlagSource.MESSAGE
    if event.type == "message.blocked":
        attempt = event.payload.get("attempt") or {}
        return str(attempt.get("body") or ""), FlagSource.BLOCKED
    return None


def record_message_id(event: ArchivedEvent) -> int | None:
    if event.type == "message.blocked":
        return None  # an attempt is not a message (an edit's target is in the payload)
    return event.message_id


class ScopeContext:
    """Who wrote a record and where: what a policy's scope is checked against."""

    def __init__(self, events: list[ArchivedEvent]) -> None:
        self.kinds = conversation_kinds(conversation_ids={e.conversation_id for e in events})
        self._groups: dict[int, frozenset[int]] | None = None
        self._authors = {e.actor_id for e in events if e.actor_id is not None}

    def groups(self, user_id: int | None) -> frozenset[int]:
        """The ids of the author's groups (accounts.Group), read once per batch."""
        if self._groups is None:
            self._groups = group_ids_of_users(user_ids=self._authors)
        return self._groups.get(user_id or 0, frozenset())


def _flag(event: ArchivedEvent, source: FlagSource, **fields: Any) -> Flag:
    return Flag(
        archive_seq=event.seq,
        message_id=record_message_id(event)
        if source != FlagSource.ATTACHMENT
        else event.message_id,
        conversation_id=event.conversation_id,
        author_id=event.actor_id,
        occurred_at=event.occurred_at,
        source=source,
        **fields,
    )


def flags_for_hits(
    event: ArchivedEvent,
    found: dict[int, list[PolicyHit]],
    source: FlagSource,
    policies: PolicySet,
    context: ScopeContext,
) -> list[Flag]:
    """One flag per policy that found something and whose scope takes the record in."""
    flags = []
    for index, hits in found.items():
        spec = policies.specs[index]
        if spec.applies(
            author_id=event.actor_id,
            groups=context.groups(event.actor_id) if spec.scope_needs_author_groups else (),
            conversation_id=event.conversation_id,
            kind=context.kinds.get(event.conversation_id, ""),
        ):
            hits_json = [h.as_json() for h in hits]
            flags.append(_flag(event, source, policy_version_id=spec.version_id, hits=hits_json))
    return flags


def scan_events(
    events: Iterable[ArchivedEvent],
    policies: PolicySet,
    texts: Mapping[int, AttachmentText] | None = None,
) -> list[Flag]:
    """The flags these records raise (nothing written). Their texts are scanned together
    (`PolicySet.scan_many`: one Hyperscan call for the lot), each as if alone; attachments'
    texts come from `texts` (archive seq -> stored extraction)."""
    events = list(events)
    texts = texts or {}
    context = ScopeContext(events)
    # In record order: a text to scan (event, text, source), or a flag already decided.
    parts: list[tuple[ArchivedEvent, str, FlagSource] | Flag] = []
    for event in events:
        found = record_text(event)
        if found is not None:
            parts.append((event, *found))
        elif event.type == "attachment.added":
            for text, unscannable in attachment_flags(event, texts):
                if unscannable:
                    parts.append(_flag(event, FlagSource.ATTACHMENT, unscannable=unscannable))
                else:
                    parts.append((event, text, FlagSource.ATTACHMENT))
    to_scan = [part for part in parts if not isinstance(part, Flag)]
    results = iter(policies.scan_many([text for _, text, _ in to_scan]))
    flags: list[Flag] = []
    for part in parts:
        if isinstance(part, Flag):
            flags.append(part)
        else:
            event, _, source = part
            flags += flags_for_hits(event, next(results), source, policies, context)
    return flags


def scan_range(
    *, events: list[ArchivedEvent], policies: PolicySet, texts: Mapping[int, AttachmentText]
) -> int:
    """Write the flags of these records (and their review items); how many records."""
    flags = Flag.objects.bulk_create(scan_events(events, policies, texts))
    for hook in _after_flags_hooks:
        hook(flags)
    return len(events)


def _locked_state() -> ScanState:
    ScanState.objects.bulk_create([ScanState(pk=1)], ignore_conflicts=True)
    return ScanState.objects.select_for_update().get(pk=1)


def _scanned_seq() -> int:
    return int(ScanState.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0)


def scan_pending(*, max_batches: int = 20, batch: int | None = None) -> int:
    """Scan archived records above the scan state, a batch per transaction; how many."""
    size = batch or settings.EIM_SCAN_BATCH
    total = 0
    for _ in range(max_batches):
        scanned = _scan_next(size)
        if scanned is None:
            break
        total += scanned
    return total


def _scan_next(size: int) -> int | None:
    """Scan the next batch; None when there is nothing left. Attachments are extracted
    first, with no transaction open; the batch stops before one whose text is not stored
    yet (archived meanwhile), which the next call extracts."""
    first = _scanned_seq() + 1
    last = min(archive_head_seq(), first - 1 + size)
    if last < first:
        return None
    attachment_texts_prepare(first_seq=first, last_seq=last)
    with transaction.atomic():
        state = _locked_state()
        head = archive_head_seq()
        if state.last_seq >= head:
            return None
        last = min(head, state.last_seq + size)
        events = archived_events(first_seq=state.last_seq + 1, last_seq=last)
        attached = [e.seq for e in events if e.type == ATTACHMENT_ADDED]
        texts = attachment_texts(seqs=attached)
        missing = [seq for seq in attached if seq not in texts]
        if missing:
            last = missing[0] - 1
            events = [e for e in events if e.seq <= last]
            if not events:
                return 0
        policies = policy_set(fresh=True)
        scanned = scan_range(events=events, policies=policies, texts=texts)
        AttachmentText.objects.filter(archive_seq__lte=last).delete()  # read: not needed
        state.last_seq = last
        state.save(update_fields=["last_seq", "updated_at"])
        return scanned


def scan_status() -> dict[str, Any]:
    """For /healthz: how far scanning has got and how far behind the archive it is."""
    state = ScanState.objects.filter(pk=1).first()
    scanned = state.last_seq if state else 0
    head = archive_head_seq()
    oldest = archived_at_of(seq=scanned + 1) if head > scanned else None
    return {
        "scanned_seq": scanned,
        "archive_seq": head,
        "lag_records": head - scanned,
        "oldest_unscanned_seconds": (
            round((timezone.now() - oldest).total_seconds(), 1) if oldest else None
        ),
    }
