"""/api/v1/admin/groups/ and /api/v1/admin/identity-providers/ (secrets are write-only)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Group, GroupSource, IdentityProvider, IdentityProviderKind, Role
from accounts.services import groups, identities

from ..selectors.groups import (
    group_by_id,
    group_overview,
    groups_search,
    provider_by_id,
    provider_rule_by_id,
    provider_rules,
    providers_listed,
)
from . import serializers as shapes
from .base import CHANGED, DENIALS, REFUSALS, AdminView, found, valid
from .payloads import group_detail_payload, group_payload, provider_payload, rule_payload

GROUP_TAGS = ["admin: groups"]
PROVIDER_TAGS = ["admin: identity providers"]
READ_ONLY = {"code": "read_only", "detail": "this group is managed by its identity provider"}


def _local(group: Group) -> Response | None:
    """A refusal for a SCIM or SSO group (read-only here), else None."""
    if group.source != GroupSource.LOCAL:
        return Response(READ_ONLY | {"audit_events": []}, status=409)
    return None


class GroupListView(AdminView):
    @extend_schema(
        operation_id="admin_groups_list",
        tags=GROUP_TAGS,
        description="Groups (local, SCIM-provisioned and from sign-in claims) by name, "
        "optionally those whose name contains `q`; keyset paging: pass `next_after` back as "
        "`after`.",
        parameters=[shapes.AdminGroupsQueryInput],
        responses={200: shapes.AdminGroupsPageOutput, 400: REFUSALS[400], **DENIALS},
    )
    def get(self, request: Request) -> Response:
        data = valid(shapes.AdminGroupsQueryInput, request.query_params)
        result = groups_search(q=data["q"].strip(), after=data.get("after"), limit=data["limit"])
        return Response(
            {
                "results": [group_payload(g, g.member_count) for g in result.groups],  # type: ignore[attr-defined]
                "next_after": result.next_after,
            }
        )

    @extend_schema(
        operation_id="admin_group_create",
        tags=GROUP_TAGS,
        description="Create a local group.",
        request=shapes.AdminGroupInput,
        responses=CHANGED,
    )
    def post(self, request: Request) -> Response:
        data = valid(shapes.AdminGroupInput, request.data)
        name = data["display_name"].strip()
        return self.change(
            lambda: groups.group_create(actor=self.admin, display_name=name),
            shape=lambda g: group_payload(g, 0),
        )


class GroupView(AdminView):
    @extend_schema(
        operation_id="admin_group",
        tags=GROUP_TAGS,
        description="A group and its members.",
        responses={200: shapes.AdminGroupDetailOutput, 404: REFUSALS[404], **DENIALS},
    )
    def get(self, request: Request, group_id: int) -> Response:
        group = found(group_by_id(group_id=group_id), "group")
        return Response(group_detail_payload(group_overview(group=group)))

    @extend_schema(
        operation_id="admin_group_rename",
        tags=GROUP_TAGS,
        description="Rename a local group (SCIM and SSO groups: read_only).",
        request=shapes.AdminGroupInput,
        responses=CHANGED,
    )
    def patch(self, request: Request, group_id: int) -> Response:
        group = found(group_by_id(group_id=group_id), "group")
        data = valid(shapes.AdminGroupInput, request.data)
        return _local(group) or self.change(
            lambda: groups.group_update(
                actor=self.admin, group=group, display_name=data["display_name"].strip()
            ),
            shape=lambda g: group_payload(g, g.memberships.count()),
        )

    @extend_schema(
        operation_id="admin_group_delete",
        tags=GROUP_TAGS,
        description="Delete a local group; its members stay.",
        responses=CHANGED,
    )
    def delete(self, request: Request, group_id: int) -> Response:
        group = found(group_by_id(group_id=group_id), "group")
        return _local(group) or self.change(
            lambda: groups.group_delete(actor=self.admin, group=group)
        )


class GroupMembersView(AdminView):
    @extend_schema(
        operation_id="admin_group_members_add",
        tags=GROUP_TAGS,
        description="Add people to a local group; those in it already are left as they are.",
        request=shapes.AdminUsersInput,
        responses=CHANGED,
    )
    def post(self, request: Request, group_id: int) -> Response:
        group = found(group_by_id(group_id=group_id), "group")
        data = valid(shapes.AdminUsersInput, request.data)
        return _local(group) or self.change(
            lambda: groups.group_members_add(actor=self.admin, group=group, user_ids=data["users"]),
            shape=sorted,
        )


class GroupMemberView(AdminView):
    @extend_schema(
        operation_id="admin_group_member_remove",
        tags=GROUP_TAGS,
        description="Remove a person from a local group.",
        responses=CHANGED,
    )
    def delete(self, request: Request, group_id: int, user_id: int) -> Response:
        group = found(group_by_id(group_id=group_id), "group")
        return _local(group) or self.change(
            lambda: groups.group_members_remove(actor=self.admin, group=group, user_ids=[user_id]),
            shape=sorted,
        )


def _provider_fields(data: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    fields = {
        k: data[k]
        for k in ("name", "issuer", "enabled", "jit_provisioning", "groups_claim")
        if k in data
    }
    if "config" in data:
        fields["config"] = stored | dict(data["config"])
    return fields


class ProviderListView(AdminView):
    @extend_schema(
        operation_id="admin_identity_providers_list",
        tags=PROVIDER_TAGS,
        description="OIDC and SAML providers with their group → role rules; secrets are shown "
        "only as (set) or (not set).",
        responses={200: shapes.AdminProviderOutput(many=True), **DENIALS},
    )
    def get(self, request: Request) -> Response:
        return Response(
            [provider_payload(p, provider_rules(provider=p)) for p in providers_listed()]
        )

    @extend_schema(
        operation_id="admin_identity_provider_create",
        tags=PROVIDER_TAGS,
        description="Add a provider: slug, kind, name and issuer are required.",
        request=shapes.AdminProviderInput,
        responses=CHANGED,
    )
    def post(self, request: Request) -> Response:
        data = valid(shapes.AdminProviderInput, request.data)
        missing = [k for k in ("slug", "kind", "name", "issuer") if not data.get(k)]
        if missing:
            return Response(
                {"code": "invalid_input", "detail": {k: "required" for k in missing}}, status=400
            )
        fields = _provider_fields(data, {})
        fields.pop("enabled", None)
        return self.change(
            lambda: identities.identity_provider_create(
                actor=self.admin,
                slug=data["slug"],
                kind=IdentityProviderKind(data["kind"]),
                **fields,
            ),
            shape=lambda p: provider_payload(p, []),
        )


class ProviderView(AdminView):
    @extend_schema(
        operation_id="admin_identity_provider_update",
        tags=PROVIDER_TAGS,
        description="Change a provider (enabled: false disables sign-in with it). Its slug and "
        "kind stay. `config` is merged into what is stored.",
        request=shapes.AdminProviderInput,
        responses=CHANGED,
    )
    def patch(self, request: Request, provider_id: int) -> Response:
        provider: IdentityProvider = found(provider_by_id(provider_id=provider_id), "provider")
        data = valid(shapes.AdminProviderInput, request.data)
        fields = _provider_fields(data, provider.config)
        return self.change(
            lambda: identities.identity_provider_update(
                actor=self.admin, provider=provider, **fields
            ),
            shape=lambda p: provider_payload(p, provider_rules(provider=p)),
        )


class ProviderRulesView(AdminView):
    @extend_schema(
        operation_id="admin_group_role_rule_add",
        tags=PROVIDER_TAGS,
        summary="Add a group → role rule",
        description="Members of the provider's group (as its claim or attribute says it) "
        "should hold the role; four-eyes roles still wait for approval.",
        request=shapes.AdminRuleInput,
        responses=CHANGED,
    )
    def post(self, request: Request, provider_id: int) -> Response:
        provider = found(provider_by_id(provider_id=provider_id), "provider")
        data = valid(shapes.AdminRuleInput, request.data)
        return self.change(
            lambda: identities.group_role_rule_add(
                actor=self.admin,
                provider=provider,
                group_value=data["group_value"],
                role=Role(data["role"]),
            ),
            shape=rule_payload,
        )


class ProviderRuleView(AdminView):
    @extend_schema(
        operation_id="admin_group_role_rule_remove",
        tags=PROVIDER_TAGS,
        description="Remove a group → role rule; roles already granted stay.",
        responses=CHANGED,
    )
    def delete(self, request: Request, provider_id: int, rule_id: int) -> Response:
        provider = found(provider_by_id(provider_id=provider_id), "provider")
        rule = found(provider_rule_by_id(provider=provider, rule_id=rule_id), "rule")
        return self.change(lambda: identities.group_role_rule_remove(actor=self.admin, rule=rule))
