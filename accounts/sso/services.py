"""Who signed in: the one write path of an SSO sign-in.

A person is (issuer, subject) (`ExternalIdentity`); an e-mail, a username or a name never
finds or links an account. A known identity signs its person in and refreshes their profile
(a changed e-mail changes the profile, not the identity); an unknown one is provisioned just in
time when the provider allows it, and refused when the provider is SCIM-only. The groups claim
sets the person's `source=sso` groups of that provider, and the provider's GroupRoleRules
ask for roles through the role service (roles under four eyes wait for an administrator).
"""

import logging
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.models import (
    ExternalIdentity,
    Group,
    GroupSource,
    IdentityProvider,
    User,
)
from accounts.selectors import user_by_identity
from accounts.services.groups import group_create, group_members_add, group_members_remove
from accounts.services.identities import identity_link
from accounts.services.role_mapping import role_mapping_sync
from accounts.services.users import user_create, user_profile_update
from audit.models import AuditEventType
from audit.services import audit_event_record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignInClaims:
    """What the IdP said about the person, already verified by the protocol layer."""

    subject: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    display_name: str = ""
    username: str = ""
    groups: tuple[str, ...] = field(default_factory=tuple)


class SignInRefusedError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sso_sign_in(*, provider: IdentityProvider, claims: SignInClaims) -> User:
    """The person these verified claims name, provisioned if new; SignInRefusedError if nobody may
    sign in with them (the refusal is audited). Roles are mapped after the commit."""
    try:
        with transaction.atomic():
            user = _sign_in(provider, claims)
    except SignInRefusedError as refusal:
        with transaction.atomic():
            audit_event_record(
                actor=None,
                event_type=AuditEventType.SSO_SIGN_IN_REFUSED,
                details={
                    "provider_id": provider.pk,
                    "slug": provider.slug,
                    "subject": claims.subject,
                    "code": refusal.code,
                },
            )
        raise
    # The groups as they now stand (SCIM's membership where SCIM provisions the group) map
    # roles, and the roles of groups left are revoked (after the commit: the role services
    # run in their own transactions).
    role_mapping_sync(user_id=user.pk)
    return user


def _sign_in(provider: IdentityProvider, claims: SignInClaims) -> User:
    if not provider.enabled:
        raise SignInRefusedError("provider_disabled", "This sign-in provider is turned off.")
    user = user_by_identity(issuer=provider.issuer, subject=claims.subject)
    if user is None:
        if not provider.jit_provisioning:
            raise SignInRefusedError(
                "not_provisioned",
                "Your account has not been provisioned in eim yet. Ask your identity team.",
            )
        user = _provision(provider, claims)
    elif not user.is_active:
        raise SignInRefusedError("deactivated", "Your eim account is deactivated.")
    else:
        _profile_update(user, claims, provider)
    ExternalIdentity.objects.filter(issuer=provider.issuer, subject=claims.subject).update(
        last_sign_in_at=timezone.now()
    )
    if provider.groups_claim:
        _groups_sync(provider, user, tuple(sorted(set(claims.groups))))
    return user


def _provision(provider: IdentityProvider, claims: SignInClaims) -> User:
    """The person at their first sign-in, through the one user-creation service (audited as
    user.created, via the provider); identity_link records the (issuer, subject)."""
    user = user_create(
        username=_free_username(claims),
        by=None,
        via=f"sso:{provider.slug}",
        email=claims.email[:254],
        first_name=claims.first_name[:150],
        last_name=claims.last_name[:150],
        display_name=claims.display_name[:150],
    )
    identity_link(provider=provider, user=user, subject=claims.subject, via="sso")
    return user


def _free_username(claims: SignInClaims) -> str:
    """A username nobody has: a readable one from the claims, never matched to an account."""
    hint = claims.username or claims.email.split("@")[0] or "user"
    base = re.sub(r"[^\w.@+-]", "", hint)[:120] or "user"
    taken = set(User.objects.filter(username__istartswith=base).values_list("username", flat=True))
    taken_lower = {name.lower() for name in taken}
    candidate, n = base, 1
    while candidate.lower() in taken_lower:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _profile_update(user: User, claims: SignInClaims, provider: IdentityProvider) -> None:
    """What the IdP says of the person now (a changed e-mail among it): the profile, through
    the profile service (audited), never the identity."""
    wanted = {
        "email": claims.email[:254],
        "first_name": claims.first_name[:150],
        "last_name": claims.last_name[:150],
        "display_name": claims.display_name[:150],
    }
    user_profile_update(
        user=user, by=None, via=f"sso:{provider.slug}", **{k: v for k, v in wanted.items() if v}
    )


def _groups_sync(provider: IdentityProvider, user: User, values: tuple[str, ...]) -> None:
    """Make the person's sso groups of this provider exactly the claim's. A group SCIM
    provisions under the same id keeps its SCIM membership (SCIM is its source of truth)."""
    existing = {
        g.external_id: g
        for g in Group.objects.filter(provider=provider, external_id__in=values or ("",))
    }
    for value in values:
        group = existing.get(value)
        if group is None:
            group = group_create(
                actor=None,
                display_name=value[:255],
                source=GroupSource.SSO,
                provider=provider,
                external_id=value,
                via="sso",
            )
        if group.source == GroupSource.SSO:
            group_members_add(actor=None, group=group, user_ids=[user.pk], via="sso")
    left = Group.objects.filter(
        provider=provider, source=GroupSource.SSO, memberships__user=user
    ).exclude(external_id__in=values)
    for group in left:
        group_members_remove(actor=None, group=group, user_ids=[user.pk], via="sso")
