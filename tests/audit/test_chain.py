"""Audit events form one hash chain: a gapless seq from the head row, each event's canonical
content hashed onto the previous hash, whatever the number of concurrent writers."""

import json
import threading
import time

import pytest
from django.db import connection, transaction

from accounts.models import User
from audit.models import GENESIS_HASH, AuditEvent, AuditEventType, AuditHead
from audit.services import (
    audit_event_record,
    audit_events_batched,
    audit_events_collected,
)
from ledger.canonical import chain_hash
from tests.audit.helpers import audit_state, audit_verify, sql, triggers_bypassed
from tests.factories import audited


def chain() -> list[tuple[int, str, str]]:
    return list(AuditEvent.objects.order_by("seq").values_list("seq", "prev_hash", "hash"))


def head() -> tuple[int, str]:
    return AuditHead.objects.values_list("last_seq", "last_hash").get()


@pytest.mark.django_db
def test_each_event_is_its_canonical_content_hashed_onto_the_one_before(officer):
    first = audited(officer, query="insider", result_count=3)
    second = audited(None, AuditEventType.EXPORT_MADE, files=2)

    assert [first.seq, second.seq] == [1, 2]
    assert first.prev_hash == GENESIS_HASH
    assert first.hash == chain_hash(GENESIS_HASH, first.canonical)
    assert second.prev_hash == first.hash
    assert second.hash == chain_hash(first.hash, second.canonical)
    assert head() == (2, second.hash)
    assert json.loads(first.canonical) == {
        "seq": 1,
        "type": "search.run",
        "actor": officer.pk,
        "actor_username": "olivia",
        "details": {"query": "insider", "result_count": 3},
        "created_at": first.created_at.isoformat(),
    }
    assert json.loads(second.canonical)["actor"] is None


@pytest.mark.django_db
def test_an_event_keeps_the_actor_username_it_was_recorded_with(officer):
    event = audited(officer, query="insider")

    officer.username = "renamed"
    officer.save()

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_username == "olivia"
    assert json.loads(stored.canonical)["actor_username"] == "olivia"


@pytest.mark.django_db
def test_details_are_stored_exactly_as_hashed(officer):
    event = audited(officer, ids=(3, 4), by_user={7: "alice"})

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.details == {"ids": [3, 4], "by_user": {"7": "alice"}}
    assert json.loads(stored.canonical)["details"] == stored.details


@transaction.atomic
def failing_action(actor: User) -> None:
    audit_event_record(actor=actor, event_type=AuditEventType.SEARCH_RUN, details={"q": "x"})
    raise RuntimeError("the action failed")


@pytest.mark.django_db(transaction=True)
def test_an_action_that_rolls_back_leaves_no_event_and_no_hole(officer):
    audited(officer, query="first")
    before = audit_state()

    with pytest.raises(RuntimeError, match="the action failed"):
        failing_action(officer)

    assert audit_state() == before
    after = audited(officer, query="third")
    assert [seq for seq, _, _ in chain()] == [1, 2]
    assert after.prev_hash == AuditEvent.objects.get(seq=1).hash
    code, report = audit_verify()
    assert (code, report["problems"]) == (0, [])


@pytest.mark.django_db(transaction=True)
def test_an_action_rolled_back_inside_a_larger_transaction_leaves_no_hole(officer):
    with transaction.atomic():
        with pytest.raises(RuntimeError, match="the action failed"):
            failing_action(officer)
        kept = audit_event_record(
            actor=officer, event_type=AuditEventType.SEARCH_RUN, details={"q": "kept"}
        )

    assert [(seq, prev) for seq, prev, _ in chain()] == [(1, GENESIS_HASH)]
    assert head() == (1, kept.hash)


WRITERS = 4
EVENTS_EACH = 25


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_produce_one_gapless_chain(officer):
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            start.wait()
            for n in range(EVENTS_EACH):
                with transaction.atomic():
                    audit_event_record(
                        actor=officer,
                        event_type=AuditEventType.SEARCH_RUN,
                        details={"writer": writer, "n": n},
                    )
                    # The action goes on after its audit event: others must wait for it.
                    time.sleep(0.001)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    links = chain()
    assert [seq for seq, _, _ in links] == list(range(1, WRITERS * EVENTS_EACH + 1))
    assert [prev for _, prev, _ in links] == [GENESIS_HASH] + [h for _, _, h in links[:-1]]
    assert head() == (WRITERS * EVENTS_EACH, links[-1][2])
    code, report = audit_verify()
    assert (code, report["problems"]) == (0, [])


@pytest.mark.django_db(transaction=True)
def test_the_first_event_of_a_database_without_a_head_creates_it(officer):
    with triggers_bypassed():
        sql("DELETE FROM audit_audithead")

    event = audited(officer, query="first")

    assert event.seq == 1
    assert head() == (1, event.hash)


@pytest.mark.django_db
def test_an_unregistered_event_type_is_refused_and_nothing_is_recorded(officer):
    refused = pytest.raises(ValueError, match="not a registered audit event type")
    with refused, transaction.atomic():
        audit_event_record(actor=officer, event_type="made.up", details={})  # type: ignore[arg-type]

    assert chain() == []


@pytest.mark.django_db
def test_a_batch_is_stored_exactly_as_its_events_say_and_the_chain_verifies(officer):
    # The writer's statements are plain SQL: every column and the ids must be what the
    # returned events say, as the ORM would have stored them.
    with transaction.atomic():
        before = audited(officer, query="before")
        with audit_events_collected() as recorded, audit_events_batched():
            audit_event_record(
                actor=officer, event_type=AuditEventType.SEARCH_RUN, details={"q": "a"}
            )
            audit_event_record(
                actor=None, event_type=AuditEventType.EXPORT_MADE, details={"ids": (1, 2)}
            )

    stored = list(AuditEvent.objects.filter(seq__gt=before.seq).order_by("seq"))
    assert [(e.seq, e.hash) for e in stored] == recorded
    assert [e.pk for e in stored] == sorted(e.pk for e in stored)
    assert stored[0].prev_hash == before.hash
    assert stored[1].details == {"ids": [1, 2]}
    assert (stored[0].actor_id, stored[0].actor_username) == (officer.pk, "olivia")
    for event in stored:
        assert event.hash == chain_hash(event.prev_hash, event.canonical)
        assert json.loads(event.canonical)["created_at"] == event.created_at.isoformat()
    assert head() == (stored[1].seq, stored[1].hash)
    assert audit_verify()[0] == 0


@pytest.mark.django_db
def test_a_single_event_returned_is_the_stored_row(officer):
    event = audited(officer, query="one")

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.seq, stored.hash, stored.canonical, stored.created_at) == (
        event.seq,
        event.hash,
        event.canonical,
        event.created_at,
    )
    assert not event._state.adding
