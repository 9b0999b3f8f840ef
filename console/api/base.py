"""The base of every /api/v1/admin/ view: the administrator rule, and changes answered with
the audit events that record them (refusals as {"code", "detail"}, nothing changed)."""

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.workspace.services import WorkspaceSettingsError
from eim.api.schema import error_response
from eim.api.serializers import ApiErrorOutput

from ..access import IsConsoleAdministrator
from ..changes import change_run, refusal_code, refusal_status, refusal_text
from .serializers import AdminChangeOutput

T = TypeVar("T")


def _refusal(status: int, description: str) -> OpenApiResponse:
    """The API's one error body (eim.api.schema), described as the console answers it."""
    return OpenApiResponse(
        ApiErrorOutput, description=description, examples=error_response(status).examples
    )


DENIALS: dict[int | str, Any] = {
    401: _refusal(401, "Not signed in, or a dead token."),
    403: _refusal(
        403,
        "Not an active administrator (not_administrator): a Django superuser without the "
        "role, another role, or a deactivated account.",
    ),
}
REFUSALS: dict[int | str, Any] = DENIALS | {
    400: _refusal(400, "Bad input; nothing changed."),
    404: _refusal(404, "No such thing."),
    409: _refusal(
        409,
        "Refused by the rules (e.g. last_owner, archived, four_eyes, already_held); nothing "
        "changed. `audit_events` names the events that recorded a refused role change.",
    ),
}
CHANGED: dict[int | str, Any] = {
    200: OpenApiResponse(AdminChangeOutput, description="Done; `audit_events` records it."),
    **REFUSALS,
}


def valid(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def found(thing: T | None, what: str) -> T:
    if thing is None:
        raise NotFound(f"no such {what}")
    return thing


class AdminView(APIView):
    permission_classes = [IsAuthenticated, IsConsoleAdministrator]

    @property
    def admin(self) -> User:
        user = self.request.user
        if not isinstance(user, User):
            raise NotAuthenticated()
        return user

    def change(
        self,
        work: Callable[[], T],
        *,
        shape: Callable[[T], Any] = lambda _: None,
        status: int = 200,
    ) -> Response:
        outcome = change_run(work)
        exc = outcome.refusal
        if exc is not None:
            detail: Any = refusal_text(exc)
            code = refusal_code(exc)
            if isinstance(exc, WorkspaceSettingsError):
                detail, code = exc.problems, "invalid_settings"
            return Response(
                {"code": code, "detail": detail, "audit_events": outcome.audit_seqs},
                status=refusal_status(exc),
            )
        result = shape(outcome.result) if outcome.result is not None else None
        return Response({"audit_events": outcome.audit_seqs, "result": result}, status=status)
