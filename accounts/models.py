from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac


class UserDeletionRefused(models.ProtectedError):
    """Users are deactivated, never deleted (accounts/signals.py)."""


class Role(models.TextChoices):
    EMPLOYEE = "employee", "Employee"
    ADMINISTRATOR = "administrator", "Administrator"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    AUDITOR = "auditor", "Auditor"


class User(AbstractUser):
    """A person. SSO identities (issuer, subject) attach to it; e-mail is never a key."""

    display_name = models.CharField(max_length=150, blank=True)
    session_generation = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Raised to end every session of the user at once (deactivation).",
    )

    class Meta:
        ordering = ["username"]

    @property
    def shown_name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """What a session must carry to stay signed in: the password hash, and the generation.

        A session stores this hash when it signs in and Django compares it on every request
        (channels on every handshake), so raising `session_generation` ends every session,
        and a reactivated user's old sessions stay dead. Generation 0 hashes like Django.
        """
        if not self.session_generation:
            return super()._get_session_auth_hash(secret=secret)  # type: ignore[misc]
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class RoleRequestStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"
    EXPIRED = "expired", "Expired"


class RoleRequest(models.Model):
    """That `user` should hold `role`: asked by one administrator, decided by another for the
    roles under four eyes, at once for the others. Written only by `accounts.services.roles`.

    `requested_by` is None for a bootstrap from the command line (`role_bootstrap`).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="role_requests"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    status = models.CharField(max_length=16, choices=RoleRequestStatus.choices)
    reason = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True)
    decision_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(status="pending"),
                name="one_pending_role_request",
            )
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="role_request_due")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role} ({self.status})"


class RoleGrant(models.Model):
    """One role held by one user: the effective grant, the only thing role checks read.

    Written only by `accounts.services.roles`; `request` is how it came to be (None for grants
    older than the requests). A Django superuser flag implies none of these.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roles"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    request = models.OneToOneField(
        RoleRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="grant"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="unique_role_grant")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}"


class ApiTokenActivity(models.Model):
    """When an API token was last used; written at most once a minute per token."""

    token = models.OneToOneField(
        "knox.AuthToken", primary_key=True, on_delete=models.CASCADE, related_name="activity"
    )
    last_used_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "API token activity"

    def __str__(self) -> str:
        return f"{self.token_id[:8]}… last used {self.last_used_at}"
