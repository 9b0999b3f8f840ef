"""Error codes of the compliance services; the API reports them as {"code", "detail"}."""

from enum import StrEnum


class ComplianceErrorCode(StrEnum):
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    INVALID_QUERY = "invalid_query"
    INVALID_CURSOR = "invalid_cursor"
    SEARCH_UNAVAILABLE = "search_unavailable"
    INVALID_POLICY = "invalid_policy"
    INVALID_INPUT = "invalid_input"
    REVIEW_CONFLICT = "review_conflict"
    SELF_REVIEW = "self_review"
    # Export (compliance.export): options that cannot be run; a job not in a state for that.
    INVALID_EXPORT = "invalid_export"
    EXPORT_NOT_READY = "export_not_ready"


HTTP_STATUS = {
    ComplianceErrorCode.FORBIDDEN: 403,
    ComplianceErrorCode.NOT_FOUND: 404,
    ComplianceErrorCode.SEARCH_UNAVAILABLE: 503,
    ComplianceErrorCode.REVIEW_CONFLICT: 409,
    ComplianceErrorCode.SELF_REVIEW: 403,
    ComplianceErrorCode.EXPORT_NOT_READY: 409,
}


class ComplianceError(Exception):
    """A request the compliance services refuse; nothing was changed or audited.

    `position` is set for a query that cannot be read: where in the query text the
    problem is (see `QuerySyntaxError`).
    """

    def __init__(
        self, code: ComplianceErrorCode, detail: str, *, position: int | None = None
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.position = position

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)
