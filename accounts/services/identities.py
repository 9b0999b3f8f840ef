"""Identity providers, the (issuer, subject) identities they assert, and their group → role
rules. The SSO sign-in, SCIM provisioning, the console and the commands all write through here.

An identity is linked once and never moved to another person: (issuer, subject) is the key,
and nothing (an e-mail, a username) links an identity to an existing account by matching.
"""

from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.errors import RoleError, RoleErrorCode
from accounts.models import (
    ExternalIdentity,
    GroupRoleRule,
    IdentityProvider,
    IdentityProviderKind,
    Role,
    User,
)
from accounts.selectors import user_is_active_administrator
from audit.models import AuditEventType
from audit.services import audit_event_record
from eim.db import mark_inserted

from .role_mapping import role_mapping_rule_changed

# What an administrator may change on a provider after it is made (the slug and kind stay).
PROVIDER_FIELDS = frozenset(
    {"name", "issuer", "enabled", "jit_provisioning", "groups_claim", "config"}
)


def _require_administrator(actor: User | None) -> None:
    if actor is not None and not user_is_active_administrator(user=actor):
        raise RoleError(
            RoleErrorCode.NOT_ADMINISTRATOR, "only an administrator manages identity providers"
        )


def _provider_summary(provider: IdentityProvider) -> dict[str, Any]:
    # Never the config: it holds the client secret.
    return {"provider_id": provider.pk, "slug": provider.slug, "kind": provider.kind}


@transaction.atomic
def identity_provider_create(
    *,
    actor: User | None,
    slug: str,
    kind: IdentityProviderKind,
    name: str,
    issuer: str,
    jit_provisioning: bool = True,
    groups_claim: str = "",
    config: dict[str, Any] | None = None,
) -> IdentityProvider:
    _require_administrator(actor)
    provider = IdentityProvider.objects.create(
        slug=slug,
        kind=kind,
        name=name,
        issuer=issuer,
        jit_provisioning=jit_provisioning,
        groups_claim=groups_claim,
        config=config or {},
    )
    audit_event_record(
        actor=actor,
        event_type=AuditEventType.IDENTITY_PROVIDER_CREATED,
        details={**_provider_summary(provider), "issuer": issuer, "jit": jit_provisioning},
    )
    return provider


@transaction.atomic
def identity_provider_update(
    *, actor: User | None, provider: IdentityProvider, **changes: Any
) -> IdentityProvider:
    _require_administrator(actor)
    unknown = set(changes) - PROVIDER_FIELDS
    if unknown:
        raise ValueError(f"not a provider setting: {', '.join(sorted(unknown))}")
    changed = sorted(k for k, v in changes.items() if getattr(provider, k) != v)
    if changed:
        IdentityProvider.objects.filter(pk=provider.pk).update(
            **{k: changes[k] for k in changed}, updated_at=timezone.now()
        )
        provider.refresh_from_db()
        audit_event_record(
            actor=actor,
            event_type=AuditEventType.IDENTITY_PROVIDER_UPDATED,
            details={**_provider_summary(provider), "changed": changed},
        )
    return provider


def identity_link(
    *,
    provider: IdentityProvider,
    user: User,
    subject: str,
    via: str,
    new: bool = False,
    savepoint: bool = True,
) -> ExternalIdentity:
    """Name `user` as (provider's issuer, subject). Linking an identity already linked to the
    same person is a no-op; to someone else it is refused (ValueError), never moved.

    `new`: the caller found no such identity in this transaction (SCIM's creation checks it),
    so it is inserted without looking again; a concurrent twin raises IntegrityError.
    `savepoint=False` only for a caller whose transaction ends on any error from here (SCIM's
    creation); with the savepoint (the default), a caller may catch a refusal and go on."""
    with transaction.atomic(savepoint=savepoint):
        if new:
            identity, created = _identity_insert(provider, user, subject), True
        else:
            identity, created = ExternalIdentity.objects.get_or_create(
                issuer=provider.issuer,
                subject=subject,
                defaults={"user": user, "provider": provider},
            )
        if identity.user_id != user.pk:
            raise ValueError("this identity belongs to another person")
        if created:
            audit_event_record(
                actor=None,
                event_type=AuditEventType.IDENTITY_LINKED,
                details={
                    **_provider_summary(provider),
                    "user_id": user.pk,
                    "issuer": provider.issuer,
                    "subject": subject,
                    "via": via,
                },
            )
    return identity


_IDENTITY_INSERT = """
    INSERT INTO accounts_externalidentity (user_id, provider_id, issuer, subject, linked_at)
    VALUES (%s, %s, %s, %s, %s) RETURNING id
"""


def _identity_insert(provider: IdentityProvider, user: User, subject: str) -> ExternalIdentity:
    """The new identity's row; in plain SQL on PostgreSQL, where building the ORM's INSERT cost
    more than running it (a SCIM push inserts one a person). No signal listens to it."""
    identity = ExternalIdentity(
        issuer=provider.issuer,
        subject=subject,
        user=user,
        provider=provider,
        linked_at=timezone.now(),
    )
    if connection.vendor != "postgresql":
        identity.save(force_insert=True)
        return identity
    with connection.cursor() as cursor:
        cursor.execute(
            _IDENTITY_INSERT,
            [user.pk, provider.pk, provider.issuer, subject, identity.linked_at],
        )
        mark_inserted(identity, pk=cursor.fetchone()[0], alias=connection.alias)
    return identity


@transaction.atomic
def group_role_rule_add(
    *, actor: User, provider: IdentityProvider, group_value: str, role: Role
) -> GroupRoleRule:
    _require_administrator(actor)
    rule, created = GroupRoleRule.objects.get_or_create(
        provider=provider, group_value=group_value, role=role, defaults={"created_by": actor}
    )
    if created:
        audit_event_record(
            actor=actor,
            event_type=AuditEventType.GROUP_ROLE_RULE_ADDED,
            details={**_provider_summary(provider), "group_value": group_value, "role": role},
        )
        _on_commit_rule_changed(provider.pk, group_value)
    return rule


@transaction.atomic
def group_role_rule_remove(*, actor: User, rule: GroupRoleRule) -> None:
    _require_administrator(actor)
    audit_event_record(
        actor=actor,
        event_type=AuditEventType.GROUP_ROLE_RULE_REMOVED,
        details={
            **_provider_summary(rule.provider),
            "group_value": rule.group_value,
            "role": rule.role,
        },
    )
    rule.delete()
    _on_commit_rule_changed(rule.provider_id, rule.group_value)


def _on_commit_rule_changed(provider_id: int, group_value: str) -> None:
    """The people the rule concerns get or lose its role at once, not at the next sweep."""
    transaction.on_commit(partial(role_mapping_rule_changed, provider_id, group_value))
