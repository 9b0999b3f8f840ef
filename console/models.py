from django.conf import settings
from django.db import models


class WebSession(models.Model):
    """A web sign-in: which session a person signed in with, so the console can list their
    open sessions (Django's session store cannot be searched by user). Whether the session
    still holds is asked of `accounts.selectors.access_standing` when it is listed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="web_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    signed_in_at = models.DateTimeField()
    user_agent = models.CharField(max_length=200, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-signed_in_at"], name="web_session_by_user")]

    def __str__(self) -> str:
        return f"{self.user_id} since {self.signed_in_at}"
