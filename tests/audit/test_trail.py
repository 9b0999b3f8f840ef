"""Audit events of compliance actions are append-only and written only inside the action."""

import pytest

from audit.models import AuditEvent, AuditEventType, AuditImmutableError
from audit.services import audit_event_record
from tests.factories import audited


@pytest.mark.django_db
def test_an_audit_event_can_be_neither_changed_nor_deleted(officer):
    event = audited(officer, q="x")
    event.details = {"q": "changed"}

    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    assert AuditEvent.objects.get().details == {"q": "x"}


@pytest.mark.django_db(transaction=True)
def test_an_audit_event_is_only_recorded_inside_a_transaction(officer):
    with pytest.raises(RuntimeError, match="inside the action's transaction"):
        audit_event_record(actor=officer, event_type=AuditEventType.SEARCH_RUN, details={})

    assert not AuditEvent.objects.exists()
