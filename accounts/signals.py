"""Receivers that keep Django's own write paths under the account rules.

The services in accounts/services/ are the way to deactivate a user, set a password or revoke
a token. Django's admin forms, its management commands and a shell write the same rows without
them; these receivers notice such a write and apply the same consequences, so no path leaves a
session, a token or a socket alive that should have ended. They only detect and delegate.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from knox.models import AuthToken

from .models import User, UserDeletionRefused
from .services.access import AccessChange, access_reduced
from .services.users import user_access_end, user_seen
from .workspace.selectors import workspace_settings

# A save that writes one of these may take access away.
_ACCESS_FIELDS = {"password", "is_active", "session_generation"}


@receiver(pre_save, sender=User, dispatch_uid="accounts.remember_stored_access")
def remember_stored_access(
    sender: type[User], instance: User, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not _ACCESS_FIELDS & set(update_fields):
        return
    stored = (
        User.objects.filter(pk=instance.pk)
        .values("password", "is_active", "session_generation")
        .first()
    )
    if stored is None:
        return
    # A stale copy of the row, saved whole, must not bring ended sessions back.
    instance.session_generation = max(instance.session_generation, stored["session_generation"])
    instance.__dict__["_stored_access"] = stored


@receiver(post_save, sender=User, dispatch_uid="accounts.end_access_taken_away")
def end_access_taken_away(
    sender: type[User], instance: User, update_fields: Any = None, **kwargs: Any
) -> None:
    stored = instance.__dict__.pop("_stored_access", None)
    if stored is None:
        return
    if stored["is_active"] and not instance.is_active:
        user_access_end(user=instance, change=AccessChange.DEACTIVATED)
    elif stored["password"] != instance.password and not _is_rehash(instance, update_fields):
        user_access_end(user=instance, change=AccessChange.CREDENTIALS_CHANGED)


def _is_rehash(user: User, update_fields: Any) -> bool:
    """Django re-hashes a correct password at sign-in when its hasher's settings changed:
    the same password, so nothing ends. It saves only the password, without set_password's
    marker (`_password`, the raw value for the validators)."""
    return (
        update_fields is not None
        and set(update_fields) == {"password"}
        and (getattr(user, "_password", None) is None)
    )


@receiver(pre_delete, sender=User, dispatch_uid="accounts.refuse_user_deletion")
def refuse_user_deletion(sender: type[User], instance: User, **kwargs: Any) -> None:
    """People are deactivated, never deleted: the archive, the audit trail and every
    conversation's history refer to them (and a deletion would take their memberships
    without a member.left event)."""
    raise UserDeletionRefused(
        f"{instance.username} cannot be deleted: deactivate the account instead",
        {instance},
    )


@receiver(pre_save, sender=AuthToken, dispatch_uid="accounts.token_expires")
def token_expires(sender: type[AuthToken], instance: AuthToken, **kwargs: Any) -> None:
    """Every token expires, however it was made (knox's admin form lets the expiry blank)."""
    if instance.expiry is None:
        instance.expiry = timezone.now() + timedelta(days=settings.EIM_API_TOKEN_TTL_DAYS)


@receiver(post_delete, sender=AuthToken, dispatch_uid="accounts.token_deleted")
def token_deleted(sender: type[AuthToken], instance: AuthToken, **kwargs: Any) -> None:
    access_reduced(user_id=instance.user_id, change=AccessChange.TOKEN_REVOKED)


@receiver(user_logged_out, dispatch_uid="accounts.signed_out")
def signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None and user.pk is not None:
        access_reduced(user_id=user.pk, change=AccessChange.SIGNED_OUT)


@receiver(user_logged_in, dispatch_uid="accounts.last_seen")
def last_seen_on_sign_in(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """A sign-in (password or SSO) is being seen."""
    if isinstance(user, User):
        user_seen(user=user)


@receiver(user_logged_in, dispatch_uid="accounts.session_length")
def session_length(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """A web sign-in lasts the workspace's session length (a console setting)."""
    if request is not None:
        session_length_apply(request)


def session_length_apply(request: HttpRequest) -> None:
    """Set the session's expiry to the workspace's session length. Also called by the sign-in
    page after allauth's password form, which sets its own expiry once the user is signed in."""
    if hasattr(request, "session"):
        request.session.set_expiry(workspace_settings().session_hours * 3600)
