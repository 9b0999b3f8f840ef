"""SCIM bearer tokens: made and revoked by command, checked on every SCIM request."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from hmac import compare_digest
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import IdentityProvider, User
from audit.models import AuditEventType
from audit.services import audit_event_record

from ..models import ScimToken

TOKEN_PREFIX = "scim_"  # noqa: S105 - how a SCIM secret starts, not a secret
# How stale a token's recorded last use may get: one write per token per this, at most.
LAST_USED_PRECISION = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _details(token: ScimToken) -> dict[str, object]:
    return {
        "token_id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "provider": token.provider.slug if token.provider else None,
    }


@transaction.atomic
def scim_token_create(
    *, name: str, provider: IdentityProvider | None, actor: User | None = None
) -> tuple[ScimToken, str]:
    """A new token and its secret, which is shown once and stored only as a digest.

    Raises ValueError if the name is taken, empty or too long. `actor` is the administrator
    who made it in the console (None from the command line).
    """
    name = name.strip()
    if not name:
        raise ValueError("a SCIM token needs a name")
    if len(name) > ScimToken._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ValueError("a SCIM token's name is at most 100 characters")
    if ScimToken.objects.filter(name=name).exists():
        raise ValueError(f"a SCIM token named {name!r} exists already")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ScimToken.objects.create(
        name=name, provider=provider, digest=_digest(secret), prefix=secret[:12]
    )
    audit_event_record(
        actor=actor, event_type=AuditEventType.SCIM_TOKEN_CREATED, details=_details(token)
    )
    return token, secret


@transaction.atomic
def scim_token_revoke(*, token: ScimToken, actor: User | None = None) -> bool:
    """Refuse the token from now on; False if it was revoked already."""
    updated = ScimToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated:
        token.refresh_from_db()
        audit_event_record(
            actor=actor, event_type=AuditEventType.SCIM_TOKEN_REVOKED, details=_details(token)
        )
    return bool(updated)


@dataclass(frozen=True)
class _Known:
    """A token found live once, and what its provider row was then (a digest of it)."""

    token: ScimToken
    provider_state: str | None


# Per process, by digest: the tokens this process has seen live. Never trusted alone: every
# request reads the token's row again (`_token_state`), so a revoked token is refused on the
# very next request and a renamed token or a changed provider is loaded afresh. What it saves
# is the ORM's work of building that query and two model instances, ~1 ms of CPU a request.
_known: dict[str, _Known] = {}


def _token_state(digest: str) -> tuple[int, str, int | None, Any, str | None] | None:
    """(id, name, provider id, last use, a digest of the provider's row) of the live token
    with this digest, from one indexed read."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id, t.name, t.provider_id, t.last_used_at, md5(row_to_json(p)::text) "
            "FROM scim_scimtoken t LEFT JOIN accounts_identityprovider p "
            "ON p.id = t.provider_id WHERE t.digest = %s AND t.revoked_at IS NULL",
            [digest],
        )
        return cursor.fetchone()


def _token_loaded(digest: str) -> ScimToken | None:
    return (
        ScimToken.objects.select_related("provider")
        .filter(digest=digest, revoked_at__isnull=True)
        .first()
    )


def _token_live(digest: str) -> ScimToken | None:
    if connection.vendor != "postgresql":  # the state's SQL is PostgreSQL's (dev on SQLite)
        return _token_loaded(digest)
    state = _token_state(digest)
    if state is None:
        _known.pop(digest, None)
        return None
    token_id, name, provider_id, last_used_at, provider_state = state
    known = _known.get(digest)
    if known is not None and (token_id, name, provider_id, provider_state) == (
        known.token.pk,
        known.token.name,
        known.token.provider_id,
        known.provider_state,
    ):
        known.token.last_used_at = last_used_at
        return known.token
    # Loaded after the state was read: were the token or its provider changed in between,
    # the state kept is the older one and the next request loads the token again.
    token = ScimToken.objects.select_related("provider").filter(pk=token_id).first()
    if token is None or token.revoked_at is not None:
        return None
    _known[digest] = _Known(token, provider_state)
    return token


def scim_token_authenticate(*, secret: str) -> ScimToken | None:
    """The live token this secret names, or None. Its use is recorded, at most once a minute."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    digest = _digest(secret)
    token = _token_live(digest)
    if token is None or not compare_digest(token.digest, digest):
        return None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_PRECISION:
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
