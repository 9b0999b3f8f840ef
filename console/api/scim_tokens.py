"""/api/v1/admin/scim-tokens/: SCIM provisioning tokens, through accounts.scim's token
services (which audit). The secret is in the creation's answer only; never listed."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import IdentityProvider
from accounts.scim.models import ScimToken
from accounts.scim.selectors import scim_token_by_id, scim_tokens_listed
from accounts.scim.services.tokens import scim_token_create, scim_token_revoke

from . import serializers as shapes
from .base import CHANGED, DENIALS, REFUSALS, AdminView, found, valid

TAGS = ["admin: SCIM tokens"]


def scim_token_payload(token: ScimToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "provider": token.provider.slug if token.provider else None,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


class ScimTokenListView(AdminView):
    @extend_schema(
        operation_id="admin_scim_tokens_list",
        summary="List SCIM tokens",
        tags=TAGS,
        description="Every SCIM provisioning token, newest first: name, the secret's first "
        "characters, provider, created, last used, revoked. Never the secret.",
        responses={200: shapes.AdminScimTokenOutput(many=True), **DENIALS},
    )
    def get(self, request: Request) -> Response:
        return Response([scim_token_payload(t) for t in scim_tokens_listed()])

    @extend_schema(
        operation_id="admin_scim_token_create",
        summary="Create a SCIM token",
        tags=TAGS,
        description="A new bearer token for an identity provider's provisioning client, bound "
        "to the provider named by `provider` (a slug) if given. `result.secret` is the token: "
        "it is in this answer only and can never be read again.",
        request=shapes.AdminScimTokenInput,
        responses={
            200: OpenApiResponse(
                shapes.AdminScimTokenCreatedOutput,
                description="Created; `audit_events` records it; `result.secret` shown once.",
            ),
            400: REFUSALS[400],
            404: REFUSALS[404],
            **DENIALS,
        },
    )
    def post(self, request: Request) -> Response:
        data = valid(shapes.AdminScimTokenInput, request.data)
        provider = None
        if data.get("provider"):
            provider = found(
                IdentityProvider.objects.filter(slug=data["provider"]).first(), "identity provider"
            )
        response = self.change(
            lambda: scim_token_create(name=data["name"], provider=provider, actor=self.admin),
            shape=lambda made: scim_token_payload(made[0]) | {"secret": made[1]},
        )
        response["Cache-Control"] = "no-store"
        return response


class ScimTokenView(AdminView):
    @extend_schema(
        operation_id="admin_scim_token_revoke",
        summary="Revoke a SCIM token",
        tags=TAGS,
        description="Refuse the token from its next request on (the SCIM API answers 401). "
        "No audit event when it was revoked already.",
        request=None,
        responses=CHANGED,
    )
    def delete(self, request: Request, token_id: int) -> Response:
        token = found(scim_token_by_id(token_id=token_id), "SCIM token")
        return self.change(
            lambda: scim_token_revoke(token=token, actor=self.admin),
            shape=lambda _: scim_token_payload(token),
        )
