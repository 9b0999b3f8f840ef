"""People provisioned by SCIM: created, replaced (PUT and PATCH end here), deprovisioned.

Deprovisioning deactivates, never deletes (the archive refers to people):
`accounts.services.user_deactivate` ends their sessions, tokens and open sockets.
"""

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import user_id_by_identity
from accounts.services import (
    user_create,
    user_deactivate,
    user_profile_update,
    user_reactivate,
)
from accounts.services.identities import identity_link
from audit.models import AuditEventType
from audit.services import audit_event_record, audit_events_batched
from eim.db import mark_inserted

from ..errors import ScimError, ScimType, invalid_value
from ..models import ScimToken, ScimUserProfile
from ..payloads import UserData
from ..selectors import scim_creation_clashes, scim_user, scim_username_taken, scim_users


def via(token: ScimToken) -> str:
    return f"scim:{token.name}"


def user_data_of(user: User) -> UserData:
    """What SCIM says of a provisioned person now (what a PATCH starts from)."""
    profile: ScimUserProfile = user.scim
    return UserData(
        user_name=user.username,
        display_name=user.display_name,
        given_name=user.first_name,
        family_name=user.last_name,
        email=user.email,
        active=user.is_active,
        external_id=profile.external_id,
        department=profile.department,
        employee_number=profile.employee_number,
        manager_id=str(profile.manager_id or ""),
    )


def _check(token: ScimToken, data: UserData, user: User | None) -> User | None:
    """Refuse what would clash; returns the manager, if named."""
    if user is None and token.provider is not None and data.external_id and _postgresql():
        _check_new_identity(token.provider.issuer, data)
    else:
        _check_unique(token, data, user)
    if not data.manager_id:
        return None
    manager = scim_user(token=token, user_id=data.manager_id)
    if manager is None or (user is not None and manager.pk == user.pk):
        raise invalid_value(f"manager: no such user {data.manager_id}")
    return manager


def _postgresql() -> bool:
    return connection.vendor == "postgresql"  # SQLite (development) keeps the ORM checks


def _check_new_identity(issuer: str, data: UserData) -> None:
    """A new person with an identity: both uniqueness rules in one statement (the push's
    path). The same rules and answers as `_check_unique`."""
    taken, linked = scim_creation_clashes(
        username=data.user_name, issuer=issuer, subject=data.external_id
    )
    if taken:
        raise ScimError(409, f"userName {data.user_name!r} is taken", ScimType.UNIQUENESS)
    if linked is not None:
        raise ScimError(409, "externalId names another person", ScimType.UNIQUENESS)


def _check_unique(token: ScimToken, data: UserData, user: User | None) -> None:
    if scim_username_taken(username=data.user_name, except_user_id=user.pk if user else None):
        raise ScimError(409, f"userName {data.user_name!r} is taken", ScimType.UNIQUENESS)
    if data.external_id and (user is None or user.scim.external_id != data.external_id):
        # Under a provider-bound token the externalId is the person's identity (issuer,
        # subject), unique in the database: the identity lookup below covers the profile's.
        if token.provider is None:
            others = scim_users(token=token).filter(scim__external_id=data.external_id)
            if user is not None:
                others = others.exclude(pk=user.pk)
            if others.exists():
                raise ScimError(409, "externalId is taken", ScimType.UNIQUENESS)
        else:
            linked = user_id_by_identity(issuer=token.provider.issuer, subject=data.external_id)
            if linked is not None and (user is None or linked != user.pk):
                raise ScimError(409, "externalId names another person", ScimType.UNIQUENESS)


def _link(token: ScimToken, user: User, external_id: str, *, new: bool = False) -> None:
    """`new`: in a creation, whose transaction ends on any error (no savepoint needed)."""
    if token.provider is not None and external_id:
        identity_link(
            provider=token.provider,
            user=user,
            subject=external_id,
            via="scim",
            new=new,
            savepoint=not new,
        )


@transaction.atomic(savepoint=False)  # the request's transaction: any error rolls it all back
def scim_user_create(*, token: ScimToken, data: UserData) -> User:
    """A concurrent creation of the same userName, after the check, raises IntegrityError
    (the view answers 409 and the request's transaction rolls back).

    The rows are written first and the audit events (user.created, identity.linked) together
    at the end (`audit_events_batched`): the audit head's lock, which serialises every
    audited write, is held for three statements and the commit (docs/performance.md)."""
    manager = _check(token, data, None)
    with audit_events_batched():
        return _create(token, data, manager)


def _create(token: ScimToken, data: UserData, manager: User | None) -> User:
    """Without savepoints: any refusal here (a concurrent twin's IntegrityError) ends the
    request's transaction, which the view rolls back and answers 409."""
    user = user_create(
        username=data.user_name,
        by=None,
        via=via(token),
        display_name=data.display_name,
        first_name=data.given_name,
        last_name=data.family_name,
        email=data.email,
        is_active=data.active,
        savepoint=False,
    )
    user.scim = _profile_insert(
        ScimUserProfile(
            user=user,
            provider=token.provider,
            external_id=data.external_id,
            department=data.department,
            employee_number=data.employee_number,
            manager=manager,
        )
    )
    _link(token, user, data.external_id, new=True)
    return user


_PROFILE_INSERT = """
    INSERT INTO scim_scimuserprofile (user_id, provider_id, external_id, department,
        employee_number, manager_id, created_at, last_modified)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""


def _profile_insert(profile: ScimUserProfile) -> ScimUserProfile:
    """The new profile's row; in plain SQL on PostgreSQL, where building the ORM's INSERT cost
    more than running it (one a person in a push). No signal listens to it."""
    profile.created_at = profile.last_modified = timezone.now()
    if not _postgresql():
        profile.save(force_insert=True)
        return profile
    with connection.cursor() as cursor:
        cursor.execute(
            _PROFILE_INSERT,
            [
                profile.user_id,
                profile.provider_id,
                profile.external_id,
                profile.department,
                profile.employee_number,
                profile.manager_id,
                profile.created_at,
                profile.last_modified,
            ],
        )
    mark_inserted(profile, pk=profile.pk, alias=connection.alias)  # its key is its person's
    return profile


def _profile_changes(profile: ScimUserProfile, data: UserData) -> dict[str, object]:
    wanted: dict[str, object] = {
        "external_id": data.external_id,
        "department": data.department,
        "employee_number": data.employee_number,
        "manager_id": int(data.manager_id) if data.manager_id else None,
    }
    return {k: v for k, v in wanted.items() if getattr(profile, k) != v}


@transaction.atomic
def scim_user_replace(*, token: ScimToken, user: User, data: UserData) -> User:
    """Make the person what `data` says (PUT; PATCH applies its operations to the current
    data first). Every change is audited; an unchanged person is left as they are."""
    _check(token, data, user)
    changed = user_profile_update(
        user=user,
        by=None,
        via=via(token),
        username=data.user_name,
        display_name=data.display_name,
        first_name=data.given_name,
        last_name=data.family_name,
        email=data.email,
    )
    profile: ScimUserProfile = user.scim
    scim_changes = _profile_changes(profile, data)
    if scim_changes:
        ScimUserProfile.objects.filter(pk=profile.pk).update(**scim_changes)
        audit_event_record(
            actor=None,
            event_type=AuditEventType.SCIM_USER_UPDATED,
            details={"user": user.pk, "via": via(token), "changes": _audited(scim_changes)},
        )
        _link(token, user, data.external_id)
    active_changed = data.active != user.is_active
    if active_changed:
        _set_active(token, user, data.active)
    if changed or scim_changes or active_changed:
        ScimUserProfile.objects.filter(pk=profile.pk).update(last_modified=timezone.now())
    return scim_users(token=token).get(pk=user.pk)


def _audited(changes: dict[str, object]) -> dict[str, object]:
    return {k: (str(v) if v is not None else None) for k, v in changes.items()}


def _set_active(token: ScimToken, user: User, active: bool) -> None:
    if active:
        user_reactivate(user=user, by=None, via=via(token))
    else:
        user_deactivate(user=user, by=None, via=via(token))


@transaction.atomic
def scim_user_deprovision(*, token: ScimToken, user: User) -> None:
    """DELETE: deactivate (sessions, tokens and sockets end); the person is kept."""
    if user_deactivate(user=user, by=None, via=via(token)):
        ScimUserProfile.objects.filter(pk=user.pk).update(last_modified=timezone.now())
