"""Single sign-on (OIDC and SAML 2.0 through django-allauth) and MFA for local accounts.

The identity providers are `accounts.models.IdentityProvider` rows, handed to allauth by the
adapter (`adapter.py`, docs/adr/0008-sso-provider-bridge.md). allauth runs the protocol; this
package hardens it where allauth is lenient (`oidc.py`: nonce, PKCE, ID-token signature always
checked against the issuer's JWKS; `saml.py`: signed assertions, no SHA-1, clock skew,
assertion replay) and decides who signed in (`services.py`: (issuer, subject), never e-mail).
"""
