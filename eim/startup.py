"""What a server process checks before it serves: the ASGI server and the Celery workers.

Apps register Django system checks with the tag START_UP and `deploy=True` (so `migrate` and
other commands never run them; `manage.py check --deploy --database default` does). Every
message is logged; an Error stops the process. The archive's check refuses a database role that
could change the append-only tables (docs/database-roles.md).
"""

import logging

from django.core.checks import run_checks

START_UP = "start_up"

logger = logging.getLogger("eim.startup")


def start_up_check(*, process: str) -> None:
    """Run the start-up checks; raise SystemExit (which gets past Celery's signal dispatcher
    and ends Daphne's import of the application) if one of them is an error."""
    messages = run_checks(tags=[START_UP], include_deployment_checks=True, databases=["default"])
    for message in messages:
        log = logger.critical if message.is_serious() else logger.warning
        log("%s: %s", process, message)
    refused = [str(message) for message in messages if message.is_serious()]
    if refused:
        raise SystemExit(f"refusing to start the {process}: " + "; ".join(refused))
