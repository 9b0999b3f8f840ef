"""Compliance REST API: parse, call one service or selector, shape the reply."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from compliance.errors import ComplianceError
from compliance.search import selectors, services

from . import serializers as shapes

_REFUSALS: dict[int | str, Any] = {
    400: shapes.SearchErrorOutput,
    403: shapes.SearchErrorOutput,
}


def _valid(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ComplianceView(APIView):
    # Base of the compliance views: an authenticated account; service errors as
    # {"code", "detail"} (+ "position" for a query that cannot be read). A comment, not a
    # docstring: the schema would show it as every operation's description.

    @property
    def user(self) -> User:
        user = self.request.user
        if not isinstance(user, User):
            raise NotAuthenticated()
        return user

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ComplianceError):
            body: dict[str, Any] = {"code": exc.code.value, "detail": exc.detail}
            if exc.position is not None:
                body["position"] = exc.position
            return Response(body, status=exc.http_status)
        return super().handle_exception(exc)


class ComplianceSearchView(ComplianceView):
    @extend_schema(
        operation_id="compliance_search",
        summary="Search the archive (compliance)",
        description="Compliance officers and auditors: every message ever said, edits and "
        "deletes included, in the query language of docs/search.md. Audited.",
        parameters=[shapes.SearchInput],
        responses={200: shapes.SearchPageOutput, **_REFUSALS},
    )
    def get(self, request: Request) -> Response:
        data = _valid(shapes.SearchInput, request.query_params)
        return Response(
            services.compliance_search(
                user=self.user,
                query=data["q"],
                order=data["order"],
                cursor=data["cursor"] or None,
                limit=data["limit"],
                facets=data["facets"],
            )
        )


class MessageVersionsView(ComplianceView):
    @extend_schema(
        summary="A message's versions (compliance)",
        description="Every archived version of one message, oldest first. Audited.",
        responses={200: shapes.VersionsOutput, 403: shapes.SearchErrorOutput},
    )
    def get(self, request: Request, message_id: int) -> Response:
        return Response(services.message_versions(user=self.user, message_id=message_id))


class MessageExposureView(ComplianceView):
    @extend_schema(
        operation_id="compliance_message_exposure",
        summary="Who could read a message (compliance)",
        description="The people who could read each version of a message, and when. Audited.",
        responses={200: shapes.ExposureOutput, 403: shapes.SearchErrorOutput},
    )
    def get(self, request: Request, message_id: int) -> Response:
        return Response(services.message_exposure_view(user=self.user, message_id=message_id))


class RecordContextView(ComplianceView):
    @extend_schema(
        summary="The conversation around a record (compliance)",
        description="The archive records before and after one record in its conversation.",
        parameters=[shapes.ContextInput],
        responses={200: shapes.ContextOutput, 403: shapes.SearchErrorOutput},
    )
    def get(self, request: Request, archive_seq: int) -> Response:
        data = _valid(shapes.ContextInput, request.query_params)
        return Response(services.record_context(user=self.user, archive_seq=archive_seq, **data))


class EmployeeSearchView(ComplianceView):
    @extend_schema(
        operation_id="search",
        summary="Search my messages",
        description="Every employee: the messages they can read now, in the same query "
        "language (docs/search.md).",
        parameters=[shapes.SearchInput],
        responses={200: shapes.SearchPageOutput, 400: shapes.SearchErrorOutput},
    )
    def get(self, request: Request) -> Response:
        data = _valid(shapes.SearchInput, request.query_params)
        return Response(
            selectors.employee_search(
                user=self.user,
                query=data["q"],
                order=data["order"],
                cursor=data["cursor"] or None,
                limit=data["limit"],
                facets=data["facets"],
            )
        )
