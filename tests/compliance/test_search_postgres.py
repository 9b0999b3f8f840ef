"""The PostgreSQL backend's reading plan: the probe of the newest rows and the bounded scan
after it, the capped count, relevance over the newest matches, the search's settings, and
the migrated table against the contract. Rows go straight into a table built from
`search_table_ddl`; the behaviour suite covers the same backend through the pipeline."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.search import results
from compliance.search.backends import postgres, postgres_probe
from compliance.search.backends.postgres import PostgresBackend
from compliance.search.query import SqlFilter, parse_query
from compliance.search.results import Order, Scope, SearchPage

from .conftest import NOON, TABLE, SearchTable

EVERYTHING = Scope.everything()
ROWS = 40


@pytest.fixture
def minutes(search_table: SearchTable) -> PostgresBackend:
    """40 rows, one a minute back from noon, all "trade", every third "deal" too (14 rows);
    analysed, so that the planner knows the table has 40 rows."""
    for minute in range(ROWS):
        body = f"deal trade {minute}" if minute % 3 == 0 else f"trade {minute}"
        search_table.add(body, occurred_at=NOON - timedelta(minutes=minute))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    return PostgresBackend(TABLE)


def _pages(
    backend: PostgresBackend, query: str, *, limit: int, scope: Scope = EVERYTHING
) -> list[SearchPage]:
    pages, after = [], None
    while True:
        page = backend.search(parse_query(query), scope=scope, after=after, limit=limit)
        pages.append(page)
        after = page.next_after
        if after is None:
            return pages


def _seqs(pages: list[SearchPage]) -> list[list[int]]:
    return [[hit.document.archive_seq for hit in page.hits] for page in pages]


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries]


def _windowed(statements: list[str]) -> tuple[int, int]:
    """(probes, scans of the rest) among the page statements."""
    pages = [s for s in statements if "ORDER BY occurred_at DESC" in s and "EXPLAIN" not in s]
    probes = sum(1 for s in pages if "AND occurred_at >= " in s)
    rests = sum(1 for s in pages if "AND occurred_at < " in s)
    return probes, rests


@pytest.mark.parametrize(
    ("query", "limit"), [("deal", 5), ("trade", 3), ("trade -deal", 7), ("deal", 1)]
)
def test_a_narrow_probe_pages_exactly_as_one_statement_does(
    minutes: PostgresBackend, monkeypatch: pytest.MonkeyPatch, query: str, limit: int
) -> None:
    whole = _pages(minutes, query, limit=limit)  # the window holds every row: one statement
    monkeypatch.setattr(postgres_probe, "PROBE_ROWS", 10)  # a quarter of the rows' time

    with CaptureQueriesContext(connection) as queries:
        probed = _pages(minutes, query, limit=limit)

    assert _seqs(probed) == _seqs(whole)
    assert [p.next_after for p in probed] == [p.next_after for p in whole]
    assert sum(len(seqs) for seqs in _seqs(probed)) == probed[0].count
    assert _windowed(_statements(queries))[0] >= 1


def test_a_common_word_ends_in_the_window(
    minutes: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_probe, "PROBE_ROWS", 10)

    with CaptureQueriesContext(connection) as queries:
        page = minutes.search(parse_query("trade"), scope=EVERYTHING, limit=3)

    assert [hit.document.body for hit in page.hits] == ["deal trade 0", "trade 1", "trade 2"]
    assert _windowed(_statements(queries)) == (1, 0)


def test_a_rarer_word_reads_the_rest_after_the_window(
    minutes: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_probe, "PROBE_ROWS", 10)  # minutes 0-9: 4 deals of 6 wanted

    with CaptureQueriesContext(connection) as queries:
        page = minutes.search(parse_query("deal"), scope=EVERYTHING, limit=5)

    assert [hit.document.body for hit in page.hits] == [
        f"deal trade {minute}" for minute in (0, 3, 6, 9, 12)
    ]
    assert _windowed(_statements(queries)) == (1, 1)


def test_a_long_filtered_walk_for_the_rest_is_read_by_bitmap_then_index_scans_return(
    minutes: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _pages(minutes, "deal", limit=5)
    monkeypatch.setattr(postgres_probe, "PROBE_ROWS", 10)
    monkeypatch.setattr(postgres_probe, "PROBE_WALK_ROWS", 0)  # every walk counts as long
    with connection.cursor() as cursor:  # leave the planner only index walks to choose
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")

    with CaptureQueriesContext(connection) as queries:
        probed = _pages(minutes, "deal", limit=5)

    statements = _statements(queries)
    assert _seqs(probed) == _seqs(whole)
    assert any(s.startswith("EXPLAIN (FORMAT JSON)") for s in statements)
    assert "SELECT set_config('enable_indexscan', 'off', true)" in statements
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_indexscan')")
        assert cursor.fetchone() == ("on",)


def test_the_window_ends_at_the_querys_own_before_date(minutes: PostgresBackend) -> None:
    with connection.cursor() as cursor:
        span = postgres_probe.time_span(cursor, TABLE)
    tree = parse_query("deal before:2024-02-01")

    low = postgres_probe.probe_start(span, tree=tree, after=None)

    assert span is not None
    assert postgres_probe.query_end(tree) == NOON.replace(day=1, month=2, hour=0)
    assert postgres_probe.query_end(parse_query("deal OR before:2024-02-01")) is None
    assert low is None  # a window ending a month before the first row holds every row


def test_the_probe_adds_only_a_time_bound_after_the_scope() -> None:
    query = postgres_probe.PageQuery(
        TABLE, "archive_seq", (), SqlFilter("(scope) AND (a OR b)", ("x",))
    )

    sql, params = query.bounded(SqlFilter("occurred_at >= %s", (NOON,))).statement(3)

    assert "WHERE ((scope) AND (a OR b)) AND occurred_at >= %s ORDER BY" in sql
    assert params == ["x", NOON, 3]


def test_the_count_stops_one_past_the_cap(
    minutes: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results, "COUNT_CAP", 14)
    exact = minutes.search(parse_query("deal"), scope=EVERYTHING)
    monkeypatch.setattr(results, "COUNT_CAP", 13)

    with CaptureQueriesContext(connection) as queries:
        capped = minutes.search(parse_query("deal"), scope=EVERYTHING)

    assert (exact.count, exact.count_exact, len(exact.hits)) == (14, True, 14)
    assert (capped.count, capped.count_exact, len(capped.hits)) == (13, False, 14)
    (counting,) = [s for s in _statements(queries) if s.startswith("SELECT count(*)")]
    assert counting.endswith("LIMIT 14) AS hits")


def test_relevance_ranks_only_the_newest_matches(
    search_table: SearchTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    best = search_table.add("deal deal deal deal", occurred_at=NOON - timedelta(days=1))
    for minute in range(3):
        search_table.add(f"deal {minute}", occurred_at=NOON - timedelta(minutes=minute))
    backend = PostgresBackend(TABLE)
    everything = backend.search(parse_query("deal"), scope=EVERYTHING, order=Order.RELEVANCE)
    monkeypatch.setattr(postgres, "RANKED_MATCHES", 3)

    newest = backend.search(parse_query("deal"), scope=EVERYTHING, order=Order.RELEVANCE)

    assert everything.hits[0].document.archive_seq == best
    assert best not in [hit.document.archive_seq for hit in newest.hits]
    assert (len(newest.hits), newest.next_after, newest.count) == (3, None, 4)


def test_relevance_without_words_is_newest_first_over_every_match(
    minutes: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "RANKED_MATCHES", 3)  # no ranking window applies
    query = parse_query("after:2000-01-01")  # nothing to rank: every row ties

    first = minutes.search(query, scope=EVERYTHING, order=Order.RELEVANCE, limit=15)
    second = minutes.search(
        query, scope=EVERYTHING, order=Order.RELEVANCE, after=first.next_after, limit=15
    )

    times = [hit.document.occurred_at for page in (first, second) for hit in page.hits]
    assert len(times) == 30
    assert times == sorted(times, reverse=True)
    assert times[0] == NOON


def test_a_search_runs_with_its_own_settings(minutes: PostgresBackend) -> None:
    minutes.search(parse_query("deal"), scope=EVERYTHING)

    # SET LOCAL lasts to the end of the test's transaction: what the search ran with.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('work_mem'), current_setting('jit'), "
            "current_setting('plan_cache_mode'), "
            "(SELECT setting FROM pg_settings WHERE name = 'statement_timeout')"
        )
        assert cursor.fetchone() == (
            "64MB",
            "off",
            "force_custom_plan",
            str(settings.EIM_SEARCH_TIMEOUT_MS),
        )


def test_an_employee_scope_stays_first_through_the_probe(
    search_table: SearchTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    for minute in range(ROWS):
        search_table.add(
            f"deal {minute}",
            conversation_id=1 + minute % 2,
            occurred_at=NOON - timedelta(minutes=minute),
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    monkeypatch.setattr(postgres_probe, "PROBE_ROWS", 5)

    pages = _pages(PostgresBackend(TABLE), "deal OR NOT deal", limit=4, scope=Scope.member_of({1}))

    bodies = [hit.document.body for page in pages for hit in page.hits]
    assert bodies == [f"deal {minute}" for minute in range(0, ROWS, 2)]


def _indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return {name.replace(table, "t"): sql.replace(table, "t") for name, sql in cursor}


def _statistics_targets(table: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attstattarget FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND attstattarget <> -1",
            [table],
        )
        return dict(cursor.fetchall())


def test_the_migrated_table_matches_a_table_built_from_the_contract(
    search_table: SearchTable,
) -> None:
    migrated = postgres.TABLE

    assert _indexes(migrated) == _indexes(TABLE)
    assert "t_audience" in _indexes(migrated)
    assert not {"t_audience_ids", "t_audience_usernames"} & set(_indexes(migrated))
    assert _statistics_targets(migrated) == _statistics_targets(TABLE)
    assert _statistics_targets(TABLE) == {
        "body_tsv": 1000,
        "body_simple_tsv": 1000,
        "audience_ids": 1000,
        "audience_usernames": 1000,
    }
