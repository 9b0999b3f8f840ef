"""Role API for administrators: parse, call the role service or a selector, shape the reply.

Every refusal is the service's: {"code", "detail"} with its HTTP status, and audited."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors
from accounts.errors import RoleError
from accounts.models import User
from accounts.services import roles

from . import serializers as shapes
from .payloads import role_grant_payload, role_request_payload

_REFUSALS: dict[int | str, Any] = {
    400: shapes.RoleErrorOutput,
    403: shapes.RoleErrorOutput,
    404: shapes.RoleErrorOutput,
    409: shapes.RoleErrorOutput,
}


def _valid(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class RoleView(APIView):
    # Base of the role views: an authenticated account; role refusals as {"code", "detail"}.
    # (A comment: the schema would show a docstring as every operation's description.)

    @property
    def user(self) -> User:
        user = self.request.user
        if not isinstance(user, User):
            raise NotAuthenticated()
        return user

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RoleError):
            return Response({"code": exc.code.value, "detail": exc.detail}, status=exc.http_status)
        return super().handle_exception(exc)


class RoleGrantListView(RoleView):
    @extend_schema(
        operation_id="roles_grants_list",
        summary="List role grants",
        description="Administrators: who holds which role, granted by whom.",
        responses={200: shapes.RoleGrantOutput(many=True), 403: shapes.RoleErrorOutput},
    )
    def get(self, request: Request) -> Response:
        grants = selectors.role_grants_for_administrator(actor=self.user)
        return Response([role_grant_payload(grant) for grant in grants])


class RoleRequestListView(RoleView):
    @extend_schema(
        operation_id="roles_requests_pending",
        summary="List pending role requests",
        description="Administrators: requests waiting for a second administrator.",
        responses={200: shapes.RoleRequestOutput(many=True), 403: shapes.RoleErrorOutput},
    )
    def get(self, request: Request) -> Response:
        pending = selectors.role_requests_pending_for_administrator(actor=self.user)
        return Response([role_request_payload(item) for item in pending])

    @extend_schema(
        operation_id="roles_request",
        summary="Request a role for someone",
        description="Employee is granted at once (status approved); administrator, compliance "
        "officer and auditor wait (status pending) for a second administrator's approval.",
        request=shapes.RoleRequestInput,
        responses={201: shapes.RoleRequestOutput, **_REFUSALS},
    )
    def post(self, request: Request) -> Response:
        data = _valid(shapes.RoleRequestInput, request.data)
        made = roles.role_request(
            actor=self.user, user_id=data["user"], role=data["role"], reason=data["reason"]
        )
        return Response(role_request_payload(made), status=201)


class RoleRequestApproveView(RoleView):
    @extend_schema(
        operation_id="roles_request_approve",
        summary="Approve a role request",
        description="A second administrator (not the requester, not the subject) approves.",
        request=None,
        responses={200: shapes.RoleRequestOutput, **_REFUSALS},
    )
    def post(self, request: Request, request_id: int) -> Response:
        approved = roles.role_request_approve(actor=self.user, request_id=request_id)
        return Response(role_request_payload(approved))


class RoleRequestRefuseView(RoleView):
    @extend_schema(
        operation_id="roles_request_refuse",
        summary="Refuse a role request",
        description="An administrator refuses a pending request, with a reason.",
        request=shapes.RoleDecisionInput,
        responses={200: shapes.RoleRequestOutput, **_REFUSALS},
    )
    def post(self, request: Request, request_id: int) -> Response:
        data = _valid(shapes.RoleDecisionInput, request.data)
        refused = roles.role_request_refuse(
            actor=self.user, request_id=request_id, reason=data["reason"]
        )
        return Response(role_request_payload(refused))


class RoleRevokeView(RoleView):
    @extend_schema(
        operation_id="roles_revoke",
        summary="Revoke a role",
        description="Administrators: the user's open sockets are told at once.",
        request=shapes.RoleRevokeInput,
        responses={204: None, **_REFUSALS},
    )
    def post(self, request: Request) -> Response:
        data = _valid(shapes.RoleRevokeInput, request.data)
        roles.role_revoke(
            actor=self.user, user_id=data["user"], role=data["role"], reason=data["reason"]
        )
        return Response(status=204)
