"""Export tasks: thin, idempotent callers of one service each. `compliance.export_sign` runs on
the `signing` queue (the only worker holding the archive's private key); the rest on `celery`."""

import logging

from celery import shared_task

from . import runner, services

logger = logging.getLogger(__name__)


@shared_task(name="compliance.export_run", soft_time_limit=3300, time_limit=3500)
def export_run_task(job_id: str) -> str:
    """Run (or resume from its cursor) an export; a second delivery finds it claimed."""
    return str(runner.export_run(job_id=job_id))


@shared_task(name="compliance.export_sign", soft_time_limit=120, time_limit=240)
def export_sign_task(job_id: str) -> str:
    return services.export_sign(job_id=job_id)


@shared_task(name="compliance.export_package", soft_time_limit=3300, time_limit=3500)
def export_package_task(job_id: str) -> str:
    return services.export_package(job_id=job_id)


@shared_task(name="compliance.export_sweep", soft_time_limit=60, time_limit=120)
def export_sweep_task() -> dict[str, int]:
    resent = services.export_sweep()
    if any(resent.values()):
        logger.warning("export sweep: %s", resent)
    return resent
