import os
from typing import Any

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eim.settings.base")

app = Celery("eim")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _start_up_check(**kwargs: Any) -> None:
    # Django is set up by now: Celery's fixup did it while importing the task modules.
    from eim.startup import start_up_check

    start_up_check(process="Celery worker")
    from compliance.scanning.cache import policy_set_warm

    policy_set_warm()  # before the pool forks: every child starts with the compiled set
