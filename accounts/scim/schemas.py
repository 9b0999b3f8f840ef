"""The discovery documents (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas,
built from scim2-models' own descriptions of the resources."""

import functools
from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Patch,
    ResourceType,
    ServiceProviderConfig,
    Sort,
    User,
)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

MAX_RESULTS = 200  # a page's largest `count`
DEFAULT_COUNT = 100

_QUERY = Context.RESOURCE_QUERY_RESPONSE


def _with_meta(body: dict[str, Any], resource_type: str, location: str) -> dict[str, Any]:
    return {**body, "meta": {"resourceType": resource_type, "location": location}}


def service_provider_config(*, base: str) -> dict[str, Any]:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A token made by `manage.py scim_token_create`, sent as "
                "`Authorization: Bearer <token>`.",
                primary=True,
            )
        ],
    )
    body = config.model_dump(scim_ctx=_QUERY)
    return _with_meta(body, "ServiceProviderConfig", f"{base}/ServiceProviderConfig")


@functools.cache
def _resource_types() -> list[dict[str, Any]]:
    return [
        ResourceType.from_resource(User[EnterpriseUser]).model_dump(scim_ctx=_QUERY),
        ResourceType.from_resource(Group).model_dump(scim_ctx=_QUERY),
    ]


def resource_types(*, base: str) -> list[dict[str, Any]]:
    return [
        _with_meta(body, "ResourceType", f"{base}/ResourceTypes/{body['id']}")
        for body in _resource_types()
    ]


@functools.cache
def _schemas() -> list[dict[str, Any]]:
    return [
        model.to_schema().model_dump(scim_ctx=_QUERY) for model in (User, Group, EnterpriseUser)
    ]


def schemas(*, base: str) -> list[dict[str, Any]]:
    return [_with_meta(body, "Schema", f"{base}/Schemas/{body['id']}") for body in _schemas()]


def list_response(
    resources: list[dict[str, Any]], *, total: int, start_index: int
) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
