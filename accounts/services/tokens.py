"""API bearer tokens (django-rest-knox: only a SHA-512 digest is stored).

Every token expires (`EIM_API_TOKEN_TTL_DAYS`, REST_KNOX TOKEN_TTL) and records when it was
last used, at most once a minute. Deleting a token, by any path, ends the sockets it opened
(the post_delete receiver in accounts/signals.py tells the apps above).
"""

from datetime import datetime, timedelta
from hmac import compare_digest

from django.db import connection, transaction
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS

from audit.models import AuditEventType
from audit.services import audit_event_record

from ..models import ApiTokenActivity, User
from .users import user_seen

# How stale a token's recorded last use may get: one write per token per this, at most.
LAST_USED_PRECISION = timedelta(minutes=1)


@transaction.atomic
def api_token_create(*, user: User, by: User | None = None) -> str:
    """A new bearer token for user, expiring after the configured TTL; shown once."""
    token, secret = AuthToken.objects.create(user=user)
    audit_event_record(
        actor=by,
        event_type=AuditEventType.API_TOKEN_CREATED,
        details=_token_details(token),
    )
    return secret


@transaction.atomic
def api_token_revoke(*, token: AuthToken, by: User | None) -> None:
    """Delete the token; the sockets it authenticated close (accounts/signals.py)."""
    audit_event_record(
        actor=by, event_type=AuditEventType.API_TOKEN_REVOKED, details=_token_details(token)
    )
    token.delete()


def api_token_authenticate(*, secret: bytes) -> AuthToken | None:
    """The live token this secret names, with its user; None if none (or it expired).

    An expired token is deleted on sight. Its use is recorded, at most once a minute.
    """
    return api_tokens_authenticate(secrets=[secret])[0]


def api_tokens_authenticate(*, secrets: list[bytes]) -> list[AuthToken | None]:
    """api_token_authenticate for several secrets, in their order: one query for all of
    them, and one write of their uses. A restart's WebSocket handshakes arrive together and
    are checked in batches (eim/chat/arrivals.py); each secret is still judged on its own."""
    texts = [_secret_text(secret) for secret in secrets]
    keys = {text[: CONSTANTS.TOKEN_KEY_LENGTH] for text in texts if text is not None}
    candidates: dict[str, list[AuthToken]] = {}
    if keys:
        for token in AuthToken.objects.filter(token_key__in=keys).select_related(
            "user", "activity"
        ):
            candidates.setdefault(token.token_key, []).append(token)
    now = timezone.now()
    found: list[AuthToken | None] = []
    for text in texts:
        token = None
        if text is not None:
            digest = hash_token(text)
            token = next(
                (
                    t
                    for t in candidates.get(text[: CONSTANTS.TOKEN_KEY_LENGTH], ())
                    if compare_digest(digest, t.digest)
                ),
                None,
            )
        found.append(token if token is not None and token.user.is_active else None)
    live = _expired_deleted(found, now)
    _record_uses(live, now)
    for token in {t.pk: t for t in live}.values():
        user_seen(user=token.user, at=now)
    live_ids = {token.pk for token in live}
    return [token if token is not None and token.pk in live_ids else None for token in found]


def _secret_text(secret: bytes) -> str | None:
    try:
        return secret.decode("ascii")
    except UnicodeDecodeError:
        return None


def _expired_deleted(found: list[AuthToken | None], now: datetime) -> list[AuthToken]:
    """The live tokens among these; the expired ones deleted (once each)."""
    live, expired = [], {}
    for token in found:
        if token is None:
            continue
        if token.expiry is None or token.expiry <= now:  # none is made without one
            expired[token.pk] = token
        else:
            live.append(token)
    for token in expired.values():
        token.delete()
    return live


def _record_uses(tokens: list[AuthToken], now: datetime) -> None:
    stale = {
        token.pk
        for token in tokens
        if (activity := getattr(token, "activity", None)) is None
        or activity.last_used_at <= now - LAST_USED_PRECISION
    }
    if not stale:
        return
    # One statement (an upsert, in SQL that PostgreSQL and SQLite both take), not a read and
    # a write in a transaction: after a restart every socket's handshake records its token's
    # use, and building the ORM's upsert cost more than running it (docs/performance.md).
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ApiTokenActivity._meta.db_table} (token_id, last_used_at) "  # noqa: S608
            f"VALUES {', '.join(['(%s, %s)'] * len(stale))} ON CONFLICT (token_id) DO UPDATE "
            "SET last_used_at = excluded.last_used_at",
            [value for pk in sorted(stale) for value in (pk, stamp)],
        )


def _token_details(token: AuthToken) -> dict[str, object]:
    return {
        "user": token.user_id,
        "token_key": token.token_key,
        "expiry": token.expiry.isoformat() if token.expiry else None,
    }
