"""Checking what a caller asks of a search: the query, the order, the cursor, the page size."""

from dataclasses import dataclass
from datetime import datetime

from ..errors import ComplianceError, ComplianceErrorCode
from .query import Node, QuerySyntaxError, parse_query
from .results import After, Order, cursor_decode, cursor_time

MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class SearchRequest:
    text: str
    tree: Node
    order: Order
    after: After | None
    limit: int


def search_request_check(
    *, query: str, order: str = "newest", cursor: str | None = None, limit: int = 50
) -> SearchRequest:
    """The request, parsed; ComplianceError (with the position for a bad query) if not."""
    try:
        tree = parse_query(query)
    except QuerySyntaxError as exc:
        raise ComplianceError(
            ComplianceErrorCode.INVALID_QUERY, str(exc), position=exc.position
        ) from exc
    try:
        sort = Order(order)
    except ValueError as exc:
        raise ComplianceError(
            ComplianceErrorCode.INVALID_QUERY, "order is newest or relevance"
        ) from exc
    after = None
    if cursor:
        try:
            after = cursor_decode(sort, cursor)
        except ValueError as exc:
            raise _foreign_cursor() from exc
    return SearchRequest(query, tree, sort, after, max(1, min(limit, MAX_LIMIT)))


def _foreign_cursor() -> ComplianceError:
    return ComplianceError(
        ComplianceErrorCode.INVALID_CURSOR, "the cursor is not one this search returned"
    )


# A checked cursor has the shape of some backend's; these make sure it is the reading
# backend's own (a cursor from Elasticsearch given to PostgreSQL, say) before it is used.


def after_offset(after: After | None) -> int:
    """The offset of an offset cursor (relevance on PostgreSQL, the simple backend)."""
    if after is None:
        return 0
    if len(after) != 1 or not isinstance(after[0], int):
        raise _foreign_cursor()
    return after[0]


def after_keyset(after: After | None) -> tuple[datetime, int] | None:
    """(occurred_at, archive_seq) of a newest-first keyset cursor written from a database row."""
    if after is None:
        return None
    try:
        return cursor_time(after[0]), int(after[1])
    except ValueError as exc:
        raise _foreign_cursor() from exc


def after_sort_values(after: After | None, *, order: Order) -> After | None:
    """Elasticsearch's own sort values: epoch milliseconds or a score, then archive_seq."""
    if after is None:
        return None
    first = (int,) if order is Order.NEWEST else (int, float)
    if len(after) != 2 or not isinstance(after[0], first):
        raise _foreign_cursor()
    return after
