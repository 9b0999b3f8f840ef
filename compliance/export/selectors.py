"""Reads of export jobs: an officer sees their own; who may download one is decided in one
place, `exports_downloadable_by`, which a case's team (a later issue) widens by registering a
grant, without touching the services or the API."""

from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User

from ..access import require_compliance_officer
from ..errors import ComplianceError, ComplianceErrorCode
from .models import ExportJob


def _own(user: User) -> QuerySet[ExportJob]:
    return ExportJob.objects.filter(created_by=user)


def export_for_user(*, user: User, export_id: str) -> ExportJob:
    """The officer's own export; NOT_FOUND for anyone else's (it does not say it exists)."""
    require_compliance_officer(user=user)
    job = _own(user).filter(pk=export_id).first()
    if job is None:
        raise ComplianceError(ComplianceErrorCode.NOT_FOUND, "no export of yours with that id")
    return job


#: Grants that widen who may download an export beyond its maker: each takes the user and
#: answers a filter over ExportJob (a case grants its team the exports made for the case).
DownloadGrant = Callable[[User], Q]
_download_grants: list[DownloadGrant] = []


def export_download_grant_register(grant: DownloadGrant) -> None:
    """Let `grant` widen the downloadable exports (called once, by the package that owns the
    grant, e.g. cases when it is ready)."""
    if grant not in _download_grants:
        _download_grants.append(grant)


def export_download_grant_remove(grant: DownloadGrant) -> None:
    if grant in _download_grants:
        _download_grants.remove(grant)


def exports_downloadable_by(*, user: User) -> QuerySet[ExportJob]:
    """The one decision of whose exports `user` may download: compliance officers only, their
    own exports, and those a registered grant gives them."""
    require_compliance_officer(user=user)
    allowed = Q(created_by=user)
    for grant in _download_grants:
        allowed |= grant(user)
    return ExportJob.objects.filter(allowed)


def export_for_download(*, user: User, export_id: str) -> ExportJob:
    """An export `user` may download; NOT_FOUND otherwise (it does not say it exists)."""
    job = exports_downloadable_by(user=user).filter(pk=export_id).first()
    if job is None:
        raise ComplianceError(ComplianceErrorCode.NOT_FOUND, "no export of yours with that id")
    return job


def export_list(*, user: User, limit: int = 50) -> list[dict[str, Any]]:
    require_compliance_officer(user=user)
    return [export_payload(job) for job in _own(user).order_by("-created_at")[:limit]]


def export_payload(job: ExportJob) -> dict[str, Any]:
    """A job and its progress: items done of total, rate (records/s), seconds left."""
    rate = None
    if job.started_at and job.heartbeat_at and job.done:
        seconds = (job.heartbeat_at - job.started_at).total_seconds()
        rate = round(job.done / seconds, 1) if seconds > 0 else None
    left = round((job.total - job.done) / rate, 1) if rate and job.state == "running" else None
    return {
        "id": str(job.pk),
        "state": job.state,
        "query": job.query,
        "scope": job.scope,
        "options": job.options,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "expires_at": job.expires_at.isoformat() if job.expires_at else None,
        "progress": {
            "done": job.done,
            "total": job.total,
            "rate_per_second": rate,
            "seconds_left": left,
        },
        "counts": job.counts,
        "checkpoint_tree_size": job.tree_size,
        "manifest_sha256": job.manifest_sha256 or None,
        "error": job.error or None,
        "downloadable": job.state == "done"
        and (job.expires_at or timezone.now()) >= timezone.now(),
    }
