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
    try:
        text = secret.decode("ascii")
    except UnicodeDecodeError:
        return None
    digest = hash_token(text)
    candidates = AuthToken.objects.filter(
        token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH]
    ).select_related("user", "activity")
    token = next((t for t in candidates if compare_digest(digest, t.digest)), None)
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expiry is None or token.expiry <= now:  # none is made without one
        token.delete()
        return None
    _record_use(token, now)
    user_seen(user=token.user, at=now)
    return token


def _record_use(token: AuthToken, now: datetime) -> None:
    activity: ApiTokenActivity | None = getattr(token, "activity", None)
    if activity is not None and activity.last_used_at > now - LAST_USED_PRECISION:
        return
    # One statement (an upsert, in SQL that PostgreSQL and SQLite both take), not a read and
    # a write in a transaction: after a restart every socket's handshake records its token's
    # use, and building the ORM's upsert cost more than running it (docs/performance.md).
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ApiTokenActivity._meta.db_table} (token_id, last_used_at) "  # noqa: S608
            "VALUES (%s, %s) ON CONFLICT (token_id) DO UPDATE SET "
            "last_used_at = excluded.last_used_at",
            [token.pk, connection.ops.adapt_datetimefield_value(now)],
        )


def _token_details(token: AuthToken) -> dict[str, object]:
    return {
        "user": token.user_id,
        "token_key": token.token_key,
        "expiry": token.expiry.isoformat() if token.expiry else None,
    }
