"""What the administrator's API answers: plain dicts from the console's selectors."""

from typing import Any

from accounts.models import Group, GroupRoleRule, IdentityProvider, RoleRequest, User
from eim.chat.models import Conversation

from ..selectors.channels import ChannelOverview
from ..selectors.groups import GroupOverview, provider_config_shown
from ..selectors.people import PeoplePage, PersonOverview


def people_page_payload(page: PeoplePage) -> dict[str, Any]:
    return {
        "results": [
            {
                "id": p.pk,
                "username": p.username,
                "name": p.shown_name,
                "active": p.is_active,
                "last_login": p.last_login,
                "last_seen_at": p.last_seen_at,
                "roles": sorted(page.roles.get(p.pk, [])),
                "providers": page.providers.get(p.pk, []),
            }
            for p in page.people
        ],
        "next_after": page.next_after,
    }


def role_request_payload(r: RoleRequest) -> dict[str, Any]:
    return {
        "id": r.pk,
        "user": r.user_id,
        "username": r.user.username,
        "role": r.role,
        "status": r.status,
        "reason": r.reason,
        "requested_by": r.requested_by_id,
        "requested_at": r.requested_at,
        "expires_at": r.expires_at,
    }


def person_payload(o: PersonOverview) -> dict[str, Any]:
    p = o.person
    return {
        "id": p.pk,
        "username": p.username,
        "name": p.shown_name,
        "email": p.email,
        "active": p.is_active,
        "last_login": p.last_login,
        "last_seen_at": p.last_seen_at,
        "roles": o.roles,
        "pending_role_requests": [role_request_payload(r) for r in o.pending],
        "identities": [
            {
                "provider": i.provider.slug,
                "issuer": i.issuer,
                "subject": i.subject,
                "last_sign_in_at": i.last_sign_in_at,
            }
            for i in o.identities
        ],
        "groups": [
            {"id": g.pk, "display_name": g.display_name, "source": g.source} for g in o.groups
        ],
        "sessions": [
            {"signed_in_at": s.signed_in_at, "user_agent": s.user_agent, "address": s.address}
            for s in o.sessions
        ],
        "sockets": o.sockets,
        "tokens": o.tokens,
        "mfa": {
            "enabled": o.mfa.enabled,
            "required_by_role": o.mfa.required,
            "totp": o.mfa.totp,
            "webauthn_keys": o.mfa.webauthn,
            "recovery_codes": o.mfa.recovery_codes,
        },
    }


def channel_row_payload(c: Conversation, owners: list[str], member_count: int) -> dict[str, Any]:
    return {
        "id": c.pk,
        "kind": c.kind,
        "name": c.name,
        "owners": owners,
        "member_count": member_count,
        "created_at": c.created_at,
        "archived": c.archived_at is not None,
    }


def channel_payload(o: ChannelOverview) -> dict[str, Any]:
    c = o.conversation
    owners = [m.user.username for m in o.owners]
    return channel_row_payload(c, owners, o.member_count) | {
        "history_visible": c.history_visible,
        "members": [
            {
                "user": m.user_id,
                "username": m.user.username,
                "role": m.role,
                "joined_at": m.joined_at,
            }
            for m in o.members
        ],
    }


def group_payload(g: Group, member_count: int) -> dict[str, Any]:
    return {
        "id": g.pk,
        "display_name": g.display_name,
        "source": g.source,
        "provider": g.provider.slug if g.provider else None,
        "external_id": g.external_id,
        "member_count": member_count,
    }


def group_detail_payload(o: GroupOverview) -> dict[str, Any]:
    return group_payload(o.group, o.member_count) | {
        "members": [{"user": u.pk, "username": u.username} for u in o.members]
    }


def rule_payload(r: GroupRoleRule) -> dict[str, Any]:
    return {"id": r.pk, "group_value": r.group_value, "role": r.role}


def provider_payload(p: IdentityProvider, rules: list[GroupRoleRule]) -> dict[str, Any]:
    return {
        "id": p.pk,
        "slug": p.slug,
        "kind": p.kind,
        "name": p.name,
        "issuer": p.issuer,
        "enabled": p.enabled,
        "jit_provisioning": p.jit_provisioning,
        "groups_claim": p.groups_claim,
        "config": provider_config_shown(provider=p),
        "rules": [rule_payload(r) for r in rules],
    }


def user_ref(u: User) -> dict[str, Any]:
    return {"id": u.pk, "username": u.username}
