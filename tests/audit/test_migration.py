"""The chain migration back-fills the chain over the events recorded before it, in id order."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit.models import AuditEvent
from tests.audit.helpers import audit_verify
from tests.factories import UserFactory

BEFORE = [("audit", "0001_initial")]


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_events_recorded_before_the_chain_are_chained_in_id_order():
    officer = UserFactory(username="olivia")
    old_state = migrate(BEFORE).loader.project_state(BEFORE).apps
    old_event = old_state.get_model("audit", "AuditEvent")
    ids = [
        old_event.objects.create(
            actor_id=actor, event_type="search.run", details={"query": f"q{n}"}
        ).pk
        for n, actor in enumerate([officer.pk, None, officer.pk])
    ]

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    events = list(AuditEvent.objects.order_by("seq"))
    assert [(e.pk, e.seq) for e in events] == list(zip(ids, [1, 2, 3], strict=True))
    assert [e.actor_username for e in events] == ["olivia", "", "olivia"]
    assert [e.details for e in events] == [{"query": "q0"}, {"query": "q1"}, {"query": "q2"}]
    code, report = audit_verify()
    assert (code, report["problems"], report["head_seq"]) == (0, [], 3)
