"""A person's account: deactivation and password changes, and everything they end.

People are deactivated, never deleted: the archive and the audit trail refer to them.

Django's own paths (the admin's forms, `manage.py changepassword`, `set_password` and `save`
in a shell) write the user row without these services; the receivers in accounts/signals.py
compare each save with the stored row and call `user_access_end` for them too, so a
deactivation or a new password ends the same things whichever way it was made.
"""

from datetime import datetime, timedelta
from functools import partial

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from knox.models import AuthToken

from audit.models import AuditEventType
from audit.services import audit_event_record

from ..model_history import model_create
from ..models import Role, User
from ..selectors import user_has_role, user_roles
from .access import AccessChange, access_reduced
from .role_mapping import role_mapping_sync

# "Last seen" is kept to this precision: within it, being seen again writes nothing.
SEEN_PRECISION = timedelta(minutes=5)


def _require_user_administrator(by: User | None, user: User) -> None:
    """None is the operator at the server (a management command), who holds the database."""
    if by is None:
        return
    if not by.is_active or not (by.is_superuser or user_has_role(user=by, role=Role.ADMINISTRATOR)):
        raise PermissionDenied("only an administrator can do this")


# Whoever sets a person's password can sign in as them: for these roles that would let one
# administrator (or a Django superuser) act as a second one and defeat the four eyes.
ROLES_WHOSE_PASSWORD_ONLY_THEY_SET = frozenset(
    {Role.ADMINISTRATOR, Role.COMPLIANCE_OFFICER, Role.AUDITOR}
)


def user_password_settable_by(*, by: User | None, user: User) -> None:
    """Raise PermissionDenied unless `by` may set user's password: themselves; an administrator
    for people without a privileged role; the operator at the server (None) for anyone."""
    if by is None or by.pk == user.pk:
        return
    _require_user_administrator(by, user)
    if user_roles(user=user) & ROLES_WHOSE_PASSWORD_ONLY_THEY_SET:
        raise PermissionDenied(
            "only they can set the password of an administrator, compliance officer or "
            "auditor: whoever sets it could sign in as them"
        )


def _details(user: User, via: str) -> dict[str, object]:
    details: dict[str, object] = {"user": user.pk, "username": user.username}
    if via:
        details["via"] = via
    return details


@transaction.atomic
def user_deactivate(*, user: User, by: User | None, via: str = "") -> bool:
    """Deactivate user: every session, token and open socket of theirs ends.

    False (and nothing recorded) if they were inactive already. `via` says, for the audit
    trail, what acted when `by` is None (e.g. "scim:<token name>").
    """
    _require_user_administrator(by, user)
    if by is not None and by.pk == user.pk:
        raise PermissionDenied("nobody deactivates themselves")
    stored = User.objects.select_for_update().get(pk=user.pk)
    if not stored.is_active:
        return False
    user.is_active = False
    user.save(update_fields=["is_active"])  # the receiver ends their access (user_access_end)
    audit_event_record(
        actor=by,
        event_type=AuditEventType.USER_DEACTIVATED,
        details=_details(user, via),
    )
    return True


@transaction.atomic
def user_reactivate(*, user: User, by: User | None, via: str = "") -> bool:
    """Let a deactivated person sign in again. Their old sessions and tokens stay dead (the
    session generation moved on when they were deactivated). False if they were active."""
    _require_user_administrator(by, user)
    stored = User.objects.select_for_update().get(pk=user.pk)
    if stored.is_active:
        return False
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_event_record(
        actor=by,
        event_type=AuditEventType.USER_REACTIVATED,
        details=_details(user, via),
    )
    # Their groups map roles again: asked for anew (a role under four eyes waits again).
    transaction.on_commit(partial(role_mapping_sync, user_id=user.pk))
    return True


@transaction.atomic
def user_sign_out_everywhere(*, user: User, by: User | None) -> None:
    """End every web session of user and the sockets opened with them; API tokens stay (they
    are revoked one by one, `api_token_revoke`)."""
    _require_user_administrator(by, user)
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    access_reduced(user_id=user.pk, change=AccessChange.SESSIONS_ENDED)
    audit_event_record(
        actor=by,
        event_type=AuditEventType.USER_SIGNED_OUT_EVERYWHERE,
        details={"user": user.pk, "username": user.username},
    )


@transaction.atomic
def user_password_set(*, user: User, password: str, by: User | None) -> None:
    """Set a new password: the user's API tokens, other sessions and sockets end.

    A session that should stay signed in (the user changing their own password) calls
    `django.contrib.auth.update_session_auth_hash` afterwards. Raises ValidationError for a
    password the validators refuse, changing nothing.
    """
    user_password_settable_by(by=by, user=user)
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])  # the receiver ends tokens and sockets
    audit_event_record(
        actor=by,
        event_type=AuditEventType.USER_PASSWORD_CHANGED,
        details={"user": user.pk, "username": user.username},
    )


def user_access_end(*, user: User, change: AccessChange) -> None:
    """End what `change` takes away, inside the caller's transaction.

    Deactivated: every API token, and every session (the session generation moves on, so
    sessions stay dead after a reactivation). New password: every API token; the sessions
    end by themselves, since they carry a hash of the old password. Open sockets close
    after the commit (the hooks of `access_reduced`).
    """
    access_reduced(user_id=user.pk, change=change)  # first: its hooks run in this order
    if change == AccessChange.DEACTIVATED:
        User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
        user.refresh_from_db(fields=["session_generation"])
    AuthToken.objects.filter(user_id=user.pk).delete()


# What a provisioning path may set on a person: profile data, never identity (the e-mail is
# contact data; who someone is at an IdP is their ExternalIdentity).
PROFILE_FIELDS = frozenset({"username", "display_name", "first_name", "last_name", "email"})


def user_create(
    *,
    username: str,
    by: User | None,
    via: str = "",
    display_name: str = "",
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    is_active: bool = True,
    savepoint: bool = True,
) -> User:
    """A new person without a password (they sign in through their identity provider).

    The caller checks that the username is free; a clash raises IntegrityError.

    `savepoint=False` only for a caller whose transaction ends on any error from here (SCIM's
    creation: a refusal rolls the whole request back): it saves two statements a person in a
    push. With the savepoint (the default), a caller may catch a refusal and go on.
    """
    with transaction.atomic(savepoint=savepoint):
        user = User(
            username=username,
            display_name=display_name,
            first_name=first_name,
            last_name=last_name,
            email=email,
            is_active=is_active,
        )
        _require_user_administrator(by, user)
        user.set_unusable_password()
        model_create(user)  # with auditlog's entry, for less CPU (accounts/model_history.py)
        audit_event_record(
            actor=by,
            event_type=AuditEventType.USER_CREATED,
            details={**_details(user, via), "active": is_active},
        )
    return user


@transaction.atomic
def user_profile_update(*, user: User, by: User | None, via: str = "", **changes: str) -> list[str]:
    """Change profile fields (PROFILE_FIELDS) of user; returns the names of those changed.

    The caller checks that a new username is free; a clash raises IntegrityError.
    """
    _require_user_administrator(by, user)
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        raise ValueError(f"not a profile field: {', '.join(sorted(unknown))}")
    changed = sorted(k for k, v in changes.items() if getattr(user, k) != v)
    if changed:
        User.objects.filter(pk=user.pk).update(**{k: changes[k] for k in changed})
        for name in changed:
            setattr(user, name, changes[name])
        audit_event_record(
            actor=by,
            event_type=AuditEventType.USER_PROFILE_UPDATED,
            details={**_details(user, via), "changed": changed},
        )
    return changed


def user_seen(*, user: User, at: datetime | None = None) -> None:
    """Record that this person was seen now: a sign-in, a chat socket connecting, an API token
    used. Free when they were seen within SEEN_PRECISION (the loaded row says so); otherwise one
    UPDATE by primary key that never moves the time back. Not audited: it is activity, like
    `last_login`, not a change anyone made."""
    at = at or timezone.now()
    if user.last_seen_at is not None and user.last_seen_at > at - SEEN_PRECISION:
        return
    User.objects.filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=at), pk=user.pk).update(
        last_seen_at=at
    )
    user.last_seen_at = at
