"""The built-in backend: PostgreSQL full-text search over the contract search table.

The table is created by migration compliance/0002 from `search_table_ddl`, so the SQL that
`compile_postgres` emits runs against it unchanged. Highlights come from `ts_headline` with
private-use sentinels as the marks; the text is HTML-escaped in Python and only then are the
sentinels turned into `<mark>` tags, so nothing but `<mark>` reaches the browser as markup.

A search is one transaction with SEARCH_SETTINGS and these statements, each bounded
(docs/performance.md, "What to change"):

- the count, of at most COUNT_CAP + 1 matches (`count_exact` false when it stopped there);
- the page: newest first by a probe, then a bounded scan (`postgres_probe`); by relevance,
  `ts_rank` over the newest RANKED_MATCHES matches only;
- the facets, only when asked for: they read every match.
"""

import html
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from ..documents import IndexBatch, SearchDocument
from ..paging import after_keyset, after_offset
from ..query import Node, Phrase, Prefix, SqlFilter, Term, compile_postgres
from ..query.compile_postgres import search_table_ddl
from ..results import (
    FACET_SIZE,
    After,
    Facets,
    Order,
    Scope,
    SearchHit,
    SearchPage,
    capped_count,
    count_limit,
)
from .postgres_probe import NEWEST_FIRST, PageQuery, newest_rows
from .table import DatabaseTableIndex
from .words import positive_words

TABLE = "compliance_search_entry"

#: Relevance order ranks the newest this many matches, not every match: `ts_rank` over every
#: match of a common word costs what an exact count costs (fix 6).
RANKED_MATCHES = 10_000

#: The search transaction's settings (SET LOCAL), with its statement_timeout (fixes 7, 8):
#: bitmaps of hundreds of thousands of rows stay exact in 64MB (lossy in the 4MB default);
#: JIT compilation costs these plans more than it saves; and a generic plan would hide the
#: query's words from the GIN indexes (a term compiles to `numnode(...) = 0 OR ...`, which an
#: index can answer only once the word is a constant), whatever binds the parameters.
SEARCH_SETTINGS = {"work_mem": "64MB", "jit": "off", "plan_cache_mode": "force_custom_plan"}

COLUMNS = (
    "archive_seq",
    "message_id",
    "version_kind",
    "conversation_id",
    "conversation_name",
    "author_id",
    "author_username",
    "audience_ids",
    "audience_usernames",
    "occurred_at",
    "created_at",
    "body",
    "is_edited",
    "is_deleted",
    "has_attachment",
    "is_flagged",
    "policies",
    "review_states",
)
_CASTS = {
    "audience_ids": "::bigint[]",
    "audience_usernames": "::text[]",
    "policies": "::text[]",
    "review_states": "::text[]",
}
MARK_START, MARK_END = "\ue000", "\ue001"
_HEADLINE_OPTIONS = f'StartSel="{MARK_START}", StopSel="{MARK_END}", HighlightAll=true'


def _upsert_sql(table: str) -> str:
    names = ", ".join(COLUMNS)
    values = ", ".join(f"%s{_CASTS.get(c, '')}" for c in COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
    changed = ", ".join(f"{table}.{c}" for c in COLUMNS[1:])
    incoming = ", ".join(f"EXCLUDED.{c}" for c in COLUMNS[1:])
    return (
        f"INSERT INTO {table} ({names}) VALUES ({values}) "  # noqa: S608 - constants only
        f"ON CONFLICT (archive_seq) DO UPDATE SET {updates} "
        f"WHERE ({changed}) IS DISTINCT FROM ({incoming})"
    )


def _row(document: SearchDocument) -> list[Any]:
    return [
        list(value) if isinstance(value, tuple) else value
        for value in (getattr(document, c) for c in COLUMNS)
    ]


def _document(row: tuple[Any, ...]) -> SearchDocument:
    values = dict(zip(COLUMNS, row, strict=False))
    for name in ("audience_ids", "audience_usernames", "policies", "review_states"):
        values[name] = tuple(values[name])
    return SearchDocument(**values)


def highlight_query(tree: Node) -> tuple[str, tuple[str, ...]] | None:
    """A tsquery (english) of the words to mark and rank by, or None if there are none."""
    parts: list[str] = []
    params: list[str] = []
    for word in positive_words(tree):
        if isinstance(word, Prefix):
            quoted = word.stem.replace("\\", "\\\\").replace("'", "''")
            parts.append("to_tsquery('english', %s)")
            params.append(f"'{quoted}':*")
        elif isinstance(word, Term | Phrase):
            parts.append("plainto_tsquery('english', %s)")
            params.append(word.text)
    if not parts:
        return None
    return "(" + " || ".join(parts) + ")", tuple(params)


def search_settings_apply(cursor: Any, *, timeout_ms: int) -> None:
    """SET LOCAL statement_timeout and SEARCH_SETTINGS, for the current transaction."""
    names = {"statement_timeout": str(timeout_ms), **SEARCH_SETTINGS}
    calls = ", ".join("set_config(%s, %s, true)" for _ in names)
    cursor.execute(f"SELECT {calls}", [value for pair in names.items() for value in pair])


def headline_sql(
    words: tuple[str, tuple[str, ...]] | None, *, highlights: bool
) -> tuple[str, tuple[str, ...]]:
    """The select-list expression of the marked text (or NULL), with its parameters."""
    if not (words and highlights):
        return "NULL", ()
    query, query_params = words
    return (
        f"ts_headline('english', translate(body, %s, ''), {query}, %s)",
        (MARK_START + MARK_END, *query_params, _HEADLINE_OPTIONS),
    )


def marked(headline: str | None) -> list[str]:
    if not headline or MARK_START not in headline:
        return []
    escaped = html.escape(headline, quote=False)
    return [escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")]


class PostgresBackend(DatabaseTableIndex):
    name = "postgresql"

    def __init__(self, table: str = TABLE) -> None:
        super().__init__(table)

    # -- writing ---------------------------------------------------------------------------

    def create_table(self) -> None:
        """For a table other than the migrated one (tests)."""
        with connection.cursor() as cursor:
            for statement in search_table_ddl(self.table):
                cursor.execute(statement)

    def index_records(self, batch: IndexBatch) -> None:
        with connection.cursor() as cursor:
            if batch.documents:
                cursor.executemany(_upsert_sql(self.table), [_row(d) for d in batch.documents])
            for conversation_id, name in sorted(batch.renamed.items()):
                cursor.execute(
                    f"UPDATE {self.table} SET conversation_name = %s "  # noqa: S608
                    "WHERE conversation_id = %s AND conversation_name <> %s",
                    [name, conversation_id, name],
                )

    def document(self, archive_seq: int) -> SearchDocument | None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(COLUMNS)} FROM {self.table} WHERE archive_seq = %s",  # noqa: S608
                [archive_seq],
            )
            row = cursor.fetchone()
        return _document(row) if row else None

    def all_documents(self) -> list[SearchDocument]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM {self.table} ORDER BY archive_seq")  # noqa: S608
            return [_document(row) for row in cursor.fetchall()]

    # -- reading ---------------------------------------------------------------------------

    def scope_filter(self, scope: Scope) -> SqlFilter:
        parts: list[SqlFilter] = []
        if scope.conversation_ids is not None:
            parts.append(
                SqlFilter("conversation_id = ANY(%s::bigint[])", (sorted(scope.conversation_ids),))  # type: ignore[arg-type]
            )
        for conversation_id, first_seq in scope.history_starts:
            parts.append(
                SqlFilter(
                    "NOT (conversation_id = %s AND archive_seq < %s)", (conversation_id, first_seq)
                )
            )
        if not scope.all_versions:
            t = self.table
            parts.append(SqlFilter("NOT is_deleted", ()))
            parts.append(
                SqlFilter(
                    f"NOT EXISTS (SELECT 1 FROM {t} AS newer WHERE newer.message_id = "  # noqa: S608
                    f"{t}.message_id AND newer.archive_seq > {t}.archive_seq)",
                    (),
                )
            )
        if not parts:
            return SqlFilter("TRUE", ())
        return SqlFilter(
            " AND ".join(p.sql for p in parts), tuple(v for p in parts for v in p.params)
        )

    def search(
        self,
        tree: Node,
        *,
        scope: Scope,
        order: Order = Order.NEWEST,
        after: After | None = None,
        limit: int = 50,
        highlights: bool = True,
        facets: bool = False,
    ) -> SearchPage:
        with transaction.atomic(), connection.cursor() as cursor:
            return self.read(
                cursor,
                tree,
                scope=scope,
                order=order,
                after=after,
                limit=limit,
                highlights=highlights,
                facets=facets,
                timeout_ms=settings.EIM_SEARCH_TIMEOUT_MS,
            )

    def read(
        self,
        cursor: Any,
        tree: Node,
        *,
        scope: Scope,
        order: Order,
        after: After | None,
        limit: int,
        highlights: bool,
        facets: bool,
        timeout_ms: int,
    ) -> SearchPage:
        """`search` on `cursor`, inside the caller's transaction (bench/search.py runs the
        shipped statements on its own connection this way)."""
        where = compile_postgres(tree).within(self.scope_filter(scope))
        words = highlight_query(tree)
        headline = headline_sql(words, highlights=highlights)
        # The cursor is checked to be this backend's before any statement runs.
        keyset = after_keyset(after) if order is Order.NEWEST else None
        offset = after_offset(after) if order is Order.RELEVANCE else 0
        search_settings_apply(cursor, timeout_ms=timeout_ms)
        count, count_exact = self._count(cursor, where)
        if order is Order.NEWEST:
            rows = self._newest(cursor, tree, where, headline, keyset, limit)
        else:
            rows = self._ranked(cursor, tree, words, where, headline, offset, limit)
        found_facets = self._facets(cursor, where) if facets else None
        more = len(rows) > limit
        hits = [SearchHit(_document(row[:-1]), marked(row[-1])) for row in rows[:limit]]
        next_after = None
        if more:
            last = hits[-1].document
            next_after = (
                [last.occurred_at.isoformat(), last.archive_seq]
                if order is Order.NEWEST
                else [offset + limit]
            )
        return SearchPage(
            count=count,
            count_exact=count_exact,
            hits=hits,
            next_after=next_after,
            facets=found_facets,
        )

    def _count(self, cursor: Any, where: SqlFilter) -> tuple[int, bool]:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {self.table} WHERE {where.sql} "  # noqa: S608
            "LIMIT %s) AS hits",
            [*where.params, count_limit()],
        )
        return capped_count(int(cursor.fetchone()[0]))

    def _newest(
        self,
        cursor: Any,
        tree: Node,
        where: SqlFilter,
        headline: tuple[str, tuple[str, ...]],
        after: tuple[datetime, int] | None,
        limit: int,
    ) -> list[tuple[Any, ...]]:
        """Rows (COLUMNS, headline) newest first, after the keyset (occurred_at, archive_seq)."""
        cursor_time = None
        if after:
            cursor_time, cursor_seq = after
            where = SqlFilter(
                f"({where.sql}) AND (occurred_at, archive_seq) < (%s, %s)",
                (*where.params, cursor_time, cursor_seq),
            )
        columns = f"{', '.join(COLUMNS)}, {headline[0]} AS headline"
        query = PageQuery(self.table, columns, headline[1], where)
        return newest_rows(cursor, query, tree=tree, after=cursor_time, wanted=limit + 1)

    def _ranked(
        self,
        cursor: Any,
        tree: Node,
        words: tuple[str, tuple[str, ...]] | None,
        where: SqlFilter,
        headline: tuple[str, tuple[str, ...]],
        offset: int,
        limit: int,
    ) -> list[tuple[Any, ...]]:
        """Rows (COLUMNS, headline) of the newest RANKED_MATCHES matches, best rank first.

        A query without words (`participant:x`, dates) has nothing to rank: every match ties,
        so it is the newest-first read (with its probe) over every match, from the offset.
        """
        names = ", ".join(COLUMNS)
        if words is None:
            return self._newest(cursor, tree, where, headline, None, offset + limit)[offset:]
        sql = (
            f"SELECT {names}, {headline[0]} AS headline FROM ("  # noqa: S608 - constants only
            f"SELECT {names}, ts_rank(body_tsv, {words[0]}) AS rank FROM {self.table} "
            f"WHERE {where.sql} {NEWEST_FIRST} LIMIT %s) AS newest "
            "ORDER BY rank DESC, archive_seq DESC LIMIT %s OFFSET %s"
        )
        params = [*headline[1], *words[1], *where.params, RANKED_MATCHES, limit + 1, offset]
        cursor.execute(sql, params)
        return list(cursor.fetchall())

    def _facets(self, cursor: Any, where: SqlFilter) -> Facets:
        base = f"FROM {self.table} WHERE {where.sql}"
        cursor.execute(
            f"SELECT author_username, count(*) {base} "
            f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {FACET_SIZE}",
            where.params,
        )
        authors = [{"username": u, "count": n} for u, n in cursor.fetchall()]
        cursor.execute(
            f"SELECT conversation_id, max(conversation_name), count(*) {base} "
            f"GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT {FACET_SIZE}",
            where.params,
        )
        conversations = [{"id": c, "name": name, "count": n} for c, name, n in cursor.fetchall()]
        cursor.execute(
            f"SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*) {base} "
            "GROUP BY 1 ORDER BY 1",
            where.params,
        )
        days = [{"date": d, "count": n} for d, n in cursor.fetchall()]
        return Facets(authors=authors, conversations=conversations, days=days)
