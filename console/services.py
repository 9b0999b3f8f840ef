"""The console's own writes: only its record of web sign-ins. Every administrative change is
made by the owning app's services (accounts, eim.chat), which audit it."""

from datetime import timedelta

from django.utils import timezone

from .models import WebSession

# No web session lasts longer (the workspace setting's bound, accounts.workspace.definitions).
LONGEST_SESSION = timedelta(days=90)


def web_session_record(
    *, user_id: int, session_key: str, user_agent: str, address: str | None
) -> None:
    """Remember a sign-in; forget this person's sign-ins older than any session can live."""
    now = timezone.now()
    WebSession.objects.filter(user_id=user_id, signed_in_at__lt=now - LONGEST_SESSION).delete()
    WebSession.objects.update_or_create(
        session_key=session_key,
        defaults={
            "user_id": user_id,
            "signed_in_at": now,
            "user_agent": user_agent[:200],
            "address": address or None,
        },
    )
