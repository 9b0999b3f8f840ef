"""OpenAPI description of what drf-spectacular cannot infer on its own.

Every operation documents its refusals with the one error body (`ApiErrorOutput`): 401 and
403 always; 404 when the path names something; 400 when it takes input; others (409, 413,
429, 503) where a view declares them with `refusals(...)`. tests/api/test_fuzz.py runs
schemathesis against a live server to keep this true.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from knox.settings import knox_settings

from eim.chat.errors import HTTP_STATUS, ErrorCode

from .serializers import ApiErrorOutput


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <token>`, the tokens `manage.py create_token` prints."""

    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return dict(
            build_bearer_security_scheme_object(
                header_name="Authorization", token_prefix=knox_settings.AUTH_HEADER_PREFIX
            )
        )


def _chat_codes(status: int) -> list[str]:
    return [code.value for code in ErrorCode if HTTP_STATUS.get(code, 400) == status]


_SOCKET_ONLY = {"invalid_json", "invalid_frame", "unknown_type", "frame_too_large"}

# status: (what it means, a typical body)
ERROR_STATUSES: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "Invalid input; nothing changed. Codes: invalid_input (with `fields`), "
        + ", ".join(c for c in _chat_codes(400) if c not in _SOCKET_ONLY | {"invalid_input"})
        + ", and the search's invalid_query (with `position`) and invalid_cursor.",
        {
            "code": "invalid_input",
            "detail": "limit: Ensure this value is less than or equal to 200.",
            "fields": {"limit": ["Ensure this value is less than or equal to 200."]},
        },
    ),
    401: (
        "No valid sign-in: the token is missing, wrong, expired or revoked "
        "(codes not_authenticated, authentication_failed).",
        {"code": "not_authenticated", "detail": "Authentication credentials were not provided."},
    ),
    403: (
        "Signed in but not allowed. Codes: "
        + ", ".join(_chat_codes(403))
        + ", permission_denied, and the role service's refusals.",
        {"code": "not_a_member", "detail": "join the conversation first"},
    ),
    404: (
        "It does not exist, or this user may not see it (the two are not told apart).",
        {"code": "not_found", "detail": "conversation does not exist or you cannot see it"},
    ),
    409: (
        "It conflicts with the current state. Codes: " + ", ".join(_chat_codes(409)) + ".",
        {"code": "archived", "detail": "this channel is archived and read-only"},
    ),
    413: (
        "Too large. Code: attachment_too_large.",
        {"code": "attachment_too_large", "detail": "an attachment is at most 25 MB"},
    ),
    429: (
        "Too many requests; `Retry-After` says when to try again. Code: rate_limited.",
        {"code": "rate_limited", "detail": "too many messages; try again in 4.2 s"},
    ),
    503: (
        "The search cluster cannot be reached. Code: search_unavailable.",
        {"code": "search_unavailable", "detail": "search is unavailable, try again later"},
    ),
}


def error_response(status: int) -> OpenApiResponse:
    description, example = ERROR_STATUSES[status]
    return OpenApiResponse(
        response=ApiErrorOutput,
        description=description,
        examples=[
            OpenApiExample(
                example["code"], value=example, response_only=True, status_codes=[str(status)]
            )
        ],
    )


def refusals(*statuses: int) -> dict[int | str, Any]:
    """Error responses a view declares beyond the ones every operation gets."""
    return {status: error_response(status) for status in statuses}


class ApiAutoSchema(AutoSchema):
    """AutoSchema that adds the refusals every operation can answer (see the module doc), and
    takes an operation's summary from the first sentence of its description when a view gives
    a docstring but no `summary`."""

    def get_summary(self) -> str | None:
        summary: str | None = super().get_summary()
        if summary:
            return summary
        description = (self.get_description() or "").strip()
        first = description.split("\n\n")[0].replace("\n", " ")
        sentence = first.split(". ")[0].rstrip(".")
        for stop in ("; ", ": ", " ("):
            sentence = sentence.split(stop)[0]
        return sentence or None

    def _error_statuses(self) -> set[int]:
        statuses = {401, 403}
        if "{" in self.path:
            statuses.add(404)
        # DELETE bodies are not documented (OpenAPI frowns on them): DELETE input is a query.
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer()
        if has_body or self.get_override_parameters():
            statuses.add(400)
        return statuses

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status in sorted(self._error_statuses()):
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    error_response(status), str(status), direction=direction
                )
        return responses
