"""MFA authenticators added or removed are audited, in the transaction that adds or removes
them (allauth's own signals fire after the commit)."""

from typing import Any

from allauth.mfa.models import Authenticator
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from audit.models import AuditEventType
from audit.services import audit_event_record


def _record(event_type: AuditEventType, authenticator: Authenticator) -> None:
    with transaction.atomic():  # the caller's, when it has one
        audit_event_record(
            actor=authenticator.user,
            event_type=event_type,
            details={"user_id": authenticator.user_id, "type": authenticator.type},
        )


@receiver(post_save, sender=Authenticator, dispatch_uid="sso.mfa_added")
def mfa_added(sender: Any, instance: Authenticator, created: bool, **kwargs: Any) -> None:
    if created:
        _record(AuditEventType.MFA_AUTHENTICATOR_ADDED, instance)


@receiver(post_delete, sender=Authenticator, dispatch_uid="sso.mfa_removed")
def mfa_removed(sender: Any, instance: Authenticator, **kwargs: Any) -> None:
    _record(AuditEventType.MFA_AUTHENTICATOR_REMOVED, instance)
