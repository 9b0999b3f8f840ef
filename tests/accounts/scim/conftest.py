import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from accounts.models import IdentityProvider, IdentityProviderKind
from accounts.scim.models import ScimToken
from accounts.scim.services.tokens import scim_token_create
from accounts.services.identities import identity_provider_create

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class ScimClient:
    """A provisioning client: the IdP's side of the conversation, over Django's test client."""

    token: ScimToken
    secret: str
    client: Client

    def _call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        data = body if isinstance(body, bytes | str) or body is None else json.dumps(body)
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        return getattr(self.client, method)(
            f"/scim/v2{path}",
            data=data,
            content_type="application/scim+json",
            HTTP_AUTHORIZATION=f"Bearer {self.secret}",
            **extra,
        )

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(
            f"/scim/v2{path}",
            HTTP_AUTHORIZATION=f"Bearer {self.secret}",
            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
        )

    def post(self, path: str, body: Any, **headers: str) -> Any:
        return self._call("post", path, body, **headers)

    def put(self, path: str, body: Any, **headers: str) -> Any:
        return self._call("put", path, body, **headers)

    def patch(self, path: str, body: Any, **headers: str) -> Any:
        return self._call("patch", path, body, **headers)

    def delete(self, path: str, **headers: str) -> Any:
        return self._call("delete", path, None, **headers)


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def user_body(user_name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER], "userName": user_name, "active": True, **extra}


@pytest.fixture
def okta_provider(db: None) -> IdentityProvider:
    return identity_provider_create(
        actor=None,
        slug="okta",
        kind=IdentityProviderKind.OIDC,
        name="Okta",
        issuer="https://example.okta.com",
        jit_provisioning=False,
    )


@pytest.fixture
def scim(db: None) -> ScimClient:
    token, secret = scim_token_create(name="unbound", provider=None)
    return ScimClient(token, secret, Client())


@pytest.fixture
def okta(okta_provider: IdentityProvider) -> ScimClient:
    token, secret = scim_token_create(name="okta", provider=okta_provider)
    return ScimClient(token, secret, Client())
