"""A direct message opened while a policy is being activated is found by the activation."""

import threading
import time

import pytest
from django.db import connection

from eim.chat.barriers import rules
from eim.chat.barriers.services import (
    barrier_policy_activate,
    barrier_policy_create,
    barrier_policy_preview,
)
from eim.chat.models import Conversation
from eim.chat.services import conversations

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(work) -> threading.Thread:  # type: ignore[no-untyped-def]
    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_direct_message_opened_during_an_activation_becomes_read_only(people, monkeypatch):
    version = barrier_policy_create(
        actor=people.admin, name="wall", segment_a=people.research.pk, segment_b=people.trading.pk
    )
    barrier_policy_preview(actor=people.admin, policy_id=version.policy_id)
    checked, proceed = threading.Event(), threading.Event()

    def check_then_wait(**kwargs):  # type: ignore[no-untyped-def]
        found = rules.barrier_among(**kwargs)  # no policy in force yet: nothing barred
        checked.set()
        proceed.wait(10)
        return found

    monkeypatch.setattr(conversations, "barrier_among", check_then_wait)
    opening = _in_thread(
        lambda: conversations.conversation_open_direct(
            creator=people.rita, user_ids=[people.tom.pk]
        )
    )
    assert checked.wait(10)
    activating = _in_thread(
        lambda: barrier_policy_activate(
            actor=people.admin, policy_id=version.policy_id, version=1, channels="read_only"
        )
    )
    time.sleep(1.0)  # without the share lock the activation finishes here, missing the DM
    proceed.set()
    opening.join(20)
    activating.join(20)

    dm = Conversation.objects.get(kind="direct")
    assert dm.barrier_restricted
