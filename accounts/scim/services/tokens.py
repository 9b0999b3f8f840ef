"""SCIM bearer tokens: made and revoked by command, checked on every SCIM request."""

import hashlib
import secrets
from datetime import timedelta
from hmac import compare_digest

from django.db import transaction
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


def scim_token_authenticate(*, secret: str) -> ScimToken | None:
    """The live token this secret names, or None. Its use is recorded, at most once a minute."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    digest = _digest(secret)
    token = (
        ScimToken.objects.select_related("provider")
        .filter(digest=digest, revoked_at__isnull=True)
        .first()
    )
    if token is None or not compare_digest(token.digest, digest):
        return None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_PRECISION:
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
