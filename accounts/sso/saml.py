"""SAML 2.0 through allauth (python3-saml), held to what a bank's SP must require.

- Signed assertions always (`want_assertion_signed`; allauth's default is off), RSA-SHA256 or
  stronger (`reject_deprecated_algorithm`: SHA-1 signatures and digests refused), strict mode
  (audience = our entity id, Recipient/Destination = our ACS URL, InResponseTo checked against
  the request we stashed). These are set here for every provider and cannot be configured off.
- Clock skew: python3-saml allows 300 s; EIM_SAML_CLOCK_SKEW_SECONDS (at most 180) instead.
- IdP-initiated sign-in refused unless the provider's config says `allow_idp_initiated`.
- Every assertion's ID is remembered until it expires (`replay.assertion_first_use`): a replayed
  assertion is refused.
"""

from datetime import UTC, datetime
from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.saml import provider as allauth_provider
from django.conf import settings
from django.http import HttpRequest
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

from accounts.models import IdentityProvider

from .replay import assertion_first_use

# python3-saml reads its skew from this class attribute, for every provider of the process.
OneLogin_Saml2_Constants.ALLOWED_CLOCK_DRIFT = settings.EIM_SAML_CLOCK_SKEW_SECONDS

SUBJECT_ID = "urn:oasis:names:tc:SAML:attribute:subject-id"
# The security settings no provider's config can change.
ENFORCED = {
    "strict": True,
    "want_assertion_signed": True,
    "reject_deprecated_algorithm": True,
    "signature_algorithm": OneLogin_Saml2_Constants.RSA_SHA256,
    "digest_algorithm": OneLogin_Saml2_Constants.SHA256,
}


class SAMLProvider(allauth_provider.SAMLProvider):
    package = "allauth.socialaccount.providers.saml"  # its URLs are allauth's

    def sociallogin_from_response(
        self, request: HttpRequest, response: OneLogin_Saml2_Auth
    ) -> SocialLogin:
        assertion_id = response.get_last_assertion_id()
        if not assertion_id or not assertion_first_use(
            issuer=self.app.settings["idp"]["entity_id"],
            assertion_id=assertion_id,
            not_on_or_after=_expiry(response),
        ):
            raise ImmediateHttpResponse(
                render_authentication_error(
                    request, self, extra_context={"saml_errors": ["replayed assertion"]}
                )
            )
        login: SocialLogin = super().sociallogin_from_response(request, response)
        return login


def _expiry(response: OneLogin_Saml2_Auth) -> datetime | None:
    stamp = response.get_last_assertion_not_on_or_after()
    return datetime.fromtimestamp(stamp, tz=UTC) if stamp else None


def saml_app_settings(provider: IdentityProvider) -> dict[str, Any]:
    """allauth's SocialApp.settings for a SAML IdentityProvider row."""
    config = provider.config
    idp = config["idp"]
    attribute_mapping = dict(allauth_provider.SAMLProvider.default_attribute_mapping)
    attribute_mapping.update(config.get("attribute_mapping", {}))
    if config.get("uid_attribute"):
        attribute_mapping["uid"] = [config["uid_attribute"]]
    return {
        "issuer": provider.issuer,
        "idp": {
            "entity_id": provider.issuer,
            "sso_url": idp["sso_url"],
            "slo_url": idp.get("slo_url", ""),
            "x509cert": idp["x509cert"],
        },
        "sp": {"entity_id": config.get("sp_entity_id", "")},
        "attribute_mapping": attribute_mapping,
        "advanced": {
            **ENFORCED,
            "reject_idp_initiated_sso": not config.get("allow_idp_initiated", False),
        },
    }


def saml_metadata_parse(xml: str) -> dict[str, Any]:
    """An IdP's metadata XML as an IdentityProvider config ({"idp": ...}) and its entity id.
    ValueError when the metadata lacks an entity id, a redirect SSO URL or a signing cert."""
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)
    except Exception as exc:  # lxml and the parser raise many kinds for bad XML
        raise ValueError(f"not SAML metadata: {exc}") from exc
    idp = parsed.get("idp", {})
    cert = idp.get("x509cert") or (idp.get("x509certMulti", {}).get("signing") or [""])[0]
    sso_url = idp.get("singleSignOnService", {}).get("url")
    if not idp.get("entityId") or not sso_url or not cert:
        raise ValueError("the metadata names no entity id, SSO URL or signing certificate")
    slo_url = idp.get("singleLogoutService", {}).get("url", "")
    return {
        "entity_id": idp["entityId"],
        "idp": {"sso_url": sso_url, "slo_url": slo_url, "x509cert": cert},
    }
