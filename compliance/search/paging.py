"""Checking what a caller asks of a search: the query, the order, the cursor, the page size."""

from dataclasses import dataclass

from ..errors import ComplianceError, ComplianceErrorCode
from .query import Node, QuerySyntaxError, parse_query
from .results import After, Order, cursor_decode

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
            raise ComplianceError(
                ComplianceErrorCode.INVALID_CURSOR, "the cursor is not one this search returned"
            ) from exc
    return SearchRequest(query, tree, sort, after, max(1, min(limit, MAX_LIMIT)))
