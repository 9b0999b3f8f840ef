"""The records of a job's scope, in seq order, as its steps read them: from the rows frozen
when the job started (ExportRecord), or, for a scope of whole conversations, straight from
the archive by conversation and seq (archive.conversation_scope). Both give the same records
with the same marks, so a job's files do not depend on which one reads them."""

from typing import Any, Protocol

from django.db.models import QuerySet

from archive.conversation_scope import ConversationScopeReader, conversation_scope_count
from archive.models import ArchiveRecord
from archive.proofs import ProofError
from archive.selectors import RecordRow, flat_values, records_at
from ledger.canonical import chain_hash

from .lines import CopiedRecord, archive_table, copied_records
from .models import ExportJob, ExportRecord
from .options import export_request_from_job
from .scope import conversation_scope

#: A record of the scope with its marks: (row, context, listed).
MarkedRow = tuple[RecordRow, bool, bool]


def content_check(*, seq: int, prev_hash: str, canonical: bytes, hash_: str) -> None:
    """Raise ProofError unless the record's stored text hashes, chained to the one before it,
    to its stored hash. The proofs prove the hash; this proves that what a format writes from
    the text (a CSV row, an EML, a transcript) is what that hash covers: a text rewritten in
    the database with its hash left alone (a superuser's UPDATE) stops the export."""
    if chain_hash(prev_hash, canonical) != hash_:
        raise ProofError(
            f"record {seq}'s content no longer hashes to its hash: the archive was altered "
            "after it was written; run archive_verify"
        )


def _checked(rows: list[MarkedRow]) -> list[MarkedRow]:
    for row, _, _ in rows:
        content_check(seq=row.seq, prev_hash=row.prev_hash, canonical=row.canonical, hash_=row.hash)
    return rows


class JobRecords(Protocol):
    def total(self) -> int:
        """How many records the scope holds (listed or not)."""
        ...

    def seqs_after(self, *, after_seq: int, limit: int) -> list[int]:
        """The seqs of the next `limit` records after `after_seq`."""
        ...

    def records_after(
        self, *, after_seq: int, limit: int, conversation_id: int | None = None
    ) -> list[MarkedRow]:
        """The next `limit` records after `after_seq` (of one conversation if given)."""
        ...

    def lines_after(self, *, after_seq: int, limit: int) -> list[CopiedRecord] | None:
        """The next `limit` records after `after_seq` with their JSON Lines written by
        PostgreSQL (lines.py); None when they must be read the usual way."""
        ...


class FrozenRecords:
    """A scope frozen as rows: keyset reads of the job's ExportRecord, then those records by
    a primary-key range filtered by that keyset."""

    def __init__(self, job: ExportJob) -> None:
        self.job = job

    def total(self) -> int:
        return ExportRecord.objects.filter(job=self.job).count()

    def seqs_after(self, *, after_seq: int, limit: int) -> list[int]:
        frozen = ExportRecord.objects.filter(job=self.job, seq__gt=after_seq).order_by("seq")
        return flat_values(frozen.values_list("seq", flat=True)[:limit])

    def records_after(
        self, *, after_seq: int, limit: int, conversation_id: int | None = None
    ) -> list[MarkedRow]:
        frozen = ExportRecord.objects.filter(job=self.job, seq__gt=after_seq)
        if conversation_id is not None:
            frozen = frozen.filter(conversation_id=conversation_id)
        keyset = frozen.order_by("seq").values_list("seq", "context", "listed")[:limit]
        marks = {seq: (context, listed) for seq, context, listed in keyset}
        if not marks:
            return []
        first, last = min(marks), max(marks)
        rows = records_at(seqs=frozen.filter(seq__lte=last).values("seq"), first=first, last=last)
        return _checked([(row, *marks[row.seq]) for row in rows])

    def lines_after(self, *, after_seq: int, limit: int) -> list[CopiedRecord] | None:
        """The keyset of `records_after` joined to the archive's records in one statement."""
        frozen = ExportRecord.objects.filter(job=self.job, seq__gt=after_seq).order_by("seq")
        keyset, params = frozen.values("seq", "context", "listed")[:limit].query.sql_with_params()
        return copied_records(
            source=f"({keyset}) AS k JOIN {archive_table()} AS r ON r.seq = k.seq",
            params=params,
            listed="k.listed",
            context="k.context",
        )


class ConversationRecords:
    """A scope of whole conversations, read from the archive: no record is context."""

    def __init__(self, job: ExportJob) -> None:
        request = export_request_from_job(query=job.query, scope=job.scope, options=job.options)
        self.scope = conversation_scope(job=job, request=request)
        self.reader = ConversationScopeReader(self.scope, records=job.total)

    def total(self) -> int:
        count = conversation_scope_count(self.scope)
        self.reader = ConversationScopeReader(self.scope, records=count)
        return count

    def seqs_after(self, *, after_seq: int, limit: int) -> list[int]:
        return self.reader.seqs_after(after_seq=after_seq, limit=limit)

    def records_after(
        self, *, after_seq: int, limit: int, conversation_id: int | None = None
    ) -> list[MarkedRow]:
        rows = self.reader.records_after(
            after_seq=after_seq, limit=limit, conversation_id=conversation_id
        )
        return _checked([(row, False, listed) for row, listed in rows])

    def lines_after(self, *, after_seq: int, limit: int) -> list[CopiedRecord] | None:
        """The windows of `records_after`, each one statement; None if any needs the usual
        read (the whole step is then read again that way)."""
        columns = ["seq", "hash", "prev_hash", "canonical"]
        listed = "NOT r.superseded" if self.scope.latest_only else "true"
        if self.scope.latest_only:
            columns.append("superseded")

        def read(window: QuerySet[ArchiveRecord, Any]) -> list[CopiedRecord]:
            sql, params = window.values(*columns).query.sql_with_params()
            copied = copied_records(source=f"({sql}) AS r", params=params, listed=listed)
            if copied is None:
                raise _QuotedFieldError
            return copied

        try:
            return self.reader.read_after(
                read, lambda record: record.seq, after_seq=after_seq, limit=limit
            )
        except _QuotedFieldError:
            return None


class _QuotedFieldError(Exception):
    """A window's COPY quoted a field: the step is read the usual way."""


def job_records(job: ExportJob) -> JobRecords:
    """The reader of the job's records, as its scope was decided when it started."""
    return ConversationRecords(job) if job.by_conversation else FrozenRecords(job)
