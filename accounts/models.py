from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Upper
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
    # "Last seen": the latest of a sign-in, a chat socket's connection and an API token's use,
    # to SEEN_PRECISION (accounts.services.users.user_seen). The console filters on it.
    last_seen_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)

    class Meta:
        ordering = ["username"]
        indexes = [
            # userName is unique case-insensitively (SCIM's uniqueness check, `userName eq`):
            # without it every SCIM creation scanned the whole table (docs/performance.md).
            models.Index(Upper("username"), name="accounts_user_username_upper"),
        ]

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
    # A mapped request whose identity-provider group membership is gone before approval.
    WITHDRAWN = "withdrawn", "Withdrawn (group membership gone)"


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
    mapped_from = models.CharField(
        max_length=300,
        blank=True,
        help_text="The identity-provider group (provider slug:group value) whose role rule "
        "asked for this role; empty for a role asked for by hand. A grant from a mapped request "
        "ends when the person leaves the last group that maps the role.",
    )

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


class IdentityProviderKind(models.TextChoices):
    OIDC = "oidc", "OpenID Connect"
    SAML = "saml", "SAML 2.0"


class IdentityProvider(models.Model):
    """A corporate identity provider people sign in with (and that may provision them by SCIM).

    `issuer` is the OIDC issuer URL or the SAML entity id; with the subject it names a person
    (ExternalIdentity). `config` holds what only one kind needs (client id and secret, metadata,
    endpoints), read by `accounts.sso`. Written only by `accounts.services.identities`.
    """

    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=8, choices=IdentityProviderKind.choices)
    name = models.CharField(max_length=100)
    issuer = models.CharField(max_length=500)
    enabled = models.BooleanField(default=True)
    jit_provisioning = models.BooleanField(
        default=True,
        help_text="Create people at their first sign-in; off means SCIM-only provisioning.",
    )
    groups_claim = models.CharField(
        max_length=100, blank=True, help_text="The OIDC claim or SAML attribute naming groups."
    )
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "slug"]

    def __str__(self) -> str:
        return f"{self.slug} ({self.kind})"


class ExternalIdentity(models.Model):
    """A person as an identity provider names them: (issuer, subject), never an e-mail.

    The issuer is kept as it was when the identity was linked: it is part of the name.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="identities"
    )
    provider = models.ForeignKey(
        IdentityProvider, on_delete=models.PROTECT, related_name="identities"
    )
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    linked_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="unique_external_identity")
        ]
        verbose_name_plural = "external identities"

    def __str__(self) -> str:
        return f"{self.issuer} {self.subject} → {self.user_id}"


class GroupSource(models.TextChoices):
    LOCAL = "local", "Local"
    SCIM = "scim", "SCIM provisioning"
    SSO = "sso", "Single sign-on claim"


class Group(models.Model):
    """A group of people: provisioned by an identity provider (SCIM, or a sign-in's groups
    claim) or made locally by an administrator. Groups feed role mapping, information-barrier
    segments and policy scopes. Not Django's auth Group, which carries permissions eim does
    not use. Written only by `accounts.services.groups`.
    """

    display_name = models.CharField(max_length=255)
    source = models.CharField(max_length=8, choices=GroupSource.choices)
    provider = models.ForeignKey(
        IdentityProvider,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="groups",
        help_text="Who provisions the group; None for a local group.",
    )
    external_id = models.CharField(
        max_length=255, blank=True, help_text="The provider's id (SCIM id or claim value)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    members = models.ManyToManyField(  # type: ignore[var-annotated]
        settings.AUTH_USER_MODEL, through="GroupMembership", related_name="member_of"
    )

    class Meta:
        ordering = ["display_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"],
                condition=~models.Q(external_id=""),
                name="unique_group_external_id",
            ),
            models.UniqueConstraint(
                fields=["display_name"],
                condition=models.Q(provider__isnull=True),
                name="unique_local_group_name",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class GroupMembership(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="group_memberships"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="unique_group_membership")
        ]
        indexes = [models.Index(fields=["user", "group"], name="group_membership_by_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id}"


class GroupRoleRule(models.Model):
    """Members of the provider's group `group_value` (as its claim or attribute says it) should
    hold `role`. Roles under four eyes still wait for a second administrator's approval."""

    provider = models.ForeignKey(
        IdentityProvider, on_delete=models.CASCADE, related_name="role_rules"
    )
    group_value = models.CharField(max_length=255)
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["provider", "group_value", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "group_value", "role"], name="unique_group_role_rule"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider_id}:{self.group_value} → {self.role}"


class WorkspaceSettings(models.Model):
    """One version of the workspace settings an administrator changes in the console. Each
    change is a new row, never an update; the highest version is in effect. `values` holds
    what administrators set; a key missing falls back to the environment's setting. Written
    only by `accounts.workspace.services`, read through `accounts.workspace.selectors`."""

    version = models.PositiveIntegerField(unique=True)
    values = models.JSONField(default=dict)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = "workspace settings"

    def __str__(self) -> str:
        return f"workspace settings v{self.version}"
