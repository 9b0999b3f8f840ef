"""Signed audit checkpoints: a Merkle tree head over every audit event so far (the leaves are
the events' hashes), signed with the archive's Ed25519 key, chained to the previous audit
checkpoint and kept by the archive's witnesses under the ledger name `audit`.

Only the checkpoint task on the `signing` queue signs (audit.tasks): the writers of events
never wait for a signature or a witness. The task runs on the beat and signs when
EIM_AUDIT_CHECKPOINT_EVERY events await a checkpoint, or when the oldest of them has waited
EIM_AUDIT_CHECKPOINT_INTERVAL seconds. Order of writes as for the archive: the row commits
first, then each witness receives its copy; a witness that failed is given the checkpoints it
lacks by the next task.
"""

from collections.abc import Iterator
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ledger import signing
from ledger.checkpoints import SignedCheckpoint, tree_head_next
from ledger.witness import witness_checkpoints

from .models import AuditCheckpoint, AuditEvent, AuditHead

LEDGER = "audit"


def signed_audit_checkpoint(checkpoint: AuditCheckpoint) -> SignedCheckpoint:
    """The statement and signature a checkpoint row holds."""
    return SignedCheckpoint(
        ledger=LEDGER,
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash,
        head_hash=checkpoint.head_hash,
        signed_at=checkpoint.signed_at.isoformat(),
        key_id=checkpoint.key_id,
        signature=checkpoint.signature,
        prev_tree_size=checkpoint.prev_tree_size,
        prev_statement_hash=checkpoint.prev_statement_hash,
    )


def _hashes(first: int, last: int) -> Iterator[str]:
    return (
        AuditEvent.objects.filter(seq__gte=first, seq__lte=last)
        .order_by("seq")
        .values_list("hash", flat=True)
        .iterator(chunk_size=10000)
    )


def _sign_next() -> AuditCheckpoint | None:
    head = AuditHead.objects.filter(pk=1).first()
    last = AuditCheckpoint.objects.order_by("-tree_size").first()
    last_size = last.tree_size if last else 0
    if head is None or head.last_seq <= last_size:
        return None
    tree = tree_head_next(
        last=signed_audit_checkpoint(last) if last else None,
        last_frontier=last.frontier if last else None,
        entry_hashes=_hashes(last_size + 1, head.last_seq),
        head_size=head.last_seq,
    )
    if tree.head_hash != head.last_hash:
        raise RuntimeError("the audit trail does not end where its head says; run audit_verify")
    checkpoint = AuditCheckpoint(
        tree_size=tree.tree_size,
        root_hash=tree.root_hash,
        head_hash=tree.head_hash,
        signed_at=timezone.now(),
        key_id=signing.key_id(),
        frontier=tree.frontier,
        prev_tree_size=tree.prev_tree_size,
        prev_statement_hash=tree.prev_statement_hash,
    )
    checkpoint.signature = signing.sign(signed_audit_checkpoint(checkpoint).statement())
    checkpoint.save()
    return checkpoint


def audit_checkpoint_create() -> AuditCheckpoint | None:
    """Sign the tree head over all audit events so far (None if there is no new event), then
    give every witness the audit checkpoints it lacks."""
    with transaction.atomic():
        signing.lock_signing()
        checkpoint = _sign_next()
    audit_checkpoint_witness()
    return checkpoint


def _newest_first() -> Iterator[tuple[int, bytes]]:
    for checkpoint in AuditCheckpoint.objects.order_by("-tree_size").iterator(chunk_size=100):
        yield checkpoint.tree_size, signed_audit_checkpoint(checkpoint).to_file()


def audit_checkpoint_witness() -> list[str]:
    """Give each witness the audit checkpoints it lacks; returns the failures (also logged)."""
    return witness_checkpoints(LEDGER, _newest_first)


def audit_checkpoint_due(*, every: int, interval: timedelta) -> bool:
    """`every` events await a checkpoint, or the oldest of them has waited `interval`."""
    head = AuditHead.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0
    last = (
        AuditCheckpoint.objects.order_by("-tree_size").values_list("tree_size", flat=True).first()
        or 0
    )
    if head <= last:
        return False
    if head - last >= every:
        return True
    oldest = AuditEvent.objects.filter(seq=last + 1).values_list("created_at", flat=True).first()
    return oldest is None or oldest <= timezone.now() - interval
