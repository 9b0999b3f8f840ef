"""/api/v1/admin/settings/: the workspace settings (accounts.workspace), versioned."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.workspace.selectors import workspace_settings_load
from accounts.workspace.services import workspace_settings_update

from . import serializers as shapes
from .base import CHANGED, DENIALS, AdminView, valid

TAGS = ["admin: settings"]


def _shape(values: object) -> dict[str, object]:
    return {"version": values.version, **values.as_dict()}  # type: ignore[attr-defined]


class SettingsView(AdminView):
    @extend_schema(
        operation_id="admin_settings",
        tags=TAGS,
        description="The workspace settings in effect (version 0: all the server's defaults).",
        responses={200: shapes.AdminSettingsOutput, **DENIALS},
    )
    def get(self, request: Request) -> Response:
        return Response(_shape(workspace_settings_load()))

    @extend_schema(
        operation_id="admin_settings_update",
        tags=TAGS,
        description="Change some settings: a new version, audited with each change's old and "
        "new value. Any bad value refuses the whole change (code invalid_settings, detail "
        "naming each).",
        request=shapes.AdminSettingsInput,
        responses=CHANGED,
    )
    def patch(self, request: Request) -> Response:
        data = valid(shapes.AdminSettingsInput, request.data)
        reason = data.pop("reason", "")
        return self.change(
            lambda: workspace_settings_update(actor=self.admin, changes=data, reason=reason),
            shape=_shape,
        )
