"""The auditor's view: a signing key and witness of the test's own (as tests/audit), and the
people of the authorization matrix."""

import pytest
from django.db import transaction
from django.test import Client

from accounts.models import Role, User
from audit.models import AuditEventType
from audit.services import audit_event_record
from tests.audit.conftest import audit_key, witness_dir  # noqa: F401 - fixtures
from tests.factories import UserFactory


@pytest.fixture
def auditor(db: None) -> User:
    return UserFactory(username="audrey", roles=[Role.AUDITOR])


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def record(actor: User | None, event_type: AuditEventType, **details: object) -> int:
    with transaction.atomic():
        return audit_event_record(actor=actor, event_type=event_type, details=details).seq
