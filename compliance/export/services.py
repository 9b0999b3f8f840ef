"""Writes of evidence export: request, cancel, download, delete (compliance officers, their own
exports, each audited in its transaction), and the signer's and packager's steps.

The running step lives in runner.py; tasks.py calls these with ids only.
"""

import logging
import tempfile
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEventType
from audit.services import audit_event_record

from ..access import require_compliance_officer
from ..errors import ComplianceError, ComplianceErrorCode
from . import files
from .manifest import ENVELOPE, MANIFEST, envelope_sign_stream
from .models import ACTIVE_STATES, ExportJob, ExportRecord, ExportState
from .options import export_request_check
from .package import StreamingZip
from .selectors import export_for_download, export_for_user

logger = logging.getLogger(__name__)


def _details(job: ExportJob, **more: Any) -> dict[str, Any]:
    return {
        "export_id": str(job.pk),
        "query": job.query,
        "scope": job.scope,
        "options": job.options,
        "counts": job.counts,
        "manifest_sha256": job.manifest_sha256 or None,
        **more,
    }


def export_create(*, user: User, **asked: Any) -> ExportJob:
    """Check and record the request; a worker runs it after the commit. Refused requests
    (role, bad query, no scope) create and audit nothing."""
    require_compliance_officer(user=user)
    request = export_request_check(**asked)
    with transaction.atomic():
        job = ExportJob.objects.create(
            created_by=user,
            created_at=timezone.now(),
            state=ExportState.QUEUED,
            query=request.query,
            scope=request.scope_json(),
            options=request.options_json(),
        )
        audit_event_record(
            actor=user, event_type=AuditEventType.EXPORT_CREATED, details=_details(job)
        )
        transaction.on_commit(lambda: _run_later(str(job.pk)))
    return job


def _run_later(job_id: str) -> None:
    from .tasks import export_run_task

    try:
        export_run_task.apply_async(args=(job_id,), retry=False)
    except Exception:  # the sweeper starts a job whose task was never published
        logger.warning("export %s not published; the sweeper will start it", job_id)


def export_cancel(*, user: User, export_id: str) -> ExportJob:
    export_for_user(user=user, export_id=export_id)
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=export_id)
        if job.state not in ACTIVE_STATES:
            raise ComplianceError(
                ComplianceErrorCode.EXPORT_NOT_READY, f"the export is {job.state}, not running"
            )
        job.state, job.lease_token, job.finished_at = ExportState.CANCELLED, "", timezone.now()
        job.save(update_fields=["state", "lease_token", "finished_at"])
        audit_event_record(
            actor=user, event_type=AuditEventType.EXPORT_CANCELLED, details=_details(job)
        )
        transaction.on_commit(lambda: files.remove_tree(str(job.pk)))
    return job


def export_delete(*, user: User, export_id: str) -> ExportJob:
    """Remove a finished (or failed, cancelled) export's files; the job row stays."""
    export_for_user(user=user, export_id=export_id)
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=export_id)
        if job.state in ACTIVE_STATES or job.state == ExportState.DELETED:
            raise ComplianceError(
                ComplianceErrorCode.EXPORT_NOT_READY,
                f"the export is {job.state}; cancel a running export instead",
            )
        job.state = ExportState.DELETED
        job.save(update_fields=["state"])
        audit_event_record(
            actor=user, event_type=AuditEventType.EXPORT_DELETED, details=_details(job)
        )
        transaction.on_commit(lambda: files.remove_tree(str(job.pk)))
    return job


def export_download(*, user: User, export_id: str) -> tuple[ExportJob, IO[bytes]]:
    """The finished export's zip, opened; the download is audited before a byte leaves. Who
    may download is `exports_downloadable_by`'s decision (the maker; a case team later)."""
    job = export_for_download(user=user, export_id=export_id)
    if job.state != ExportState.DONE:
        raise ComplianceError(
            ComplianceErrorCode.EXPORT_NOT_READY, f"the export is {job.state}, not ready"
        )
    stream = files.export_storage().open(files.zip_name(str(job.pk)), "rb")
    with transaction.atomic():
        audit_event_record(
            actor=user, event_type=AuditEventType.EXPORT_DOWNLOADED, details=_details(job)
        )
    return job, stream


def export_sign(*, job_id: str) -> str:
    """The signer's step (queue `signing`): sign the manifest the runner wrote, once its hash
    is the one the runner committed."""
    job = ExportJob.objects.filter(pk=job_id, state=ExportState.SIGNING).first()
    if job is None:
        return "nothing to sign"
    storage, name = files.export_storage(), files.export_name(job_id, MANIFEST)
    envelope = tempfile.SpooledTemporaryFile(max_size=16 << 20)  # noqa: SIM115 (saved, then closed)
    with storage.open(name, "rb") as stream:
        try:
            envelope_sign_stream(stream, storage.size(name), job.manifest_sha256, envelope)
        except ValueError as error:
            raise RuntimeError(f"export {job_id}: {error}") from error
    envelope.seek(0)
    files.put(files.export_name(job_id, ENVELOPE), File(envelope, name=ENVELOPE))
    envelope.close()
    moved = ExportJob.objects.filter(pk=job_id, state=ExportState.SIGNING).update(
        state=ExportState.PACKAGING, heartbeat_at=timezone.now()
    )
    if moved:
        transaction.on_commit(lambda: _package_later(job_id))
    return "signed"


def _package_later(job_id: str) -> None:
    from .tasks import export_package_task

    export_package_task.delay(job_id)


def _zip(job_id: str, *, parts: int) -> File:
    """The folder and the steps' bundled files as one zip, written as a stream: memory
    does not grow with the number of files (package.py)."""
    spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115 (saved, then closed)
    storage = files.export_storage()
    root = f"{job_id}/{files.EXPORT_DIR}"
    archive = StreamingZip(spool)
    for path in files.walk(root):
        with storage.open(f"{root}/{path}", "rb") as source:
            archive.add_stream(f"export-{job_id}/{path}", source)
    archive.add_many(
        (f"export-{job_id}/{path}", data) for path, data in files.bundled(job_id, parts=parts)
    )
    archive.close()
    spool.seek(0)
    return File(spool, name=f"export-{job_id}.zip")


def export_package(*, job_id: str) -> str:
    """Zip the signed folder and mark the export done; audited as made."""
    job = ExportJob.objects.filter(pk=job_id, state=ExportState.PACKAGING).first()
    if job is None:
        return "nothing to package"
    package = _zip(job_id, parts=job.parts)
    files.put(files.zip_name(job_id), package)
    package.close()
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if job.state != ExportState.PACKAGING:
            return job.state
        now = timezone.now()
        job.state, job.finished_at, job.heartbeat_at = ExportState.DONE, now, now
        job.expires_at = now + timedelta(days=settings.EIM_EXPORT_RETENTION_DAYS)
        job.save(update_fields=["state", "finished_at", "heartbeat_at", "expires_at"])
        audit_event_record(
            actor=None,
            event_type=AuditEventType.EXPORT_MADE,
            details=_details(job, made_by=job.created_by.username),
        )
    # The frozen list of records was the run's working set (a row per record); the scope
    # itself (messages, conversations) stays with the job.
    ExportRecord.objects.filter(job=job).delete()
    return job.state


def export_sweep() -> dict[str, int]:
    """Beat: resume jobs whose worker stopped beating, re-send lost signing and packaging
    steps, and remove expired exports' files."""
    from .tasks import export_package_task, export_run_task, export_sign_task

    stale = timezone.now() - timedelta(seconds=settings.EIM_EXPORT_STALE_AFTER)
    resent = {"run": 0, "sign": 0, "package": 0, "expired": 0}
    for job in ExportJob.objects.filter(state__in=ACTIVE_STATES).only(
        "pk", "state", "heartbeat_at", "created_at"
    ):
        beat = job.heartbeat_at or job.created_at
        if beat > stale:
            continue
        if job.state in (ExportState.QUEUED, ExportState.RUNNING):
            export_run_task.delay(str(job.pk))
            resent["run"] += 1
        elif job.state == ExportState.SIGNING:
            export_sign_task.delay(str(job.pk))
            resent["sign"] += 1
        else:
            export_package_task.delay(str(job.pk))
            resent["package"] += 1
    for job in ExportJob.objects.filter(state=ExportState.DONE, expires_at__lt=timezone.now()):
        with transaction.atomic():
            ExportJob.objects.filter(pk=job.pk).update(state=ExportState.EXPIRED)
            audit_event_record(
                actor=None, event_type=AuditEventType.EXPORT_EXPIRED, details=_details(job)
            )
        files.remove_tree(str(job.pk))
        resent["expired"] += 1
    return resent
