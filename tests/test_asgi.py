"""The ASGI application tunes the server process's garbage collector when it loads."""

import gc

from django.conf import settings


def test_loading_the_application_freezes_start_up_and_sets_the_thresholds():
    import eim.asgi  # noqa: F401  (what Daphne imports)

    assert gc.get_threshold() == settings.EIM_SERVER_GC_THRESHOLD == (10000, 10, 10)
    assert gc.get_freeze_count() > 10_000  # Django, Channels and the project, frozen
