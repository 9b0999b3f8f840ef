"""Error codes of the chat services; the REST API and the socket report the same ones."""

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"
    INVALID_FRAME = "invalid_frame"
    UNKNOWN_TYPE = "unknown_type"
    FRAME_TOO_LARGE = "frame_too_large"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    NOT_A_MEMBER = "not_a_member"
    ARCHIVED = "archived"
    EMPTY_BODY = "empty_body"
    BODY_TOO_LONG = "body_too_long"
    RATE_LIMITED = "rate_limited"
    CLIENT_ID_CONFLICT = "client_id_conflict"
    INVALID_INPUT = "invalid_input"
    ATTACHMENT_TOO_LARGE = "attachment_too_large"
    ATTACHMENT_REJECTED = "attachment_rejected"
    ALREADY_EXISTS = "already_exists"
    INFORMATION_BARRIER = "information_barrier"
    CONFLICT = "conflict"
    MESSAGE_BLOCKED = "message_blocked"
    WARNING_UNCONFIRMED = "warning_unconfirmed"
    LAST_OWNER = "last_owner"


HTTP_STATUS = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_A_MEMBER: 403,
    ErrorCode.INFORMATION_BARRIER: 403,
    ErrorCode.ARCHIVED: 409,
    ErrorCode.CLIENT_ID_CONFLICT: 409,
    ErrorCode.ALREADY_EXISTS: 409,
    ErrorCode.CONFLICT: 409,
    ErrorCode.LAST_OWNER: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.ATTACHMENT_TOO_LARGE: 413,
    ErrorCode.FRAME_TOO_LARGE: 413,
    ErrorCode.MESSAGE_BLOCKED: 422,
    ErrorCode.WARNING_UNCONFIRMED: 422,
}


class ChatError(Exception):
    """A request the services refuse; nothing was changed."""

    def __init__(
        self,
        code: ErrorCode,
        detail: str,
        *,
        retry_after: float | None = None,
        findings: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.retry_after = retry_after
        # What stopped a message (send_checks.SendFinding.as_json): the socket's error frame
        # and the API's body carry them.
        self.findings = findings

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)
