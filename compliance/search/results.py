"""What a search asks for and what it returns, the same for every backend."""

import base64
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .documents import SearchDocument

#: Where the next page starts: the backend's own sort key of the last hit (JSON-able).
After = list[Any]

FACET_SIZE = 10

#: Counts stop here: a search reports at most this many matches, and whether it counted them
#: all (`count_exact`). An exact count reads every match, which for a common word in a large
#: archive costs more than the page itself (docs/performance.md, "What to change", fix 4).
#: Backends read it when they search, so a test can lower it.
COUNT_CAP = 10_000


class Order(StrEnum):
    NEWEST = "newest"
    RELEVANCE = "relevance"


@dataclass(frozen=True, slots=True)
class Scope:
    """What the caller may see, before the query narrows it (always the first clause).

    `all_versions`: every version of every message, deleted ones included (compliance).
    Otherwise only the current version of messages not deleted. `conversation_ids`: only
    these conversations; None means every conversation. `history_starts`: (conversation id,
    archive seq) pairs: in that conversation only records from that archive seq on (a member
    who joined without the channel's history reads only what came after their join).
    """

    all_versions: bool
    conversation_ids: frozenset[int] | None
    history_starts: tuple[tuple[int, int], ...] = ()

    @classmethod
    def everything(cls) -> "Scope":
        return cls(all_versions=True, conversation_ids=None)

    @classmethod
    def member_of(
        cls, conversation_ids: set[int], history_starts: dict[int, int] | None = None
    ) -> "Scope":
        return cls(
            all_versions=False,
            conversation_ids=frozenset(conversation_ids),
            history_starts=tuple(sorted((history_starts or {}).items())),
        )


@dataclass(frozen=True, slots=True)
class SearchHit:
    document: SearchDocument
    # HTML: the message escaped, with <mark>…</mark> around what matched; nothing else.
    highlights: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Facets:
    authors: list[dict[str, Any]]  # {"username", "count"}
    conversations: list[dict[str, Any]]  # {"id", "name", "count"}
    days: list[dict[str, Any]]  # {"date": "YYYY-MM-DD", "count"}


@dataclass(frozen=True, slots=True)
class SearchPage:
    count: int  # at most COUNT_CAP
    hits: list[SearchHit]
    next_after: After | None
    facets: Facets | None = None
    count_exact: bool = True  # false: there are more than `count` matches


def count_limit() -> int:
    """How many matches a backend counts at most: one more than it reports, to tell."""
    return COUNT_CAP + 1


def capped_count(matches: int) -> tuple[int, bool]:
    """(count, count_exact) for `matches` found by counting at most COUNT_CAP + 1 of them."""
    return min(matches, COUNT_CAP), matches <= COUNT_CAP


def cursor_encode(order: Order, after: After) -> str:
    raw = json.dumps({"order": order.value, "after": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


#: The bounds of a cursor's numbers: an archive_seq is a PostgreSQL bigint; an offset past any
#: page a backend can reach, or a time Elasticsearch cannot hold, is not one a search returned.
MAX_SEQ = 2**63 - 1
MAX_OFFSET = 10**9
MAX_EPOCH_MILLIS = 2**53


def _is_int(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_score(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= 1e38  # a float32 score, as Lucene keeps it
    )


def cursor_time(value: object) -> datetime:
    """The moment of a newest-first cursor made from an ISO time; ValueError if it is not."""
    if not isinstance(value, str):
        raise ValueError("not a cursor")
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("a cursor's time carries its offset")
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("not a cursor") from exc


def _newest_shape(after: list[Any]) -> bool:
    if len(after) != 2 or not _is_int(after[1], 1, MAX_SEQ):
        return False
    if _is_int(after[0], -MAX_EPOCH_MILLIS, MAX_EPOCH_MILLIS):
        return True  # Elasticsearch's sort value: epoch milliseconds
    cursor_time(after[0])
    return True


def _relevance_shape(after: list[Any]) -> bool:
    if len(after) == 1:
        return _is_int(after[0], 0, MAX_OFFSET)  # an offset (PostgreSQL, simple)
    return len(after) == 2 and _is_score(after[0]) and _is_int(after[1], 1, MAX_SEQ)


def cursor_decode(order: Order, cursor: str) -> After:
    """The `after` of a cursor made by `cursor_encode` for the same order; ValueError if not.

    Each value is checked for the shape some backend writes and bounded, so a cursor edited
    by hand is refused here, never fed to a query; a backend checks the shape is its own.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("not a cursor") from exc
    if not isinstance(value, dict) or value.get("order") != order.value:
        raise ValueError("the cursor belongs to another order")
    after = value.get("after")
    if not isinstance(after, list):
        raise ValueError("not a cursor")
    shaped = _newest_shape(after) if order is Order.NEWEST else _relevance_shape(after)
    if not shaped:
        raise ValueError("not a cursor")
    return after
