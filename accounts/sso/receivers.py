"""MFA authenticators added or removed are audited (allauth's signals, in its transaction)."""

from typing import Any

from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.db import transaction
from django.dispatch import receiver

from audit.models import AuditEventType
from audit.services import audit_event_record


def _record(event_type: AuditEventType, request: Any, user: Any, authenticator: Any) -> None:
    with transaction.atomic():
        audit_event_record(
            actor=user,
            event_type=event_type,
            details={"user_id": user.pk, "type": authenticator.type},
        )
    if request is not None and hasattr(request, "session"):
        request.session.pop("eim_mfa_checked", None)


@receiver(authenticator_added, dispatch_uid="sso.mfa_added")
def mfa_added(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    _record(AuditEventType.MFA_AUTHENTICATOR_ADDED, request, user, authenticator)


@receiver(authenticator_removed, dispatch_uid="sso.mfa_removed")
def mfa_removed(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    _record(AuditEventType.MFA_AUTHENTICATOR_REMOVED, request, user, authenticator)
