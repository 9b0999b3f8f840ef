"""The export API: request, follow, cancel, download and delete evidence exports.

GET  /api/v1/compliance/exports/                 the officer's exports, newest first
POST /api/v1/compliance/exports/                 request one (202, the job)
GET  /api/v1/compliance/exports/<id>/            one job with its progress
DELETE /api/v1/compliance/exports/<id>/          remove its files (audited)
POST /api/v1/compliance/exports/<id>/cancel/     stop a running export
GET  /api/v1/compliance/exports/<id>/download/   the zip (audited)
"""

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from compliance.export import selectors, services

from .serializers import SearchErrorOutput
from .views import ComplianceView, _valid

_FORMATS = ["jsonl", "csv", "eml", "rsmf", "pdf", "dat"]


class ContextInput(serializers.Serializer):
    """One of the two: messages before and after each hit, or minutes either side of it."""

    messages = serializers.IntegerField(min_value=1, max_value=100, required=False)
    minutes = serializers.IntegerField(min_value=1, max_value=7 * 24 * 60, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs) != 1:
            raise serializers.ValidationError("give either messages or minutes")
        return attrs


class ExportInput(serializers.Serializer):
    query = serializers.CharField(allow_blank=True, required=False, default="", max_length=4000)
    message_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=10_000
    )
    conversation_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=10_000
    )
    formats = serializers.ListField(
        child=serializers.ChoiceField(choices=_FORMATS), min_length=1, default=["jsonl"]
    )
    since = serializers.DateField(required=False, allow_null=True, help_text="UTC day, inclusive")
    until = serializers.DateField(required=False, allow_null=True, help_text="UTC day, inclusive")
    include_attachments = serializers.BooleanField(required=False, default=False)
    versions = serializers.ChoiceField(
        choices=["all", "latest"],
        required=False,
        default="all",
        help_text="all: every version and the deletion; latest: only each message's latest version",
    )
    context = ContextInput(  # type: ignore[assignment]
        required=False,
        allow_null=True,
        default=None,
        help_text="The conversation around each hit, marked as context: N messages before and "
        "after it, or M minutes either side",
    )


class ProgressOutput(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    rate_per_second = serializers.FloatField(allow_null=True)
    seconds_left = serializers.FloatField(allow_null=True)


class ExportOutput(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.CharField()
    query = serializers.CharField()
    scope = serializers.DictField()
    options = serializers.DictField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    progress = ProgressOutput()
    counts = serializers.DictField(child=serializers.IntegerField())
    checkpoint_tree_size = serializers.IntegerField(allow_null=True)
    manifest_sha256 = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    downloadable = serializers.BooleanField()


_REFUSED = {400: SearchErrorOutput, 403: SearchErrorOutput, 404: SearchErrorOutput}
_NOT_READY: dict[int | str, Any] = {
    409: OpenApiResponse(
        SearchErrorOutput,
        description="The export is not in a state for that (still running, or not running any "
        "more). Code: export_not_ready.",
    )
}


class ExportListView(ComplianceView):
    @extend_schema(
        operation_id="compliance_exports_list",
        summary="List your exports",
        description="Compliance officers only: your own evidence exports, newest first, each "
        "with its state and progress. Anyone else is refused with `forbidden`.",
        responses={200: ExportOutput(many=True), **_REFUSED},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.export_list(user=self.user))

    @extend_schema(
        operation_id="compliance_exports_create",
        summary="Request an export",
        description="Compliance officers only: copy the messages matching a search `query`, "
        "chosen messages and conversations out of the archive in the formats asked for "
        "(JSON Lines, CSV, EML, RSMF, PDF, a Concordance DAT load file), with every version or "
        "only the latest, and optionally the conversation around each hit as context; "
        "answers 202 and the job, which runs in the background. Refused with `invalid_query` "
        "or `invalid_export` (no scope, unknown format, reversed dates, a context of neither "
        "or both kinds), nothing created. Audited.",
        request=ExportInput,
        responses={202: ExportOutput, **_REFUSED},
    )
    def post(self, request: Request) -> Response:
        data = _valid(ExportInput, request.data)
        job = services.export_create(user=self.user, **data)
        return Response(selectors.export_payload(job), status=202)


class ExportDetailView(ComplianceView):
    @extend_schema(
        operation_id="compliance_exports_get",
        summary="Follow an export",
        description="Compliance officers only: one of your exports with its state, progress "
        "(records done of total, rate, seconds left), counts and manifest hash. Anyone "
        "else's export answers `not_found`.",
        responses={200: ExportOutput, **_REFUSED},
    )
    def get(self, request: Request, export_id: str) -> Response:
        job = selectors.export_for_user(user=self.user, export_id=export_id)
        return Response(selectors.export_payload(job))

    @extend_schema(
        operation_id="compliance_exports_delete",
        summary="Delete an export's files",
        description="Compliance officers only: remove a finished, failed or cancelled export's "
        "files; the job stays listed as deleted. Refused with `export_not_ready` (409) for a "
        "running export (cancel it instead) or one already deleted. Audited.",
        responses={200: ExportOutput, **_NOT_READY, **_REFUSED},
    )
    def delete(self, request: Request, export_id: str) -> Response:
        job = services.export_delete(user=self.user, export_id=export_id)
        return Response(selectors.export_payload(job))


class ExportCancelView(ComplianceView):
    @extend_schema(
        operation_id="compliance_exports_cancel",
        summary="Cancel an export",
        description="Compliance officers only: stop one of your running exports; its files are "
        "removed. Refused with `export_not_ready` (409) if it is no longer running. Audited.",
        request=None,
        responses={200: ExportOutput, **_NOT_READY, **_REFUSED},
    )
    def post(self, request: Request, export_id: str) -> Response:
        job = services.export_cancel(user=self.user, export_id=export_id)
        return Response(selectors.export_payload(job))


class ExportDownloadView(ComplianceView):
    @extend_schema(
        operation_id="compliance_exports_download",
        summary="Download an export",
        description="Compliance officers only: the finished export as a zip, with its signed "
        "manifest and the verifier. Refused with `export_not_ready` (409) until the export is "
        "done. Audited before a byte is sent.",
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY),
            **_NOT_READY,
            **_REFUSED,
        },
    )
    def get(self, request: Request, export_id: str) -> FileResponse:
        job, stream = services.export_download(user=self.user, export_id=export_id)
        return FileResponse(
            stream,
            as_attachment=True,
            filename=f"export-{job.pk}.zip",
            content_type="application/zip",
        )
