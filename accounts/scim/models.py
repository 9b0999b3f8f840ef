"""What SCIM provisioning keeps beside the accounts models: its bearer tokens, and the SCIM
attributes of the people and groups it provisions (profile data, never identity).

Written only by `accounts.scim.services`.
"""

from django.conf import settings
from django.db import models

from accounts.models import Group, IdentityProvider


class ScimToken(models.Model):
    """A bearer token an identity provider's provisioning client sends. Only the SHA-256 of
    the secret is stored (the secret carries 256 random bits, so no salt or slow hash is
    needed). Bound to a provider, the people it creates with an externalId are linked to
    that provider's identities; it sees only what was provisioned under the same binding."""

    name = models.CharField(max_length=100, unique=True)
    provider = models.ForeignKey(
        IdentityProvider,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="scim_tokens",
    )
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The secret's first characters, to tell.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ScimUserProfile(models.Model):
    """The SCIM side of a provisioned person: who provisioned them (the token's provider, None
    for an unbound token), their externalId, and the enterprise extension. A user without one
    was not provisioned by SCIM and is invisible to it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.PROTECT, related_name="scim"
    )
    provider = models.ForeignKey(
        IdentityProvider, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    external_id = models.CharField(max_length=255, blank=True)
    department = models.CharField(max_length=255, blank=True)
    employee_number = models.CharField(max_length=255, blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_modified = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["provider", "external_id"], name="scim_user_external_id")]

    def __str__(self) -> str:
        return f"SCIM profile of {self.user_id}"


class ScimGroupRecord(models.Model):
    """When SCIM last changed a group (its members included), for meta.lastModified."""

    group = models.OneToOneField(
        Group, primary_key=True, on_delete=models.CASCADE, related_name="scim"
    )
    last_modified = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"SCIM record of group {self.group_id}"
