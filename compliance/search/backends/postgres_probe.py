"""The newest-first page on PostgreSQL: a probe of the newest rows, then a bounded scan.

Ordered by time with a LIMIT, the planner walks an index in time order (`occurred_at`, or
`(author_username, occurred_at)`) and filters rows until it has the page. Such a walk costs
what the rows it rejects cost: right when the matches are many, a walk through most of the
table when the planner expects many and there are few (an employee's audience with
`participant:`, phrases of common words, NEAR). So the page is read in two statements
(docs/performance.md, "What to change", fix 2):

1. The probe: the query restricted to the newest PROBE_ROWS rows' worth of time, ending at
   the keyset cursor, the query's own `before:`/`on:` or the newest row, whichever is
   earliest. Whatever plan the planner picks is bounded by the window. Common words, busy
   people and date ranges end here.
2. If the probe found less than the page: the rest, older than the window. If the probe's
   hit rate says a walk would pass more than PROBE_WALK_ROWS rows to find the missing hits,
   and the plan (EXPLAIN, well under a millisecond) walks an index in order with a Filter,
   the rest is read with index scans off: a bitmap costs what the matches cost, and the
   probe has just shown that they are few. A walk that filters nothing (`from:bob` whose
   messages are all old, down the author index) is kept.

The window and the rest split the rows at one instant (`occurred_at >= low`, `< low`), so
the page is exactly the single statement's page: the same rows, in the same order, and the
same keyset cursor continues it. Every statement is the caller's condition (the permission
scope first) with only a bound on time added. Run it inside a transaction: index scans are
turned off with `set_config(..., true)` for one statement and then restored.
"""

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from ..query import And, DateFilter, Node, SqlFilter

#: The probe's window holds about this many of the newest rows (the table's average rate).
PROBE_ROWS = 20_000
#: A walk down an index expected to pass more rows than this is read by bitmap instead.
PROBE_WALK_ROWS = 4 * PROBE_ROWS

NEWEST_FIRST = "ORDER BY occurred_at DESC, archive_seq DESC"


@dataclass(frozen=True, slots=True)
class PageQuery:
    """`SELECT {columns} FROM {table} WHERE {where} ORDER BY newest first`, in parts."""

    table: str
    columns: str  # the select list; its own %s placeholders come before the condition's
    columns_params: tuple[Any, ...]
    where: SqlFilter  # the permission scope first, then the query and the keyset cursor

    def bounded(self, bound: SqlFilter) -> "PageQuery":
        where = SqlFilter(f"({self.where.sql}) AND {bound.sql}", self.where.params + bound.params)
        return replace(self, where=where)

    def statement(self, limit: int) -> tuple[str, list[Any]]:
        sql = (
            f"SELECT {self.columns} FROM {self.table} "  # noqa: S608 - constants only
            f"WHERE {self.where.sql} {NEWEST_FIRST} LIMIT %s"
        )
        return sql, [*self.columns_params, *self.where.params, limit]


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """The table's first and last `occurred_at`, and the planner's count of its rows."""

    oldest: datetime
    newest: datetime
    rows: float  # pg_class.reltuples: -1 until the table is first analysed

    def probe_width(self) -> timedelta:
        """How long the archive takes, on average, to gather PROBE_ROWS rows."""
        return (self.newest - self.oldest) * min(1.0, PROBE_ROWS / max(self.rows, 1.0))


def newest_rows(
    cursor: Any, query: PageQuery, *, tree: Node, after: datetime | None, wanted: int
) -> list[tuple[Any, ...]]:
    """The first `wanted` rows of `query`, newest first; `after` is the cursor's time.

    `tree` is the user's query, read only for its own end date; `query.where` already holds
    the compiled tree, its scope and the keyset condition.
    """
    low = probe_start(time_span(cursor, query.table), tree=tree, after=after)
    if low is None:
        return _fetch(cursor, query, wanted)
    found = _fetch(cursor, query.bounded(SqlFilter("occurred_at >= %s", (low,))), wanted)
    missing = wanted - len(found)
    if missing <= 0:
        return found
    rest = query.bounded(SqlFilter("occurred_at < %s", (low,)))
    if walk_rows(found=len(found), missing=missing) > PROBE_WALK_ROWS and _walks_filtering(
        cursor, rest, missing
    ):
        return found + _fetch_by_bitmap(cursor, rest, missing)
    return found + _fetch(cursor, rest, missing)


def time_span(cursor: Any, table: str) -> TimeSpan | None:
    """The table's TimeSpan (two index look-ups), or None if it is empty."""
    cursor.execute(
        f"SELECT min(occurred_at), max(occurred_at), "  # noqa: S608 - constants only
        f"(SELECT reltuples FROM pg_class WHERE oid = %s::regclass) FROM {table}",
        [table],
    )
    oldest, newest, rows = cursor.fetchone()
    return None if oldest is None else TimeSpan(oldest, newest, float(rows))


def probe_start(span: TimeSpan | None, *, tree: Node, after: datetime | None) -> datetime | None:
    """Where the probe's window begins; None when it would hold every row (one statement)."""
    if span is None:
        return None
    ends = [span.newest, query_end(tree), after]
    low = min(end for end in ends if end is not None) - span.probe_width()
    return low if low > span.oldest else None


def query_end(tree: Node) -> datetime | None:
    """The end of the query's own date range (`before:`, `on:`) when it bounds the whole
    query; a bound that an OR could escape is not one."""
    children = tree.children if isinstance(tree, And) else (tree,)
    ends = [
        datetime.combine(day_range[1], time.min, tzinfo=UTC)
        for child in children
        if isinstance(child, DateFilter)
        and (day_range := child.day_range()) is not None
        and day_range[1] is not None
    ]
    return min(ends, default=None)


def walk_rows(*, found: int, missing: int) -> float:
    """Rows a walk would pass to find `missing` more hits, at the probe's hit rate."""
    return missing * PROBE_ROWS / max(found, 0.01)


def filtered_index_scan(plan: dict[str, Any]) -> bool:
    """Does the plan read an index in order and throw rows away with a Filter?"""
    if plan.get("Node Type") in ("Index Scan", "Index Only Scan") and "Filter" in plan:
        return True
    return any(filtered_index_scan(child) for child in plan.get("Plans", ()))


def _walks_filtering(cursor: Any, query: PageQuery, limit: int) -> bool:
    sql, params = query.statement(limit)
    cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
    (plan,) = cursor.fetchone()
    if isinstance(plan, str):  # json, unless the driver already decoded it
        plan = json.loads(plan)
    return filtered_index_scan(plan[0]["Plan"])


def _fetch(cursor: Any, query: PageQuery, limit: int) -> list[tuple[Any, ...]]:
    cursor.execute(*query.statement(limit))
    return list(cursor.fetchall())


def _fetch_by_bitmap(cursor: Any, query: PageQuery, limit: int) -> list[tuple[Any, ...]]:
    """`_fetch` with index scans off for this statement only (bitmap scans stay on)."""
    cursor.execute("SELECT current_setting('enable_indexscan')")
    (previous,) = cursor.fetchone()
    cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")
    rows = _fetch(cursor, query, limit)
    cursor.execute("SELECT set_config('enable_indexscan', %s, true)", [previous])
    return rows
