"""The immutable record. Records, blobs and checkpoints are append-only: database triggers
refuse UPDATE, DELETE and TRUNCATE (migration 0002), and the models refuse save-over and delete.
"""

from typing import Any

from django.db import models

GENESIS_HASH = "0" * 64
#: The kinds of record that follow a message's creation (archive_record_later).
LATER_EVENT_TYPES = (
    "message.edited",
    "message.deleted",
    "attachment.added",
    "reaction.added",
    "reaction.removed",
)


class AppendOnlyError(Exception):
    """An attempt to change or remove an archive row."""


class AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows are never deleted")


class ArchiveHead(models.Model):
    """The single counter row: the last sequence number and hash. Locked while archiving."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"archive head {self.last_seq}"


class ArchiveRecord(AppendOnlyModel):
    """One archived event. `canonical` is the exact byte string that was hashed."""

    seq = models.BigIntegerField(primary_key=True)
    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=32)
    conversation_id = models.BigIntegerField()
    message_id = models.BigIntegerField(null=True, db_index=True)
    # The record of the message's creation, for edits, deletes, reactions and attachments.
    original_seq = models.BigIntegerField(null=True)
    actor_id = models.BigIntegerField(null=True)
    occurred_at = models.DateTimeField()
    archived_at = models.DateTimeField()
    canonical = models.TextField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [
            # A conversation's records of one kind (its joins, its renames, its messages),
            # without reading the rest of a busy conversation's history: the search indexer
            # asks for these on every batch.
            models.Index(
                fields=["conversation_id", "event_type", "seq"], name="archive_record_conv_type"
            ),
            # A message's records after its creation (edits, deletion, attachments,
            # reactions), for the exports that write each message with its history: a few
            # rows among the creations, so a step's 2,000 messages are 2,000 probes of a
            # small index (1 ms) rather than a scan of the conv_type index (300 ms at 1M).
            models.Index(
                fields=["message_id", "seq"],
                name="archive_record_later",
                condition=models.Q(event_type__in=LATER_EVENT_TYPES),
            ),
        ]

    def __str__(self) -> str:
        return f"archive #{self.seq} {self.event_type}"


class ArchiveBlob(AppendOnlyModel):
    """An attachment's bytes, stored once under their SHA-256."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=127)
    stored_at = models.DateTimeField()
    first_seq = models.BigIntegerField()
    # Set when the blob store keeps a WORM copy (S3 Object Lock, compliance mode).
    locked_until = models.DateTimeField(null=True)
    version_id = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.sha256


class Checkpoint(AppendOnlyModel):
    """A signed Merkle tree head (RFC 6962 style) over records 1..tree_size."""

    tree_size = models.BigIntegerField(primary_key=True)
    root_hash = models.CharField(max_length=64)
    head_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)
    # Roots of the perfect subtrees covering 1..tree_size, so the next head starts from here.
    frontier = models.JSONField()
    # The statement's version: null for v1 (before checkpoints chained), else 2. From v2 on the
    # statement names the previous checkpoint's size and the SHA-256 of its statement.
    # Nullable so that adding them rewrites no row (the triggers refuse UPDATE).
    version = models.PositiveSmallIntegerField(null=True)
    prev_tree_size = models.BigIntegerField(null=True)
    prev_statement_hash = models.CharField(max_length=64, null=True)  # noqa: DJ001

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size}"


class ArchiveBlockRoot(AppendOnlyModel):
    """The Merkle root of a complete block of records (`first_seq`..`last_seq`, a power of two
    of them, aligned): the archive only grows, so it never changes. An export's prover keeps
    them instead of hashing the whole archive each time, and trusts none: every root it uses
    is folded into the signed checkpoint's root, and every block it reads hashed to its root
    again (archive/proofs.py)."""

    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    root_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["first_seq", "last_seq"], name="archive_block_once"),
        ]

    def __str__(self) -> str:
        return f"block {self.first_seq}..{self.last_seq}"


class VerificationRun(AppendOnlyModel):
    """One run of archive_verify, append-only and chained: `hash` covers the run's content and
    the previous run's hash. A record of what was checked, never a starting point."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    incremental = models.BooleanField()
    from_seq = models.BigIntegerField()
    verified_tree_size = models.BigIntegerField()
    problem_count = models.IntegerField()
    prev_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"verification to {self.verified_tree_size}: {self.problem_count} problems"


class VerificationStep(AppendOnlyModel):
    """One committed step of a full verification in steps: the records up to a witnessed
    checkpoint, and the problems found in them. After a crash the run resumes from the last
    step, at a checkpoint it verifies against the witness again (not at the row's word)."""

    run_key = models.UUIDField()
    step = models.IntegerField()
    from_seq = models.BigIntegerField()
    to_seq = models.BigIntegerField()
    records = models.BigIntegerField()
    checkpoints = models.IntegerField()
    problems = models.JSONField()
    final = models.BooleanField()
    committed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run_key", "step"], name="archive_step_once"),
        ]

    def __str__(self) -> str:
        return f"verification {self.run_key} step {self.step} to {self.to_seq}"
