from dataclasses import dataclass
from urllib.parse import urlparse

from allauth.mfa.models import Authenticator
from django.db.models import QuerySet

from accounts.models import IdentityProvider, IdentityProviderKind, Role, RoleGrant, User
from accounts.selectors import user_roles
from accounts.workspace.selectors import workspace_settings

# Holders of these roles keep a local password (break-glass) and must use MFA with it.
PRIVILEGED_ROLES = frozenset({Role.ADMINISTRATOR, Role.COMPLIANCE_OFFICER, Role.AUDITOR})


def identity_providers_enabled() -> QuerySet[IdentityProvider]:
    return IdentityProvider.objects.filter(enabled=True).order_by("name", "slug")


def identity_provider_enabled(*, slug: str) -> IdentityProvider | None:
    return identity_providers_enabled().filter(slug=slug).first()


def user_is_privileged(*, user: User) -> bool:
    return bool(user_roles(user=user) & PRIVILEGED_ROLES)


def local_sign_in_allowed(*, user: User) -> bool:
    """May this person sign in with a local password? Everyone while the workspace setting
    `local_sign_in` is on (its default is EIM_LOCAL_SIGN_IN); otherwise only the privileged
    (break-glass), who must use MFA with it."""
    return workspace_settings().local_sign_in or user_is_privileged(user=user)


def provider_origins() -> list[str]:
    """The origins the enabled providers sign people in at (OIDC issuer, SAML SSO URL)."""
    origins = set()
    for provider in identity_providers_enabled():
        url = provider.issuer
        if provider.kind == IdentityProviderKind.SAML:
            url = provider.config.get("idp", {}).get("sso_url", "")
        parsed = urlparse(url)
        if parsed.scheme in {"https", "http"} and parsed.netloc:
            origins.add(f"{parsed.scheme}://{parsed.netloc}")
    return sorted(origins)


@dataclass(frozen=True)
class MfaState:
    """What an administrator may know of a person's MFA: which kinds of authenticator they
    have set up and whether their roles require MFA. Never a secret, a seed or a code."""

    totp: bool
    webauthn: int
    recovery_codes: bool
    required: bool

    @property
    def enabled(self) -> bool:
        return self.totp or self.webauthn > 0


def mfa_state(*, user_id: int) -> MfaState:
    types = list(Authenticator.objects.filter(user_id=user_id).values_list("type", flat=True))
    return MfaState(
        totp=Authenticator.Type.TOTP in types,
        webauthn=types.count(Authenticator.Type.WEBAUTHN),
        recovery_codes=Authenticator.Type.RECOVERY_CODES in types,
        required=RoleGrant.objects.filter(user_id=user_id, role__in=PRIVILEGED_ROLES).exists(),
    )
