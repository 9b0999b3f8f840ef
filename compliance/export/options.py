"""What an officer asks to export, checked before anything is written.

scope:   query (the search language, compliance scope), message_ids, conversation_ids
         (a case's scope later: its conversations and custodians' messages)
options: formats, since/until (UTC days, inclusive, on when each message was written),
         include_attachments, versions ("all": every version and the deletion; "latest": only
         each message's latest version), context (the conversation around each hit: null,
         {"messages": N} before and after, or {"minutes": M} either side)
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from ..errors import ComplianceError, ComplianceErrorCode
from ..search.paging import search_request_check

FORMATS = ("jsonl", "csv", "eml", "rsmf", "pdf", "dat")
VERSIONS = ("all", "latest")
MAX_IDS = 10_000
MAX_CONTEXT_MESSAGES = 100
MAX_CONTEXT_MINUTES = 7 * 24 * 60


def _invalid(detail: str) -> ComplianceError:
    return ComplianceError(ComplianceErrorCode.INVALID_EXPORT, detail)


@dataclass(frozen=True)
class ExportRequest:
    query: str
    message_ids: tuple[int, ...]
    conversation_ids: tuple[int, ...]
    formats: tuple[str, ...]
    since: date | None
    until: date | None
    include_attachments: bool
    versions: str = "all"
    context: dict[str, int] | None = None

    def scope_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "message_ids": list(self.message_ids),
            "conversation_ids": list(self.conversation_ids),
        }

    def options_json(self) -> dict[str, Any]:
        return {
            "formats": list(self.formats),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "include_attachments": self.include_attachments,
            "versions": self.versions,
            "context": self.context,
        }


def _ids(value: Any, name: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or len(value) > MAX_IDS:
        raise _invalid(f"{name} is a list of at most {MAX_IDS} ids")
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in value):
        raise _invalid(f"{name} holds positive integer ids only")
    return tuple(sorted(set(value)))


def _day(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise _invalid(f"{name} is a day written YYYY-MM-DD (UTC)") from error


def _versions(value: Any) -> str:
    if value in (None, ""):
        return "all"
    if value not in VERSIONS:
        raise _invalid("versions is all (every version and the deletion) or latest")
    return str(value)


def _context(value: Any) -> dict[str, int] | None:
    """None, {"messages": N} (1..100 before and after each hit) or {"minutes": M} (1..10080
    either side of each hit)."""
    if value in (None, {}, ""):
        return None
    limits = {"messages": MAX_CONTEXT_MESSAGES, "minutes": MAX_CONTEXT_MINUTES}
    if isinstance(value, dict) and len(value) == 1:
        ((kind, amount),) = value.items()
        ok = isinstance(amount, int) and not isinstance(amount, bool)
        if kind in limits and ok and 0 < amount <= limits[kind]:
            return {str(kind): int(amount)}
    raise _invalid(
        f'context is {{"messages": 1..{MAX_CONTEXT_MESSAGES}}} or '
        f'{{"minutes": 1..{MAX_CONTEXT_MINUTES}}}'
    )


def _formats(value: Any) -> tuple[str, ...]:
    asked = list(value) if isinstance(value, list | tuple) else []
    if not asked or not all(isinstance(f, str) and f in FORMATS for f in asked):
        raise _invalid(f"formats is a non-empty list of {', '.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in asked)


def export_request_check(
    *,
    query: str = "",
    message_ids: Any = None,
    conversation_ids: Any = None,
    formats: Any = ("jsonl",),
    since: Any = None,
    until: Any = None,
    include_attachments: bool = False,
    versions: Any = "all",
    context: Any = None,
) -> ExportRequest:
    """The request, checked: a query that parses (its position if not), some scope, known
    formats and an ordered date range; ComplianceError otherwise, and nothing is created."""
    query = (query or "").strip()
    if query:
        search_request_check(query=query)
    request = ExportRequest(
        query=query,
        message_ids=_ids(message_ids, "message_ids"),
        conversation_ids=_ids(conversation_ids, "conversation_ids"),
        formats=_formats(formats),
        since=_day(since, "since"),
        until=_day(until, "until"),
        include_attachments=bool(include_attachments),
        versions=_versions(versions),
        context=_context(context),
    )
    if not (request.query or request.message_ids or request.conversation_ids):
        raise _invalid("say what to export: a query, message_ids or conversation_ids")
    if request.since and request.until and request.since > request.until:
        raise _invalid("since is after until")
    return request


def export_request_from_job(
    *, query: str, scope: dict[str, Any], options: dict[str, Any]
) -> ExportRequest:
    return export_request_check(
        query=query,
        message_ids=scope.get("message_ids"),
        conversation_ids=scope.get("conversation_ids"),
        formats=options.get("formats"),
        since=options.get("since"),
        until=options.get("until"),
        include_attachments=options.get("include_attachments", False),
        versions=options.get("versions"),
        context=options.get("context"),
    )
