"""Running an export job: claim it, freeze its scope, write it a chunk at a time from its
cursor, then assemble the folder and its manifest and hand the signing to the signer.

A worker claims a job with a fresh lease token; each step commits the cursor, the counts and a
heartbeat only while the token is still the job's, so a worker the sweeper gave up on (killed,
or only slow) can never move a job that another worker has taken over. What a step writes to
storage goes under names fixed by the step (files.py), before its commit: a step redone writes
the same bytes again. See docs/export.md, "Resuming".
"""

import gc
import hashlib
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone

from archive import proofs
from archive import selectors as archive_selectors
from archive.blobs import blob_store
from ledger import merkle, signing
from ledger.canonical import canonical_json

from . import files, slices
from .formats import (
    ArchiveLookups,
    ConversationReader,
    ExportedRecord,
    ExportFormat,
    formats_for,
    jsonl,
)
from .lines import CopiedRecord, line_content
from .manifest import MANIFEST, MANIFEST_TYPE, manifest_bytes
from .models import ExportConversation, ExportJob, ExportState
from .options import export_request_from_job
from .records import JobRecords, content_check, job_records
from .scope import by_conversation, scope_freeze

logger = logging.getLogger(__name__)

#: Steps whose seqs a parallel run reads ahead at a time.
PLAN_STEPS = 16

PROOFS = "proofs.jsonl"
CHECKPOINT = "checkpoint.json"
CONSISTENCY = "consistency.json"
PUBLIC_KEY = "archive-public-key.pem"
VERIFIER = "verify_export.py"
README = "README.txt"
VERIFIER_SOURCE = Path(settings.BASE_DIR) / "tools" / VERIFIER


class LeaseLostError(Exception):
    """Another worker holds the job now, or it was cancelled: this one stops."""


def _stale_before() -> Any:
    return timezone.now() - timedelta(seconds=settings.EIM_EXPORT_STALE_AFTER)


def job_claim(*, job_id: str, states: tuple[str, ...]) -> tuple[ExportJob, str] | None:
    """Take the job for this worker unless another one holds a live lease on it."""
    token = str(uuid.uuid4())
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state not in states:
            return None
        if job.lease_token and job.heartbeat_at and job.heartbeat_at > _stale_before():
            return None
        job.lease_token, job.heartbeat_at = token, timezone.now()
        job.save(update_fields=["lease_token", "heartbeat_at"])
    return job, token


def job_commit(job: ExportJob, token: str, **fields: Any) -> ExportJob:
    """Commit a step's fields with a heartbeat, only while `token` still holds the job."""
    with transaction.atomic():
        fresh = ExportJob.objects.select_for_update().get(pk=job.pk)
        if fresh.lease_token != token or fresh.state not in (
            ExportState.QUEUED,
            ExportState.RUNNING,
        ):
            raise LeaseLostError(f"export {job.pk} is {fresh.state}, or another worker holds it")
        for name, value in {**fields, "heartbeat_at": timezone.now()}.items():
            setattr(fresh, name, value)
        fresh.save(update_fields=[*fields, "heartbeat_at"])
    return fresh


def job_fail(job: ExportJob, error: str) -> None:
    ExportJob.objects.filter(pk=job.pk, state__in=(ExportState.QUEUED, ExportState.RUNNING)).update(
        state=ExportState.FAILED, error=error, lease_token="", finished_at=timezone.now()
    )


@dataclass
class _Run:
    job: ExportJob
    token: str
    prover: merkle.InclusionProver
    lookups: ArchiveLookups
    formats: list[ExportFormat]
    records: JobRecords
    #: The step processes, once started (`_children`); stopped when the run no longer needs
    #: them, or ends.
    children: slices.StepWorkers | None = None
    #: The concatenated files, assembled as the steps are written (`_assembly`).
    assembly: files.Assembly | None = None


def _start(job: ExportJob, token: str) -> ExportJob:
    tree_size = proofs.newest_checkpoint_size()
    if tree_size is None:
        raise proofs.ProofError(
            "the archive has no signed checkpoint yet to prove the export against; "
            "the signer makes one every 5 minutes"
        )
    job.tree_size = tree_size
    request = export_request_from_job(query=job.query, scope=job.scope, options=job.options)
    job.by_conversation = settings.EIM_EXPORT_CONVERSATION_SCOPES and by_conversation(request)
    size = scope_freeze(job=job, request=request)
    total = size.records if size.records is not None else job_records(job).total()
    for fmt in formats_for(job.options):
        for path, data in fmt.head().appends.items():
            files.put(files.part_name(str(job.pk), 0, path), data)
    checkpoint = proofs.checkpoint_file(tree_size=tree_size)
    files.put(files.export_name(str(job.pk), CHECKPOINT), checkpoint)
    return job_commit(
        job,
        token,
        state=ExportState.RUNNING,
        tree_size=tree_size,
        by_conversation=job.by_conversation,
        total=total,
        parts=1,
        cursor_seq=0,
        done=0,
        counts={"messages": size.messages, "conversations": size.conversations},
        started_at=timezone.now(),
    )


def _proof_lines(prover: merkle.InclusionProver, listed: Iterable[tuple[int, str]]) -> bytes:
    """A line of canonical JSON {"hash", "path", "seq"} per listed record (seq, hash), written
    out directly (hex strings and an integer need no escaping). The records of a complete
    block take its leaves and paths once (`block_json`), the rest one at a time."""
    lines = []
    size, number, block = prover.block, -1, None
    for seq, hash_ in listed:
        index = seq - 1
        if index // size != number:
            number = index // size
            block = prover.block_json(number)
        if block is None:
            leaf = prover.leaf(index)
            line = PROOF_LINE % (hash_.encode(), prover.proof_json(index), seq)
        else:
            leaves, siblings, above = block
            offset = index - number * size
            leaf = leaves[offset]
            line = BLOCK_PROOF_LINE % (
                hash_.encode(),
                siblings[offset ^ 1],
                above[offset >> 1],
                seq,
            )
        if leaf != bytes.fromhex(hash_):
            raise proofs.ProofError(f"record {seq}'s hash is not the one signed")
        lines.append(line)
    return b"".join(lines)


PROOF_LINE = b'{"hash":"%b","path":[%b],"seq":%d}\n'
#: A proof line of a record of a complete block: its sibling, then the rest of its path.
BLOCK_PROOF_LINE = b'{"hash":"%b","path":["%b"%b],"seq":%d}\n'


def _attachments(records: list[ExportedRecord]) -> dict[str, str]:
    """attachments/<sha256> for each attachment these records add."""
    found = {}
    for record in records:
        if record.row.type == archive_selectors.ATTACHMENT_ADDED:
            sha = str((record.payload.get("attachment") or {}).get("sha256") or "")
            if sha:
                found[f"attachments/{sha}"] = sha
    return found


def _write_step(run: _Run, records: list[ExportedRecord], part: int) -> dict[str, int]:
    job_id = str(run.job.pk)
    counts = {"records": sum(1 for r in records if r.listed)}
    listed = ((r.row.seq, r.row.hash) for r in records if r.listed)
    appends = {PROOFS: _proof_lines(run.prover, listed)}
    whole: dict[str, bytes] = {}
    for fmt in run.formats:
        fmt.begin(run.job.counts)
        output = fmt.chunk(records, run.lookups)
        appends.update(output.appends)
        whole.update(output.files)
        for name, value in output.counts.items():
            counts[f"{fmt.name}.{name}"] = value
    if run.job.options.get("include_attachments"):
        store = blob_store()
        for path, sha in _attachments(records).items():
            if store.exists(sha):
                with store.open(sha) as stream:
                    files.put(files.export_name(job_id, path), File(stream, name=sha))
                counts["attachments"] = counts.get("attachments", 0) + 1
    if whole:
        files.put(files.bundle_name(job_id, part), files.bundle_bytes(whole))
        files.put(files.part_name(job_id, part, files.BUNDLE_INDEX), files.bundle_index(whole))
    for path, data in appends.items():
        files.put(files.part_name(job_id, part, path), data)
    return counts


def _copies_lines(run: _Run) -> bool:
    """Whether the steps' lines are written by PostgreSQL (lines.py): JSON Lines is the only
    format and no attachment is copied (both need the records' content)."""
    only_jsonl = [fmt.name for fmt in run.formats] == [jsonl.JsonLinesFormat.name]
    return only_jsonl and not run.job.options.get("include_attachments")


def _write_copied(run: _Run, copied: list[CopiedRecord], part: int) -> dict[str, int]:
    """A JSON Lines-only step's files, as `_write_step` writes them, from the COPY's lines."""
    job_id = str(run.job.pk)
    listed = []
    for record in copied:
        if record.hash:  # listed: its text is written, so it must hash to its hash
            prev_hash, canonical = line_content(record.line)
            content_check(
                seq=record.seq, prev_hash=prev_hash, canonical=canonical, hash_=record.hash
            )
            listed.append((record.seq, record.hash))
    files.put(files.part_name(job_id, part, PROOFS), _proof_lines(run.prover, listed))
    lines = b"".join(record.line for record in copied)
    files.put(files.part_name(job_id, part, jsonl.FILE), lines)
    return {"records": len(listed), "jsonl.records": len(listed)}


def step_write(run: _Run, step: slices.Step) -> tuple[int, int, dict[str, int]]:
    """Write one step's part files: (its last seq, its records, its counts); (0, 0, {}) when
    no record is left after the step's start."""
    with _collector_paused():
        return _step_write(run, step)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic collector off for a step: its objects (2,000 records' parsed JSON, some
    100,000 dicts and lists) are trees, freed by reference counting when the step is done,
    and the collector walked them again and again as they were made (about 5 of a CSV
    record's 30 µs of CPU). On again after the step, which collects any cycle it made."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _step_write(run: _Run, step: slices.Step) -> tuple[int, int, dict[str, int]]:
    if _copies_lines(run):
        copied = run.records.lines_after(after_seq=step.after_seq, limit=step.limit)
        if copied is not None:
            if not copied:
                return 0, 0, {}
            return copied[-1].seq, len(copied), _write_copied(run, copied, step.part)
    rows = run.records.records_after(after_seq=step.after_seq, limit=step.limit)
    if not rows:
        return 0, 0, {}
    counts = _write_step(run, [ExportedRecord.of(*row) for row in rows], step.part)
    return rows[-1][0].seq, len(rows), counts


def _step_commit(
    run: _Run, *, last: int, records: int, counts: dict[str, int], steps: int = 1
) -> None:
    """Move the cursor past written steps (one, or a run of them in order), with their counts
    and a heartbeat."""
    job = run.job
    merged = dict(job.counts)
    for name, value in counts.items():
        merged[name] = merged.get(name, 0) + value
    run.job = job_commit(
        job,
        run.token,
        cursor_seq=last,
        parts=job.parts + steps,
        done=job.done + records,
        counts=merged,
    )


@dataclass
class _Written:
    """The steps the children wrote since the last commit, in order: where the next one must
    start (`part`, `cursor`), and what they add to the job."""

    part: int
    cursor: int
    steps: int = 0
    records: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    since: float = field(default_factory=time.monotonic)

    def add(self, *, last: int, records: int, counts: dict[str, int]) -> None:
        self.part, self.cursor = self.part + 1, last
        self.steps, self.records = self.steps + 1, self.records + records
        for name, value in counts.items():
            self.counts[name] = self.counts.get(name, 0) + value


def _written_commit(run: _Run, written: _Written) -> _Written:
    """Commit the steps written so far (if any); what is written from now on."""
    if written.steps:
        _step_commit(
            run,
            last=written.cursor,
            records=written.records,
            counts=written.counts,
            steps=written.steps,
        )
    return _Written(part=run.job.parts, cursor=run.job.cursor_seq)


def _step(run: _Run) -> bool:
    """Write the next chunk and commit the cursor past it; False when nothing is left."""
    job = run.job
    step = slices.Step(part=job.parts, after_seq=job.cursor_seq, limit=settings.EIM_EXPORT_CHUNK)
    last, records, counts = step_write(run, step)
    if not records:
        return False
    _step_commit(run, last=last, records=records, counts=counts)
    return True


def _planned_steps(run: _Run) -> Iterator[slices.Step]:
    """The steps after the cursor, cut as a serial run cuts them (EIM_EXPORT_CHUNK records
    each): the seqs are read a block of steps ahead, never the whole scope at once."""
    limit, part, after = settings.EIM_EXPORT_CHUNK, run.job.parts, run.job.cursor_seq
    while True:
        seqs = run.records.seqs_after(after_seq=after, limit=limit * PLAN_STEPS)
        for start in range(0, len(seqs), limit):
            yield slices.Step(part=part, after_seq=after, limit=limit)
            part, after = part + 1, seqs[min(start + limit, len(seqs)) - 1]
        if len(seqs) < limit * PLAN_STEPS:
            return


def _parallel(run: _Run) -> bool:
    """Whether this run's steps go to child processes: workers given, enough records left to
    repay their start, and no format that numbers its documents across steps (DAT)."""
    workers = settings.EIM_EXPORT_WORKERS
    left = run.job.total - run.job.done
    numbered = any(fmt.numbers_across_steps for fmt in run.formats)
    return workers > 1 and left >= settings.EIM_EXPORT_PARALLEL_FROM and not numbered


def _children(run: _Run) -> slices.StepWorkers:
    """The run's EIM_EXPORT_WORKERS step processes, started on first need: the steps', kept
    for the grouped formats' files after them."""
    if run.children is None:
        context = slices.child_context(
            job_id=str(run.job.pk),
            tree_size=int(run.job.tree_size or 0),
            block_roots=[root.hex() for root in run.prover.block_roots],
            block=run.prover.block,
        )
        run.children = slices.StepWorkers(settings.EIM_EXPORT_WORKERS, context)
    return run.children


def _children_stop(run: _Run) -> None:
    if run.children is not None:
        children, run.children = run.children, None
        children.close()


def _steps_in_children(run: _Run) -> None:
    """Every step left, written by EIM_EXPORT_WORKERS children, committed here in order: the
    steps answered are committed together at most every EIM_EXPORT_COMMIT_EVERY seconds (a
    run killed in between redoes them, under the same names with the same bytes)."""
    written = _Written(part=run.job.parts, cursor=run.job.cursor_seq)
    for step, answer in _children(run).run(_planned_steps(run)):
        if answer["records"]:
            # Each step starts where the last one ended: nothing skipped, nothing twice.
            if (step.part, step.after_seq) != (written.part, written.cursor):
                raise slices.SliceError(f"step {step.part} does not follow the cursor")
            written.add(last=answer["last"], records=answer["records"], counts=answer["counts"])
            # While the children write the next steps: the parts so far, onto the files.
            _assembly(run).through(step.part)
            if time.monotonic() - written.since >= settings.EIM_EXPORT_COMMIT_EVERY:
                written = _written_commit(run, written)
    _written_commit(run, written)


def run_for_steps(*, job_id: str, prover: merkle.InclusionProver) -> _Run:
    """A run that only writes steps (in a child process): no lease, nothing committed."""
    job = ExportJob.objects.get(pk=job_id)
    return _Run(
        job=job,
        token="",
        prover=prover,
        lookups=_lookups(job),
        formats=formats_for(job.options, export_id=str(job.pk)),
        records=job_records(job),
    )


def _lookups(job: ExportJob) -> ArchiveLookups:
    return ArchiveLookups(
        tree_size=int(job.tree_size or 0), latest_only=job.options.get("versions") == "latest"
    )


def _concatenated(job: ExportJob) -> list[str]:
    return [PROOFS, *(path for fmt in formats_for(job.options) for path in fmt.appended)]


def _assembly(run: _Run) -> files.Assembly:
    """The run's assembly of the concatenated files, begun on first need."""
    if run.assembly is None:
        run.assembly = files.Assembly(
            str(run.job.pk), token=run.token, paths=_concatenated(run.job)
        )
    return run.assembly


def _listed_files(job: ExportJob, known: dict[str, files.Digest]) -> Iterator[bytes]:
    """Every file of the folder (the manifest and its signature aside), then every file the
    steps bundled: path, SHA-256, size, in canonical JSON (the bundled ones as the steps
    wrote them: a million EML files are not decoded and encoded again). The digests in
    `known` were taken as those files were written (the assembled ones): not read again."""
    job_id = str(job.pk)
    for path in files.walk(f"{job_id}/{files.EXPORT_DIR}"):
        if path not in (MANIFEST, "manifest.dsse.json"):
            sha, size = known.get(path) or files.digest(files.export_name(job_id, path))
            yield canonical_json({"path": path, "sha256": sha, "size": size}).encode()
    yield from files.bundle_lines(job_id, parts=job.parts)


def _manifest(job: ExportJob, known: dict[str, files.Digest]) -> tuple[File, str]:
    """manifest.json written as it is hashed, its file list streamed (a million EML files
    are never one list in memory): canonical JSON, the list spliced in where `files` sorts."""
    maker = job.created_by
    checkpoint = proofs.checkpoint_statement(tree_size=int(job.tree_size or 0))
    fields = {
        "type": MANIFEST_TYPE,
        "export_id": str(job.pk),
        "created_at": job.created_at.isoformat(),
        "completed_at": timezone.now().isoformat(),
        "created_by": {"id": maker.pk, "username": maker.username, "name": maker.shown_name},
        "query": job.query,
        "scope": job.scope,
        "options": job.options,
        "counts": job.counts,
        "checkpoint": {"file": CHECKPOINT, **checkpoint},
        "key_id": signing.key_id(signing.current_public_key()),
        "files": [],
    }
    head, tail = manifest_bytes(fields).split(b'"files":[]', 1)
    spool = tempfile.SpooledTemporaryFile(max_size=16 << 20)  # noqa: SIM115 (saved, then closed)
    sha = hashlib.sha256()

    def write(data: bytes) -> None:
        spool.write(data)
        sha.update(data)

    write(head + b'"files":[')
    for number, entry in enumerate(_listed_files(job, known)):
        write((b"," if number else b"") + entry)
    write(b"]" + tail)
    spool.seek(0)
    return File(spool, name=MANIFEST), sha.hexdigest()


def _conversation_reader(run: _Run) -> ConversationReader:
    def read(conversation_id: int, after_seq: int, limit: int) -> list[ExportedRecord]:
        rows = run.records.records_after(
            after_seq=after_seq, limit=limit, conversation_id=conversation_id
        )
        return [ExportedRecord.of(*row) for row in rows]

    return read


def beat_interval() -> float:
    """Seconds between heartbeats of a pass that commits nothing: a quarter of the time after
    which the sweeper takes a job for stale."""
    return settings.EIM_EXPORT_STALE_AFTER / 4


def _beat(run: _Run) -> None:
    """The job's heartbeat, if `beat_interval` has passed since the last commit: the passes of
    `_finish` commit nothing until they end (a million messages' RSMF files take tens of
    seconds), and a job that stops beating is handed to another worker by the sweeper, which
    would write the same files beside this one."""
    last = run.job.heartbeat_at
    if last is None or timezone.now() - last >= timedelta(seconds=beat_interval()):
        run.job = job_commit(run.job, run.token)


def conversation_files_write(
    run: _Run,
    *,
    format_name: str,
    conversation_ids: Iterable[int],
    after_file: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Write one format's files of these conversations into the folder (`finish_files`):
    their counts, `<format>.files` then `<format>.events`. In the worker (which beats the
    job's heartbeat in `after_file`), or in a step process for the conversations it is
    handed: a conversation's files depend on its records alone."""
    fmt = next(f for f in run.formats if f.name == format_name)
    counts = dict[str, int]()
    made = fmt.finish_files(
        conversation_ids=conversation_ids, read=_conversation_reader(run), lookups=run.lookups
    )
    for path, data, items in made:
        files.put(files.export_name(str(run.job.pk), path), data)
        counts[f"{fmt.name}.files"] = counts.get(f"{fmt.name}.files", 0) + 1
        counts[f"{fmt.name}.events"] = counts.get(f"{fmt.name}.events", 0) + items
        if after_file is not None:
            after_file()
    return counts


def _grouped_in_children(run: _Run) -> bool:
    """Whether the grouped formats' files are written by step processes: those of the steps
    if they ran, else new ones when workers are given and the job is big enough to repay
    their start. The job's whole size counts, not what its steps had left (this pass reads
    every record again, also when resumed after the last step), and a format that numbers
    across steps (DAT) keeps nothing here in the worker: this pass numbers nothing."""
    if settings.EIM_EXPORT_WORKERS <= 1:
        return False
    return run.children is not None or run.job.total >= settings.EIM_EXPORT_PARALLEL_FROM


def _grouped_files(run: _Run) -> dict[str, int]:
    """The files of the formats that group each conversation's messages (RSMF, PDF): by the
    step processes, a conversation at a time, for a format that allows it (RSMF; PDF lays
    out in its own processes), else here. The counts are summed format by format, each
    format's files then events, as a serial run counts them."""
    ids = list(
        ExportConversation.objects.filter(job=run.job)
        .order_by("conversation_id")
        .values_list("conversation_id", flat=True)
    )
    in_children = _grouped_in_children(run)
    counts = dict[str, int]()
    for fmt in run.formats:
        answers: Iterable[dict[str, int]]
        if in_children and fmt.files_in_step_processes:
            answers = _children(run).write_conversations(
                fmt.name, ids, beat=lambda: _beat(run), every=beat_interval()
            )
        else:
            answers = [
                conversation_files_write(
                    run, format_name=fmt.name, conversation_ids=ids, after_file=lambda: _beat(run)
                )
            ]
        for answer in answers:
            for name, value in answer.items():
                counts[name] = counts.get(name, 0) + value
    _children_stop(run)
    return counts


def _finish(run: _Run) -> ExportJob:
    job, job_id = run.job, str(run.job.pk)
    assembly = _assembly(run)
    assembly.complete(parts=job.parts, beat=lambda: _beat(run))
    # Still this run's job (a worker that lost it moves nothing into the folder), then the
    # assembled files into it, whole.
    job = run.job = job_commit(job, run.token)
    known = assembly.place()
    grouped = _grouped_files(run)
    if grouped:
        job = run.job = job_commit(job, run.token, counts={**job.counts, **grouped})
    consistency = proofs.consistency_proofs_to(run.prover, tree_size=int(job.tree_size or 0))
    files.put(files.export_name(job_id, CONSISTENCY), canonical_json(consistency).encode())
    files.put(files.export_name(job_id, VERIFIER), VERIFIER_SOURCE.read_bytes())
    files.put(files.export_name(job_id, README), readme(job).encode())
    public_pem = signing.public_key_pem(signing.current_public_key())
    files.put(files.export_name(job_id, PUBLIC_KEY), public_pem.encode())
    manifest, manifest_sha256 = _manifest(job, known)
    files.put(files.export_name(job_id, MANIFEST), manifest)
    manifest.close()
    signing_job = job_commit(
        job,
        run.token,
        state=ExportState.SIGNING,
        manifest_sha256=manifest_sha256,
        lease_token="",
    )
    # The folder's files are final: what they were assembled from is not needed again.
    files.remove_assemblies(job_id)
    files.parts_remove(job_id, parts=job.parts, paths=assembly.paths)
    return signing_job


def readme(job: ExportJob) -> str:
    return (
        f"eim evidence export {job.pk}\n\n"
        "This folder is an export from an eim archive. manifest.json lists every file with its\n"
        "SHA-256; manifest.dsse.json signs it (DSSE, Ed25519). Check everything offline with\n"
        "Python 3.11+ and the `cryptography` package, using the archive's public key as the\n"
        "company published it (archive-public-key.pem here is a copy, not proof):\n\n"
        "    python verify_export.py . --public-key KEY.pem [--trusted-checkpoint FILE]\n\n"
        "records.jsonl: every archive record (schema eim-export/v1); proofs.jsonl: each\n"
        "record's hash and Merkle inclusion proof against checkpoint.json, a signed tree head.\n"
    )


@contextmanager
def _running(job: ExportJob, token: str) -> Iterator[_Run]:
    """The claimed job's run; its step processes, if it started any, stopped when it ends
    however it ends (before a cancelled job's files are removed).

    While it runs, what the worker held at its start (Django's objects, mostly) is out of the
    cyclic collector's full passes, which walked them all every few thousand records: a
    quarter of the CPU of RSMF's files written here. Back in after it, so that nothing is
    kept for good."""
    run = _Run(
        job=job,
        token=token,
        prover=proofs.checkpoint_prover(tree_size=int(job.tree_size or 0)),
        lookups=_lookups(job),
        formats=formats_for(job.options, export_id=str(job.pk)),
        records=job_records(job),
    )
    # (A process that froze its own start, as the chat server does, is left as it is.)
    freezing = gc.get_freeze_count() == 0
    if freezing:
        gc.freeze()
    try:
        yield run
    finally:
        _children_stop(run)
        if run.assembly is not None:
            run.assembly.close()
        if freezing:
            gc.unfreeze()


def export_run(*, job_id: str) -> str:
    """Run a queued or interrupted job as far as it goes; returns the state it left it in."""
    claimed = job_claim(job_id=job_id, states=(ExportState.QUEUED, ExportState.RUNNING))
    if claimed is None:
        return "not claimed"
    job, token = claimed
    try:
        if job.state == ExportState.QUEUED:
            job = _start(job, token)
        with _running(job, token) as run:
            if _parallel(run):
                _steps_in_children(run)
            while _step(run):
                pass
            job = _finish(run)
    except LeaseLostError as lost:
        logger.info("%s", lost)
        if ExportJob.objects.filter(pk=job_id, state=ExportState.CANCELLED).exists():
            files.remove_tree(job_id)  # what this worker wrote after the cancellation's removal
        return "lost"
    except proofs.ProofError as error:
        job_fail(job, str(error))
        return ExportState.FAILED
    transaction.on_commit(lambda: _sign_later(job_id))
    return job.state


def _sign_later(job_id: str) -> None:
    from .tasks import export_sign_task

    export_sign_task.delay(job_id)
