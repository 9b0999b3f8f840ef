"""Checking an OIDC ID token: signature by a key of the issuer's JWKS, then the claims.

allauth skips the signature of an ID token that came from the token endpoint (OIDC Core allows
it over TLS) and takes the algorithm from the token's own header. Here the signature is always
checked, only with asymmetric algorithms (never `none`, never HS256 keyed with a public key),
the key found by `kid` in the issuer's JWKS (fetched again once for an unknown `kid`: key
rotation), and `iss`, `aud` (and `azp`), `exp`, `iat` and `nonce` must all be right.
"""

import hashlib
import hmac
import json
import time
from typing import Any

import jwt
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from django.conf import settings
from django.core.cache import cache

# Asymmetric only: a symmetric algorithm would be keyed with whatever the JWKS publishes.
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class IdTokenRefusedError(OAuth2Error):
    """The ID token is not one this relying party accepts (allauth shows its error page)."""


def id_token_verify(
    *, token: str, jwks_uri: str, issuer: str, client_id: str, nonce: str | None
) -> dict[str, Any]:
    """The token's claims, if every check passes; IdTokenRefusedError saying which failed if not."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise IdTokenRefusedError(f"unreadable ID token: {exc}") from exc
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise IdTokenRefusedError(f"ID token algorithm {alg!r} refused")
    key = _signing_key(jwks_uri, header.get("kid"), alg)
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[alg],
            audience=client_id,
            issuer=issuer,
            leeway=settings.EIM_OIDC_LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise IdTokenRefusedError(f"ID token refused: {exc}") from exc
    _check_claims(claims, client_id=client_id, nonce=nonce)
    return claims


def _check_claims(claims: dict[str, Any], *, client_id: str, nonce: str | None) -> None:
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise IdTokenRefusedError("ID token for several audiences without this client as azp")
    if claims["iat"] < time.time() - settings.EIM_OIDC_ID_TOKEN_MAX_AGE_SECONDS:
        raise IdTokenRefusedError("ID token issued too long ago")
    if not nonce or not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise IdTokenRefusedError("ID token nonce does not match this sign-in")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise IdTokenRefusedError("ID token without a subject")


def _signing_key(jwks_uri: str, kid: str | None, alg: str) -> Any:
    found = _key_in(_jwks(jwks_uri, refresh=False), kid, alg)
    if found is None:
        # Maybe the issuer rotated its keys since we fetched them: fetch once more. A key id
        # still unknown then is remembered a while, so unknown ids cannot make us hammer it.
        missing = f"eim:sso:jwks-missing:{hashlib.sha256(f'{jwks_uri} {kid}'.encode()).hexdigest()}"
        if cache.add(missing, True, settings.EIM_OIDC_JWKS_REFETCH_SECONDS):
            found = _key_in(_jwks(jwks_uri, refresh=True), kid, alg)
    if found is None:
        raise IdTokenRefusedError(f"no key {kid!r} for {alg} in the issuer's JWKS")
    try:
        return jwt.PyJWK(found, algorithm=alg).key
    except jwt.PyJWTError as exc:
        raise IdTokenRefusedError(f"the issuer's key {kid!r} does not fit {alg}: {exc}") from exc


def _key_in(jwks: dict[str, Any], kid: str | None, alg: str) -> dict[str, Any] | None:
    candidates = [
        key
        for key in jwks.get("keys", [])
        if isinstance(key, dict)
        and key.get("use", "sig") == "sig"
        and key.get("alg", alg) == alg
        and (kid is None or key.get("kid") == kid)
    ]
    # Without a kid, only an unambiguous JWKS names the key.
    return candidates[0] if len(candidates) == 1 or (kid and candidates) else None


def _jwks(jwks_uri: str, *, refresh: bool) -> dict[str, Any]:
    key = "eim:sso:jwks:" + hashlib.sha256(jwks_uri.encode()).hexdigest()
    cached = None if refresh else cache.get(key)
    if cached is not None:
        return dict(cached)
    with get_adapter().get_requests_session() as session:
        response = session.get(jwks_uri)
    if response.status_code != 200:
        raise IdTokenRefusedError(f"the issuer's JWKS answered {response.status_code}")
    try:
        jwks = response.json()
    except json.JSONDecodeError as exc:
        raise IdTokenRefusedError("the issuer's JWKS is not JSON") from exc
    cache.set(key, jwks, settings.EIM_OIDC_JWKS_CACHE_SECONDS)
    return dict(jwks)
