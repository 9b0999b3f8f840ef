"""Audit trail tasks. Signing runs on the `signing` queue only, where the private key is;
verification anywhere, with the public keys alone."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .checkpoints import audit_checkpoint_create, audit_checkpoint_due, audit_checkpoint_witness
from .verification import verification_run_record, verify_audit_trail

logger = logging.getLogger(__name__)


@shared_task(name="audit.checkpoint", soft_time_limit=300, time_limit=600)
def audit_checkpoint_task() -> int | None:
    """Beat: sign when EIM_AUDIT_CHECKPOINT_EVERY events await a checkpoint or the oldest has
    waited EIM_AUDIT_CHECKPOINT_INTERVAL; otherwise only give the witnesses what they lack."""
    due = audit_checkpoint_due(
        every=settings.EIM_AUDIT_CHECKPOINT_EVERY,
        interval=timedelta(seconds=settings.EIM_AUDIT_CHECKPOINT_INTERVAL),
    )
    if not due:
        audit_checkpoint_witness()
        return None
    checkpoint = audit_checkpoint_create()
    return checkpoint.tree_size if checkpoint else None


@shared_task(name="audit.verify", soft_time_limit=3000, time_limit=3300)
def audit_verify_task() -> int:
    """Beat: verify the whole trail (it walks ~40,000 events/s) against its signed, witnessed
    checkpoints; every problem is logged as an error, and the outcome kept for the auditor's
    view (audit.verification.verification_run_record). Returns how many problems there were."""
    started_at = timezone.now()
    report = verify_audit_trail()
    verification_run_record(report=report, started_at=started_at)
    for problem in report.problems:
        logger.error(
            "audit trail verification: [%s] seq=%s checkpoint=%s: %s",
            problem.kind,
            problem.seq,
            problem.checkpoint,
            problem.detail,
        )
    return len(report.problems)
