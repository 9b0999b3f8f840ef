"""REST API of the information barriers, for administrators: parse, call one barrier service
or selector, shape the reply. Every refusal is {"code", "detail"} (eim.api.errors)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from eim.chat.barriers import selectors, services
from eim.chat.barriers.models import BarrierPolicy, BarrierPolicyVersion, BarrierVersionState
from eim.chat.barriers.violations import Violations

from .schema import refusals
from .views import AuthenticatedView, _valid


class BarrierSegmentsInput(serializers.Serializer):
    segment_a = serializers.IntegerField(help_text="group id")
    segment_b = serializers.IntegerField(help_text="group id")


class BarrierPolicyCreateInput(BarrierSegmentsInput):
    name = serializers.CharField(max_length=100)


class BarrierActivateInput(serializers.Serializer):
    version = serializers.IntegerField(help_text="the previewed proposal's number")
    channels = serializers.ChoiceField(
        choices=["read_only", "remove_segment_a", "remove_segment_b"],
        help_text="what happens to channels that already violate the policy; direct and "
        "group messages always become read-only",
    )


class BarrierWithdrawInput(serializers.Serializer):
    version = serializers.IntegerField()


class BarrierGroupOutput(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class BarrierVersionOutput(serializers.Serializer):
    number = serializers.IntegerField()
    state = serializers.CharField()
    segment_a = BarrierGroupOutput(allow_null=True)
    segment_b = BarrierGroupOutput(allow_null=True)
    proposed_by = serializers.CharField()
    proposed_at = serializers.DateTimeField()
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision = serializers.DictField()


class BarrierPolicyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    in_force = BarrierVersionOutput(allow_null=True)
    proposed = BarrierVersionOutput(allow_null=True)


class BarrierPersonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class BarrierViolationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    name = serializers.CharField()
    member_count = serializers.IntegerField()
    segment_a_members = BarrierPersonOutput(many=True)
    segment_b_members = BarrierPersonOutput(many=True)


class BarrierPreviewOutput(serializers.Serializer):
    policy = serializers.IntegerField()
    version = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    truncated = serializers.BooleanField()
    conversations = BarrierViolationOutput(many=True)


def _group(group: Any) -> dict[str, Any] | None:
    return {"id": group.pk, "display_name": group.display_name} if group else None


def version_payload(version: BarrierPolicyVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {
        "number": version.number,
        "state": version.state,
        "segment_a": _group(version.segment_a),
        "segment_b": _group(version.segment_b),
        "proposed_by": version.proposed_by.username,
        "proposed_at": version.proposed_at.isoformat(),
        "decided_by": version.decided_by.username if version.decided_by else None,
        "decided_at": version.decided_at.isoformat() if version.decided_at else None,
        "decision": version.decision,
    }


def policy_payload(policy: BarrierPolicy) -> dict[str, Any]:
    versions = {v.state: v for v in policy.versions.all()}
    return {
        "id": policy.pk,
        "name": policy.name,
        "created_at": policy.created_at.isoformat(),
        "in_force": version_payload(versions.get(BarrierVersionState.IN_FORCE)),
        "proposed": version_payload(versions.get(BarrierVersionState.PROPOSED)),
    }


def preview_payload(version: BarrierPolicyVersion, found: Violations) -> dict[str, Any]:
    return {
        "policy": version.policy_id,
        "version": version.number,
        "counts": found.counts,
        "truncated": found.truncated,
        "conversations": [vars(c) for c in found.conversations],
    }


class BarrierView(AuthenticatedView):
    def _policy(self, policy_id: int, status: int = 200) -> Response:
        policy = selectors.barrier_policy_for_administrator(actor=self.user, policy_id=policy_id)
        return Response(policy_payload(policy), status=status)


class BarrierListView(BarrierView):
    @extend_schema(
        operation_id="barriers_list",
        summary="List barrier policies",
        description="Administrators only: every information barrier policy, each with its "
        "version in force and its proposal (either may be null). Anyone else is refused with "
        "`forbidden`.",
        responses=BarrierPolicyOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        policies = selectors.barrier_policies_for_administrator(actor=self.user)
        return Response([policy_payload(p) for p in policies])

    @extend_schema(
        summary="Create a barrier policy",
        description="Administrators only: a new policy barring two groups from each other, "
        "as a proposal (201); nothing is enforced until it is previewed and activated. "
        "Refused with `invalid_input` (a bad name, the same group twice, a group that does "
        "not exist) and `already_exists` (the name is in use). Audited.",
        request=BarrierPolicyCreateInput,
        responses={201: BarrierPolicyOutput, **refusals(409)},
    )
    def post(self, request: Request) -> Response:
        data = _valid(BarrierPolicyCreateInput, request.data)
        version = services.barrier_policy_create(actor=self.user, **data)
        return self._policy(version.policy_id, status=201)


class BarrierDetailView(BarrierView):
    @extend_schema(
        operation_id="barriers_retrieve",
        summary="Get a barrier policy",
        description="Administrators only: one policy with its version in force and its "
        "proposal. `not_found` for a policy that does not exist or was removed.",
        responses=BarrierPolicyOutput,
    )
    def get(self, request: Request, policy_id: int) -> Response:
        return self._policy(policy_id)

    @extend_schema(
        summary="Remove a barrier policy",
        description="Administrators only: end the policy (204); nothing it barred is barred any "
        "more, and the conversations it made read-only become writable again unless another "
        "policy still restricts them. Audited.",
        responses={204: None},
    )
    def delete(self, request: Request, policy_id: int) -> Response:
        services.barrier_policy_remove(actor=self.user, policy_id=policy_id)
        return Response(status=204)


class BarrierProposalView(BarrierView):
    @extend_schema(
        operation_id="barriers_propose",
        summary="Propose new segments",
        description="Administrators only: a new proposed version of the policy with these two "
        "groups (201), replacing any earlier proposal; the version in force stays enforced "
        "until the proposal is previewed and activated. Refused with `invalid_input`. Audited.",
        request=BarrierSegmentsInput,
        responses={201: BarrierPolicyOutput},
    )
    def post(self, request: Request, policy_id: int) -> Response:
        data = _valid(BarrierSegmentsInput, request.data)
        services.barrier_policy_propose(actor=self.user, policy_id=policy_id, **data)
        return self._policy(policy_id, status=201)


class BarrierPreviewView(BarrierView):
    @extend_schema(
        operation_id="barriers_preview",
        summary="Preview a proposal",
        description="Administrators only: every existing conversation the proposed version "
        "would bar (at most 1,000 listed, `truncated` says so), with exact counts. The "
        "preview is recorded on the proposal, which can then be activated. `not_found` if "
        "there is no proposal. Audited.",
        responses=BarrierPreviewOutput,
    )
    def get(self, request: Request, policy_id: int) -> Response:
        version, found = services.barrier_policy_preview(actor=self.user, policy_id=policy_id)
        return Response(preview_payload(version, found))


class BarrierActivateView(BarrierView):
    @extend_schema(
        operation_id="barriers_activate",
        summary="Activate a proposal",
        description="Administrators only: put the previewed proposal in force, making the "
        "channels that violate it read-only or removing one side's members from them (direct "
        "and group messages always become read-only). Refused with `conflict` if `version` "
        "is not the current proposal or was not previewed. Audited.",
        request=BarrierActivateInput,
        responses={200: BarrierPolicyOutput, **refusals(409)},
    )
    def post(self, request: Request, policy_id: int) -> Response:
        data = _valid(BarrierActivateInput, request.data)
        services.barrier_policy_activate(actor=self.user, policy_id=policy_id, **data)
        return self._policy(policy_id)


class BarrierWithdrawView(BarrierView):
    @extend_schema(
        operation_id="barriers_withdraw",
        summary="Withdraw a proposal",
        description="Administrators only: drop the policy's proposal; the version in force, if "
        "any, stays as it is. Refused with `conflict` if `version` is not the current "
        "proposal. Audited.",
        request=BarrierWithdrawInput,
        responses={200: BarrierPolicyOutput, **refusals(409)},
    )
    def post(self, request: Request, policy_id: int) -> Response:
        data = _valid(BarrierWithdrawInput, request.data)
        services.barrier_policy_withdraw(actor=self.user, policy_id=policy_id, **data)
        return self._policy(policy_id)
