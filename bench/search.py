"""Search benchmark: PostgreSQL full-text search over the search table, at archive scale.

It owns one database (created if missing) and, in it, one search table per row count
(`search_1000000`, ...), built with `search_table_ddl` exactly as the contract defines it.

1. Load: `--rows` synthetic archived message versions, streamed with COPY into the bare
   table, then every index of the contract is built (GIN included), then VACUUM ANALYZE.
   The vocabulary is English-like and Zipf-distributed: stop words first, ~970 common English
   words, ~250 finance words and collocations ("price target", "insider trading"), a tail of
   pseudo-words, and now and then a ticker, code name or amount (the rare words of real
   chat). Bodies are 3-40 words (median ~10), a few hundred authors and conversations
   (direct messages, groups, channels of up to 50), ~5 % of rows are edits, ~2 % of messages
   are deleted, dates span two years. A table that is already loaded is reused (`--fresh`
   reloads it); its load figures are kept in `bench_meta`.
2. Queries: for every query type, `--runs` queries with different words (picked by their
   real document frequency in the table), each compiled with `compile_postgres`, put inside
   a permission scope (compliance officer: none; employee: `audience_ids @> ARRAY[user]`)
   and run for the first page, newest first (`ORDER BY occurred_at DESC, archive_seq DESC
   LIMIT 50`), warm cache, one connection. Also the exact and the capped count.
3. Strategies (`--strategies`): the same queries under each, interleaved query by query so
   that a busy machine slows them alike; the script stops if two strategies return
   different pages. `contract` is the product's page query as shipped (the backend's own
   functions: `postgres_probe.newest_rows`, the probe of the newest ~20k rows then the rest,
   and `search_settings_apply`: work_mem 64MB, jit off, custom plans); `probe` is the same
   with the server's settings; `single` and `single-settings` run the compiled query as one
   statement; `subselect-near` is the compiler before the NEAR fix (with `--ddl before`,
   the contract as first measured); `windows` (rejected: bitmap-only time windows) is kept
   for the record.
   `--ddl audience|before` measures with the default statistics targets / the indexes from
   before migration compliance/0003, and puts the contract's back afterwards; a table
   loaded before 0003 is brought to the contract when it is reused. `--api` also times
   whole requests through `PostgresBackend.read` (newest, newest with facets, relevance);
   `--explain` writes the plans of every statement of the slowest queries that missed to
   var/bench/search/explain-<rows>.txt.

    .venv/bin/python bench/search.py           # 1M rows, 50 runs: contract,single,subselect-near
    .venv/bin/python bench/search.py --explain --api
    .venv/bin/python bench/search.py --strategies contract,probe,single --ddl before
    .venv/bin/python bench/search.py --rows 5000000 --runs 20
    .venv/bin/python bench/search.py --json                   # or --json-out FILE as well

See docs/performance.md ("Search") for the figures and what they mean.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import itertools
import json
import math
import os
import random
import statistics
import string
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eim.settings.test")

import django  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

django.setup()  # the backend modules import the archive's models; nothing connects

from compliance.search.backends.postgres import (  # noqa: E402
    RANKED_MATCHES,
    SEARCH_SETTINGS,
    PostgresBackend,
    search_settings_apply,
)
from compliance.search.backends.postgres_probe import (  # noqa: E402
    PageQuery,
    TimeSpan,
    newest_rows,
    time_span,
)
from compliance.search.query import (  # noqa: E402
    Near,
    Node,
    SqlFilter,
    compile_postgres,
    parse_query,
    search_table_ddl,
)
from compliance.search.query.compile_postgres import (  # noqa: E402
    STATISTICS_COLUMNS,
    STATISTICS_TARGET,
    _Columns,
    _operand,
)
from compliance.search.results import COUNT_CAP, Order, Scope  # noqa: E402

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eim_bench_search"
LOG_DIR = ROOT / "var" / "bench" / "search"
GENERATOR_VERSION = 5  # bump when the data would differ, so old tables are not reused
TARGET_P99 = 0.100  # seconds, for every query type at 1M rows
LIMIT = 50
STATEMENT_TIMEOUT_MS = 30_000
START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
ORDER = "ORDER BY occurred_at DESC, archive_seq DESC"
COLUMNS = (
    "archive_seq, message_id, version_kind, conversation_id, conversation_name, author_id, "
    "author_username, occurred_at, created_at, body, is_edited, is_deleted, has_attachment"
)


# ----- options


@dataclass(frozen=True)
class Options:
    rows: int
    runs: int
    warmup: int
    seed: int
    database_url: str
    fresh: bool
    strategies: list[str]
    types: list[str]
    scopes: list[str]
    explain: bool
    json: bool
    json_out: Path | None
    ddl: str
    api: bool
    maintenance_work_mem: str


def options_parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--rows", type=int, default=1_000_000, help="message versions in the table")
    add("--runs", type=int, default=50, help="queries per type and scope (different words)")
    add("--warmup", type=int, default=5, help="unmeasured queries per type first")
    add("--seed", type=int, default=20240101)
    add("--database-url", default=DATABASE_URL)
    add("--fresh", action="store_true", help="drop and reload the table")
    add(
        "--strategies",
        default="contract,single,subselect-near",
        help=f"comma list of {', '.join(STRATEGIES)}",
    )
    add("--types", default="", help="comma list of query types (default: all)")
    add("--scopes", default="officer,employee", help="officer, employee or both")
    add("--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) each type's slowest")
    add("--json", action="store_true", help="print the figures as JSON instead of tables")
    add("--json-out", type=Path, help="also write the JSON figures to this file")
    add("--api", action="store_true", help="also time whole requests, as shipped")
    add(
        "--ddl",
        choices=sorted(DDL_VARIANTS),
        default="contract",
        help="indexes to measure with; a variant is put back to the contract's at the end",
    )
    add("--maintenance-work-mem", default="512MB", help="for the index builds (session only)")
    args = parser.parse_args(argv)
    strategies = args.strategies.split(",")
    unknown = [name for name in strategies if name not in STRATEGIES]
    if unknown:
        parser.error(f"unknown strategies {unknown}; choose from {list(STRATEGIES)}")
    types = args.types.split(",") if args.types else list(QUERY_TYPES)
    if unknown := [name for name in types if name not in QUERY_TYPES]:
        parser.error(f"unknown query types {unknown}; choose from {list(QUERY_TYPES)}")
    return Options(
        rows=args.rows,
        runs=args.runs,
        warmup=args.warmup,
        seed=args.seed,
        database_url=args.database_url,
        fresh=args.fresh,
        strategies=strategies,
        types=types,
        scopes=args.scopes.split(","),
        explain=args.explain,
        json=args.json,
        json_out=args.json_out,
        ddl=args.ddl,
        api=args.api,
        maintenance_work_mem=args.maintenance_work_mem,
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----- vocabulary


def word_list(text: str) -> list[str]:
    return text.split()


# Chat's most frequent words, in rough order: most are PostgreSQL English stop words, so the
# head of the Zipf curve mostly drops out of the index, as it does for real chat; the
# content words among them (ok, trade, call, price, client, ...) are a trading floor's
# everyday words, found in 3-10 % of messages.
HEAD = word_list(
    "i the to you a and it is that we ok on for thanks of in trade this be have call can "
    "price will do not client with just are so deal at me if my what but market get up out "
    "all they risk was about now there yes let know no need from order"
)

FINANCE = word_list(
    "trade trades trading traded trader traders desk book position positions hedge hedged "
    "hedging exposure risk limit limits breach pnl p&l margin collateral client clients "
    "account order orders fill filled execution execute block price prices pricing quote "
    "quotes bid offer ask spread spreads yield yields bond bonds equity equities stock stocks "
    "share shares option options future futures swap swaps forward fx rates rate curve "
    "duration coupon issuance issuer deal deals mandate pipeline syndicate allocation "
    "allocations underwriting roadshow ipo merger acquisition target valuation multiple "
    "earnings guidance revenue ebitda forecast estimate consensus upgrade downgrade rating "
    "research analyst note notes report settlement settle settled custody clearing broker "
    "dealer counterparty compliance regulator regulatory audit confidential confidentiality "
    "insider material nonpublic mnpi restricted watchlist wall crossing leak tip rumour "
    "rumor front running spoofing layering churning kickback bribe gift entertainment "
    "invoice payment wire transfer fund funds portfolio benchmark index etf liquidity "
    "volatility vol skew gamma delta vega notional leverage repo treasury treasuries "
    "sovereign credit default cds loan loans lender borrower covenant refinancing "
    "high-yield investment-grade basis bps bp tick close open opening closing auction "
    "overnight intraday eod sod morning afternoon market markets sell buy long short cover "
    "squeeze rally selloff dip bounce upside downside bullish bearish flat volume volumes "
    "commission fee fees rebate mark marks marking mtm reconcile reconciliation break breaks "
    "trade-date value-date sec finra fca esma mifid dodd-frank kyc aml sanctions escalate "
    "escalation approve approval sign-off signoff chaperone recorded line offline whatsapp "
    "signal personal phone delete deleted destroy shred cash bonus comp budget quarter "
    "quarterly annual ytd q1 q2 q3 q4 fomc cpi payrolls ecb boe fed hike cut dovish hawkish"
)

# Collocations are vocabulary units of their own, so that phrase queries find real phrases.
COLLOCATIONS = (
    "price target",
    "insider trading",
    "front running",
    "conference call",
    "end of day",
    "off the record",
    "keep this between us",
    "don't tell compliance",
    "before the announcement",
    "ahead of the print",
    "earnings call",
    "client order",
    "block trade",
    "stop loss",
    "limit order",
    "market maker",
    "best execution",
    "wash trade",
    "delete this",
    "call me on my cell",
    "take it offline",
    "chinese wall",
    "wall crossed",
    "deal team",
    "due diligence",
    "term sheet",
    "non disclosure",
    "press release",
    "fed meeting",
    "rate cut",
    "rate hike",
    "risk limit",
    "margin call",
    "trade break",
    "fat finger",
    "make it right",
    "on the desk",
    "good for the book",
    "print it",
    "cover the short",
    "mark to market",
    "year end",
    "quarter end",
    "close of business",
    "new issue",
    "order book",
    "credit line",
    "risk off",
    "risk on",
    "bid ask",
    "high yield",
    "investment grade",
    "over the counter",
    "pre market",
    "after hours",
    "all in",
    "follow up",
    "heads up",
    "circle back",
    "touch base",
    "send me the numbers",
)

SYLLABLES = word_list(
    "ba be bi bo bu ca co cu da de di do fa fe fi fo ga ge go ha he hi ho ka ke ki ko la le "
    "li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta "
    "te ti to tu va ve vi vo wa we wi za zo ar er ir or ur an en in on un al el il ol st tr "
    "pr pl gr br cr dr fl gl sl sp"
)
ENDINGS = ("", "", "", "s", "er", "ing", "ed", "ly", "tion", "ment", "ness", "al", "ic", "ive")

FIRST_NAMES = word_list(
    "alice bob carol dave erin frank grace heidi ivan judy ken laura mallory nina oscar "
    "peggy quinn rachel sam trent ursula victor wendy xavier yara zane amir bea chen dana "
    "eli fatima gus hana igor jon kira luis maya noah olga priya raj sofia tom uma vera will"
)
LAST_NAMES = word_list(
    "smith jones brown taylor wilson davies evans thomas roberts walker wright hall green "
    "wood clarke hughes lewis scott young king baker hill moore patel khan wang li garcia "
    "martin muller rossi dubois novak silva kim ito sato"
)
DESKS = word_list(
    "trading rates fx credit equities emerging-markets commodities syndicate research "
    "compliance risk ops treasury sales structuring prime-brokerage derivatives ecm dcm "
    "m-and-a legal audit settlements"
)


@dataclass(frozen=True)
class Vocabulary:
    units: list[str]  # words and collocations, most frequent first
    cumulative: list[float]  # Zipf cumulative weights over `units`
    rare: list[str]  # tickers, code names, amounts: the long tail
    rare_cumulative: list[float]


def zipf_cumulative(count: int, exponent: float, *, offset: int = 0) -> list[float]:
    """Zipf(-Mandelbrot, with an offset: a flatter head) weights of ranks 1..count, summed."""
    ranks = range(1 + offset, count + 1 + offset)
    return list(itertools.accumulate(1.0 / (rank**exponent) for rank in ranks))


def pseudo_word(rng: random.Random) -> str:
    syllables = rng.choice((2, 2, 3, 3, 3, 4))
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables)) + rng.choice(ENDINGS)


def vocabulary_build(seed: int) -> Vocabulary:
    from faker.providers.lorem.en_US import Provider as Lorem  # the dev dependency's word list

    rng = random.Random(seed)
    common = [w for w in Lorem.word_list if w not in HEAD and w.isalpha()]
    middle = common + [w for w in FINANCE if w not in common] + list(COLLOCATIONS)
    rng.shuffle(middle)
    known = set(HEAD) | set(middle)
    tail: list[str] = []
    while len(tail) < 2800:
        word = pseudo_word(rng)
        if word not in known:
            known.add(word)
            tail.append(word)
    units = HEAD + middle + tail
    rare: list[str] = []
    while len(rare) < 60_000:
        kind = rng.random()
        if kind < 0.4:
            rare.append(
                "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 4)))
            )
        elif kind < 0.7:
            rare.append(pseudo_word(rng) + rng.choice(("", "co", "ex", "ia")))  # code names
        else:
            rare.append(f"{rng.randint(1, 999)}{rng.choice(('k', 'm', 'mm', 'bn', 'bps', '.5'))}")
    return Vocabulary(
        units=units,
        cumulative=zipf_cumulative(len(units), 1.05),
        rare=rare,
        rare_cumulative=zipf_cumulative(len(rare), 1.1, offset=50),
    )


# ----- population: users and conversations


@dataclass(frozen=True)
class Conversation:
    id: int
    name: str
    member_ids: list[int]
    member_usernames: list[str]
    author_cumulative: list[float]


@dataclass(frozen=True)
class Population:
    usernames: list[str]  # index = user id - 1
    conversations: list[Conversation]
    conversation_cumulative: list[float]


def population_build(seed: int, *, users: int = 320, conversations: int = 450) -> Population:
    rng = random.Random(seed + 1)
    names = [f"{first}.{last}" for first in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(names)
    usernames = names[:users]
    # Some people are in many conversations and talk a lot; most are not and do not.
    sociability = [1.0 / (rank**0.5) for rank in range(1, users + 1)]
    rng.shuffle(sociability)
    talkativeness = [rng.lognormvariate(0, 1) for _ in range(users)]
    built = []
    for number in range(1, conversations + 1):
        kind = rng.random()
        if kind < 0.45:
            size, name = 2, ""
        elif kind < 0.65:
            size, name = rng.randint(3, 8), ""
        else:
            size = min(50, max(5, int(rng.paretovariate(1.2) * 6)))
            name = f"{rng.choice(DESKS)}-{rng.choice(('desk', 'team', 'chat', 'deal', 'ops'))}"
            name = f"{name}-{number}"
        members: set[int] = set()
        while len(members) < size:
            members.add(rng.choices(range(users), weights=sociability)[0])
        ids = sorted(members)
        built.append(
            Conversation(
                id=number,
                name=name,
                member_ids=[i + 1 for i in ids],
                member_usernames=[usernames[i] for i in ids],
                author_cumulative=list(itertools.accumulate(talkativeness[i] for i in ids)),
            )
        )
    # Channels and groups are busier than direct messages; a few are very busy.
    activity = [
        (3.0 if c.name else 1.0) * rng.paretovariate(1.1) * len(c.member_ids) ** 0.5 for c in built
    ]
    return Population(usernames, built, list(itertools.accumulate(activity)))


# ----- rows


@dataclass
class Message:
    id: int
    conversation: Conversation
    author_index: int
    created_at: datetime
    versions: list[tuple[datetime, str]]  # (occurred_at, body), the original first
    deleted: bool
    attachment: bool
    policies: list[str]


POLICIES = ("insider list", "market abuse", "gifts and entertainment", "off-channel")


class Generator:
    """Deterministic messages in time order, in chunks; `rows()` gives the COPY tuples."""

    def __init__(self, *, rows: int, seed: int, vocabulary: Vocabulary, population: Population):
        self.target = rows
        self.rng = random.Random(seed + 2)
        self.vocabulary = vocabulary
        self.population = population
        # One message gives ~1.055 rows (edits), so this many messages give about `rows`.
        self.messages = math.ceil(rows / 1.055)
        self.step = SPAN.total_seconds() / self.messages

    def body(self) -> str:
        rng, vocabulary = self.rng, self.vocabulary
        length = max(3, min(40, round(rng.lognormvariate(math.log(10), 0.6))))
        words = rng.choices(vocabulary.units, cum_weights=vocabulary.cumulative, k=length)
        if rng.random() < 0.3:
            rare = rng.choices(vocabulary.rare, cum_weights=vocabulary.rare_cumulative)[0]
            words.insert(rng.randrange(len(words) + 1), rare)
        text = " ".join(words)
        if rng.random() < 0.4:
            text = text[0].upper() + text[1:]
        return text + rng.choice(("", "", "", ".", "?", "!", " :)"))

    def edited(self, body: str) -> str:
        words = body.split()
        for _ in range(self.rng.randint(1, 3)):
            replacement = self.rng.choices(
                self.vocabulary.units, cum_weights=self.vocabulary.cumulative
            )[0]
            words[self.rng.randrange(len(words))] = replacement
        return " ".join(words)

    def message(self, number: int) -> Message:
        rng, population = self.rng, self.population
        created = START + timedelta(seconds=(number + rng.random()) * self.step)
        conversation = population.conversations[
            bisect.bisect_left(
                population.conversation_cumulative,
                rng.random() * population.conversation_cumulative[-1],
            )
        ]
        author = bisect.bisect_left(
            conversation.author_cumulative, rng.random() * conversation.author_cumulative[-1]
        )
        versions = [(created, self.body())]
        if rng.random() < 0.042:
            edits = 2 if rng.random() < 0.25 else 1
            for _ in range(edits):
                when = versions[-1][0] + timedelta(seconds=rng.uniform(20, 7200))
                versions.append((when, self.edited(versions[-1][1])))
        flagged = rng.random() < 0.005
        return Message(
            id=number + 1,
            conversation=conversation,
            author_index=author,
            created_at=created,
            versions=versions,
            deleted=rng.random() < 0.02,
            attachment=rng.random() < 0.03,
            policies=[rng.choice(POLICIES)] if flagged else [],
        )

    def rows(self, chunk: int = 20_000) -> Iterator[tuple[Any, ...]]:
        """Rows with archive_seq in occurred_at order within each chunk, up to `rows`."""
        seq = 0
        for first in range(0, self.messages, chunk):
            batch = []
            for number in range(first, min(first + chunk, self.messages)):
                message = self.message(number)
                for index, (occurred_at, body) in enumerate(message.versions):
                    batch.append((occurred_at, index, body, message))
            batch.sort(key=lambda item: item[0])
            for occurred_at, index, body, message in batch:
                seq += 1
                if seq > self.target:
                    return
                conversation = message.conversation
                yield (
                    seq,
                    message.id,
                    "edit" if index else "original",
                    conversation.id,
                    conversation.name,
                    conversation.member_ids[message.author_index],
                    conversation.member_usernames[message.author_index],
                    conversation.member_ids,
                    conversation.member_usernames,
                    occurred_at,
                    message.created_at,
                    body,
                    len(message.versions) > 1,
                    message.deleted,
                    message.attachment,
                    bool(message.policies),
                    message.policies,
                )


COPY_COLUMNS = (
    "archive_seq, message_id, version_kind, conversation_id, conversation_name, author_id, "
    "author_username, audience_ids, audience_usernames, occurred_at, created_at, body, "
    "is_edited, is_deleted, has_attachment, is_flagged, policies"
)
COPY_TYPES = word_list(
    "int8 int8 text int8 text int8 text int8[] text[] timestamptz timestamptz text "
    "bool bool bool bool text[]"
)


# ----- database


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    # prepare_threshold=None: like Django's default (client-side binding, no prepared
    # statements), every query is planned with its values; see the report on generic plans.
    return psycopg.connect(url, autocommit=True, prepare_threshold=None, **kwargs)


def database_ensure(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with connect(parts._replace(path="/postgres").geturl()) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def meta_ensure(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_meta (table_name text PRIMARY KEY, load jsonb NOT NULL)"
    )


@dataclass
class LoadReport:
    rows: int
    seed: int
    generator_version: int
    loaded_at: str
    copy_seconds: float
    index_seconds: dict[str, float]
    analyze_seconds: float
    generator_rows_per_second: float
    table_bytes: int
    index_bytes: dict[str, int]
    maintenance_work_mem: str

    @property
    def total_seconds(self) -> float:
        return self.copy_seconds + sum(self.index_seconds.values()) + self.analyze_seconds


def table_name(rows: int) -> str:
    return f"search_{rows}"


def load_report_read(conn: psycopg.Connection[Any], table: str) -> LoadReport | None:
    row = conn.execute("SELECT load FROM bench_meta WHERE table_name = %s", [table]).fetchone()
    return LoadReport(**row[0]) if row else None


def table_load(conn: psycopg.Connection[Any], options: Options) -> LoadReport:
    """Drop, create (bare), COPY, build the contract's indexes, VACUUM ANALYZE; timed."""
    table = table_name(options.rows)
    ddl = search_table_ddl(table)
    indexes = [statement for statement in ddl if statement.startswith("CREATE INDEX")]
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(table)))
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(f"{table}_terms")))
    conn.execute("DELETE FROM bench_meta WHERE table_name = %s", [table])
    for statement in ddl:  # CREATE TABLE and its statistics targets
        if statement not in indexes:
            conn.execute(statement)
    generator_rate = generator_measure(options)
    generator = generator_for(options)
    log(f"loading {options.rows:,} rows into {table} ...")
    started = time.perf_counter()
    with conn.cursor() as cursor:
        copy_sql = f"COPY {table} ({COPY_COLUMNS}) FROM STDIN"
        with cursor.copy(copy_sql) as copy:
            copy.set_types(COPY_TYPES)
            for count, row in enumerate(generator.rows(), 1):
                copy.write_row(row)
                if count % 250_000 == 0:
                    log(f"  {count:,} rows, {count / (time.perf_counter() - started):,.0f}/s")
    copy_seconds = time.perf_counter() - started
    conn.execute(sql.SQL("SET maintenance_work_mem = {}").format(options.maintenance_work_mem))
    index_seconds = {}
    for statement in indexes:
        name = statement.split()[2]
        started = time.perf_counter()
        conn.execute(statement)
        index_seconds[name.removeprefix(f"{table}_")] = time.perf_counter() - started
        log(f"  index {name}: {index_seconds[name.removeprefix(f'{table}_')]:.1f} s")
    started = time.perf_counter()
    conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
    analyze_seconds = time.perf_counter() - started
    report = LoadReport(
        rows=options.rows,
        seed=options.seed,
        generator_version=GENERATOR_VERSION,
        loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        copy_seconds=copy_seconds,
        index_seconds=index_seconds,
        analyze_seconds=analyze_seconds,
        generator_rows_per_second=generator_rate,
        table_bytes=relation_size(conn, table),
        index_bytes={name: relation_size(conn, f"{table}_{name}") for name in index_seconds},
        maintenance_work_mem=options.maintenance_work_mem,
    )
    conn.execute(
        "INSERT INTO bench_meta (table_name, load) VALUES (%s, %s)",
        [table, json.dumps(asdict(report))],
    )
    return report


def relation_size(conn: psycopg.Connection[Any], name: str) -> int:
    # pg_table_size: heap + TOAST + maps, without indexes.
    return int(conn.execute("SELECT pg_table_size(%s::regclass)", [name]).fetchone()[0])


def generator_for(options: Options) -> Generator:
    return Generator(
        rows=options.rows,
        seed=options.seed,
        vocabulary=vocabulary_build(options.seed),
        population=population_build(options.seed),
    )


def generator_measure(options: Options, sample: int = 50_000) -> float:
    """Rows/s of the generator alone, so the COPY figure can be read as the server's."""
    generator = generator_for(options)
    started = time.perf_counter()
    for _ in itertools.islice(generator.rows(), sample):
        pass
    return sample / (time.perf_counter() - started)


def table_ready(conn: psycopg.Connection[Any], options: Options) -> LoadReport:
    meta_ensure(conn)
    table = table_name(options.rows)
    report = None if options.fresh else load_report_read(conn, table)
    if report and (report.seed, report.generator_version) == (options.seed, GENERATOR_VERSION):
        log(f"reusing {table}, loaded {report.loaded_at} (--fresh reloads it)")
        contract_ensure(conn, table, options.maintenance_work_mem)
        return report
    return table_load(conn, options)


def contract_ensure(conn: psycopg.Connection[Any], table: str, maintenance_work_mem: str) -> None:
    """Bring a table loaded before migration compliance/0003 to the contract's indexes and
    statistics targets (as the migration does), so that `--ddl contract` means what it says."""
    indexes = {
        name
        for (name,) in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s", [table]
        )
    }
    targets = {
        target
        for (target,) in conn.execute(
            "SELECT attstattarget FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attname = ANY(%s)",
            [table, list(STATISTICS_COLUMNS)],
        )
    }
    if f"{table}_audience" in indexes and targets == {STATISTICS_TARGET}:
        return
    log(f"  {table} predates compliance/0003: building its audience index and statistics ...")
    with conn.transaction():
        conn.execute("SET LOCAL statement_timeout = 0")
        conn.execute(sql.SQL("SET LOCAL maintenance_work_mem = {}").format(maintenance_work_mem))
        if f"{table}_audience" not in indexes:
            for statement_sql in _MULTI_AUDIENCE_INDEX:
                conn.execute(statement_sql.format(table=table))
        conn.execute(_statistics(STATISTICS_TARGET).format(table=table))
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


# ----- words by document frequency


@dataclass(frozen=True)
class Words:
    """Query words by how many rows contain them (their stem, as the english index sees it)."""

    frequency: dict[str, int]  # word as typed -> rows containing its stem
    simple_frequency: dict[str, int]  # unstemmed word -> rows containing it
    collocations: list[str]
    usernames: list[str]
    rows: int

    def band(self, low: float, high: float) -> list[str]:
        """Words found in between low and high (fractions) of the rows."""
        return sorted(
            word
            for word, count in self.frequency.items()
            if low * self.rows <= count <= high * self.rows and word.isalpha()
        )


def words_read(conn: psycopg.Connection[Any], options: Options) -> Words:
    table = table_name(options.rows)
    terms = f"{table}_terms"
    exists = conn.execute("SELECT to_regclass(%s)", [terms]).fetchone()[0]
    if not exists:
        log(f"counting document frequencies into {terms} (once per table) ...")
        conn.execute(
            sql.SQL(
                "CREATE TABLE {terms} AS SELECT 'english' AS config, word, ndoc "
                "FROM ts_stat('SELECT body_tsv FROM {table}') UNION ALL "
                "SELECT 'simple', word, ndoc FROM ts_stat('SELECT body_simple_tsv FROM {table}')"
            ).format(terms=sql.Identifier(terms), table=sql.Identifier(table))
        )
    counts: dict[tuple[str, str], int] = {
        (config, word): ndoc
        for config, word, ndoc in conn.execute(
            sql.SQL("SELECT * FROM {}").format(sql.Identifier(terms))
        )
    }
    vocabulary = vocabulary_build(options.seed)
    singles = [unit for unit in vocabulary.units + vocabulary.rare[:20_000] if " " not in unit]
    stems = conn.execute(
        "SELECT w, array_to_string(tsvector_to_array(to_tsvector('english', w)), ' ') "
        "FROM unnest(%s::text[]) AS w",
        [singles],
    ).fetchall()
    frequency = {
        word: counts.get(("english", stem), 0) for word, stem in stems if stem and " " not in stem
    }
    simple = {word: counts.get(("simple", word), 0) for word in singles}
    return Words(
        frequency=frequency,
        simple_frequency=simple,
        collocations=list(COLLOCATIONS),
        usernames=population_build(options.seed).usernames,
        rows=options.rows,
    )


# ----- query types


@dataclass(frozen=True)
class Query:
    text: str
    employee_id: int  # the user whose scope the employee variant uses


# Document-frequency bands, as fractions of the rows.
RARE = (0.000_002, 0.000_05)  # 2 to 50 rows at 1M
MID = (0.005, 0.02)  # 5,000 to 20,000 rows at 1M
COMMON = (0.03, 0.5)  # 30,000+ rows at 1M (up to ~10 %)


def day(rng: random.Random, *, within_days: int = 720) -> datetime:
    return START + timedelta(days=rng.randint(0, within_days))


QueryMaker = Callable[[random.Random, Words], str]


def _rare(rng: random.Random, w: Words) -> str:
    return rng.choice(w.band(*RARE))


def _mid(rng: random.Random, w: Words) -> str:
    return rng.choice(w.band(*MID))


def _common(rng: random.Random, w: Words) -> str:
    return rng.choice(w.band(*COMMON))


def _phrase(rng: random.Random, w: Words) -> str:
    return f'"{rng.choice(w.collocations)}"'


def _and(rng: random.Random, w: Words) -> str:
    first, second = rng.sample(w.band(*MID) + w.band(*COMMON), 2)
    return f"{first} {second}"


def _near(rng: random.Random, w: Words) -> str:
    if rng.random() < 0.5:
        pair = [word for word in rng.choice(w.collocations).split() if word in w.frequency]
        if len(pair) >= 2 and pair[0] != pair[-1]:
            return f"{pair[0]} NEAR/5 {pair[-1]}"
    first, second = rng.sample(w.band(*MID) + w.band(*COMMON), 2)
    return f"{first} NEAR/5 {second}"


def _prefix(rng: random.Random, w: Words) -> str:
    candidates = [
        word for word, count in w.simple_frequency.items() if len(word) >= 6 and count >= 100
    ]
    word = rng.choice(sorted(candidates))
    return word[: rng.randint(4, 5)] + "*"


def _from(rng: random.Random, w: Words) -> str:
    return f"from:{rng.choice(w.usernames)}"


def _participant(rng: random.Random, w: Words) -> str:
    return f"participant:{rng.choice(w.usernames)}"


def _dates(rng: random.Random, w: Words) -> str:
    start = day(rng, within_days=660)
    end = start + timedelta(days=rng.randint(7, 60))
    return f"after:{start:%Y-%m-%d} before:{end:%Y-%m-%d}"


def _dates_term(rng: random.Random, w: Words) -> str:
    return f"{_mid(rng, w)} {_dates(rng, w)}"


def _combined(rng: random.Random, w: Words) -> str:
    first, second = rng.sample(w.band(*MID), 2)
    return (
        f'({first} OR {second} OR "{rng.choice(w.collocations)}") '
        f"participant:{rng.choice(w.usernames)} after:{day(rng, within_days=360):%Y-%m-%d} "
        f"-is:deleted"
    )


QUERY_TYPES: dict[str, QueryMaker] = {
    "rare term": _rare,
    "mid term": _mid,
    "common term": _common,
    "phrase": _phrase,
    "AND of two": _and,
    "NEAR/5": _near,
    "prefix*": _prefix,
    "from:": _from,
    "participant:": _participant,
    "date range": _dates,
    "term + dates": _dates_term,
    "combined": _combined,
}


def employee_for(rng: random.Random, population: Population) -> int:
    """A user who is in at least one busy channel: an ordinary, well-connected employee."""
    channel = rng.choice([c for c in population.conversations if len(c.member_ids) >= 10])
    return rng.choice(channel.member_ids)


def queries_make(options: Options, words: Words) -> dict[str, list[Query]]:
    population = population_build(options.seed)
    made = {}
    for name in options.types:
        rng = random.Random(f"{options.seed}-{name}")
        made[name] = [
            Query(QUERY_TYPES[name](rng, words), employee_for(rng, population))
            for _ in range(options.warmup + options.runs)
        ]
    return made


def scope_filter(scope: str, query: Query) -> SqlFilter:
    if scope == "officer":
        return SqlFilter("TRUE", ())
    return SqlFilter("audience_ids @> ARRAY[%s]::bigint[]", (query.employee_id,))


# ----- strategies


class _SubSelectColumns(_Columns):
    """compile_postgres as it was before the NEAR fix: the NEAR's tsquery in a sub-select.

    PostgreSQL runs the sub-select as an InitPlan whose value the planner cannot see, so it
    estimates `body_tsv @@ $0` with a fixed default selectivity (0.5 %) and, ordering by
    time, walks the occurred_at index filtering every row: ~1 s at 1M rows when the two
    words rarely meet. The shipped compiler writes the tsquery inline (fix 1); this one is
    kept to measure the difference.
    """

    __slots__ = ()

    def near(self, node: Near) -> SqlFilter:
        vector = self.column("body_simple_tsv" if node.exact else "body_tsv")
        config = "simple" if node.exact else "english"
        alternatives = " || ".join(
            "tsquery_phrase(a, b, %s) || tsquery_phrase(b, a, %s)" for _ in range(node.distance + 1)
        )
        distances = tuple(d for d in range(1, node.distance + 2) for _ in (0, 1))
        left, left_params = _operand(node.left, config=config)
        right, right_params = _operand(node.right, config=config)
        sql_text = (
            f"{vector} @@ (SELECT CASE WHEN numnode(a) = 0 THEN a WHEN numnode(b) = 0 THEN b"  # noqa: S608
            f" ELSE {alternatives} END FROM (SELECT {left} AS a, {right} AS b) AS near_operands)"
        )
        return SqlFilter(f"({sql_text})", distances + left_params + right_params)


def compile_sub_select(tree: Node) -> SqlFilter:
    return _SubSelectColumns("").condition(tree)


@dataclass(frozen=True)
class Strategy:
    description: str
    compile: Callable[[Node], SqlFilter] = compile_postgres
    probe: bool = False  # the shipped probe, then bounded scan (postgres_probe.newest_rows)
    search_settings: bool = False  # the shipped SET LOCALs (postgres.SEARCH_SETTINGS)
    windows: bool = False  # newest-first time windows
    bitmap_only: bool = False  # SET LOCAL enable_indexscan = off


STRATEGIES: dict[str, Strategy] = {
    "contract": Strategy(
        "as shipped: compile_postgres (NEAR inline), the probe of the newest ~20k rows then "
        "the rest (by bitmap when a walk would be long and filtered), and the search's "
        f"settings {SEARCH_SETTINGS}",
        probe=True,
        search_settings=True,
    ),
    "probe": Strategy(
        "compile_postgres and the probe, with the server's settings",
        probe=True,
    ),
    "single": Strategy(
        "compile_postgres in one statement (ORDER BY ... LIMIT), with the server's settings",
    ),
    "single-settings": Strategy(
        "compile_postgres in one statement, with the search's settings",
        search_settings=True,
    ),
    "subselect-near": Strategy(
        "the compiler before the NEAR fix (its tsquery in a sub-select), one statement, the "
        "server's settings: the contract as first measured",
        compile=compile_sub_select,
    ),
    "windows": Strategy(
        "newest-first time windows (1/1024 of the span, x4 each), bitmap scans only "
        "(rejected: every type pays several statements)",
        windows=True,
        bitmap_only=True,
    ),
}


@dataclass(frozen=True)
class DdlVariant:
    description: str
    apply: Sequence[str] = ()  # with {table}
    restore: Sequence[str] = ()


def _statistics(target: int) -> str:
    return "ALTER TABLE {table} " + ", ".join(
        f"ALTER COLUMN {column} SET STATISTICS {target}" for column in STATISTICS_COLUMNS
    )


_SINGLE_AUDIENCE_INDEXES = (
    "CREATE INDEX {table}_audience_ids ON {table} USING gin (audience_ids)",
    "CREATE INDEX {table}_audience_usernames ON {table} USING gin (audience_usernames)",
    "DROP INDEX {table}_audience",
)
_MULTI_AUDIENCE_INDEX = (
    "CREATE INDEX {table}_audience ON {table} USING gin (audience_ids, audience_usernames)",
    "DROP INDEX {table}_audience_ids",
    "DROP INDEX {table}_audience_usernames",
)

DDL_VARIANTS = {
    "contract": DdlVariant(
        "search_table_ddl as shipped: one GIN index on (audience_ids, audience_usernames), "
        f"statistics targets of {STATISTICS_TARGET} on {', '.join(STATISTICS_COLUMNS)}"
    ),
    "audience": DdlVariant(
        "the shipped audience index with the default statistics targets (100)",
        apply=(_statistics(-1), "ANALYZE {table}"),
        restore=(_statistics(STATISTICS_TARGET), "ANALYZE {table}"),
    ),
    "before": DdlVariant(
        "the DDL before migration compliance/0003: one GIN index per audience column and the "
        "default statistics targets",
        apply=(*_SINGLE_AUDIENCE_INDEXES, _statistics(-1), "ANALYZE {table}"),
        restore=(*_MULTI_AUDIENCE_INDEX, _statistics(STATISTICS_TARGET), "ANALYZE {table}"),
    ),
}


@contextlib.contextmanager
def ddl_applied(
    conn: psycopg.Connection[Any], table: str, name: str, maintenance_work_mem: str
) -> Iterator[float]:
    """The variant's indexes for the duration; yields how long building them took."""
    variant = DDL_VARIANTS[name]

    def run(statements: Sequence[str]) -> float:
        started = time.perf_counter()
        with conn.transaction():
            conn.execute("SET LOCAL statement_timeout = 0")
            conn.execute(
                sql.SQL("SET LOCAL maintenance_work_mem = {}").format(maintenance_work_mem)
            )
            for statement_sql in statements:
                conn.execute(statement_sql.format(table=table))
        return time.perf_counter() - started

    seconds = run(variant.apply)
    try:
        yield seconds
    finally:
        run(variant.restore)


# ----- running


@dataclass
class Sample:
    text: str
    scope: str
    seconds: float
    rows: int
    statements: int
    archive_seqs: tuple[int, ...]  # the page, to check that every strategy finds the same


def statement(table: str, where: SqlFilter, *, columns: str = COLUMNS, limit: int = LIMIT) -> str:
    # The filter's SQL holds only the compiler's constants; the values are parameters.
    return f"SELECT {columns} FROM {table} WHERE {where.sql} {ORDER} LIMIT {limit}"  # noqa: S608


class CountingCursor:
    """A cursor that counts what runs through it; with `plans`, it first records the
    EXPLAIN (ANALYZE, BUFFERS, SETTINGS) of every page statement (for --explain)."""

    def __init__(self, cursor: psycopg.Cursor[Any], plans: list[str] | None = None) -> None:
        self.cursor = cursor
        self.plans = plans
        self.statements = 0

    def execute(self, query: str, params: Sequence[Any] | None = None) -> CountingCursor:
        if self.plans is not None and ORDER in query and not query.startswith("EXPLAIN"):
            explained = self.cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, SETTINGS) {query}", params)
            self.plans.append("\n".join(row[0] for row in explained.fetchall()))
        self.statements += 1
        self.cursor.execute(query, params)
        return self

    def fetchone(self) -> Any:
        return self.cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self.cursor.fetchall()


def windows(span: TimeSpan) -> Iterator[tuple[datetime | None, datetime]]:
    """[low, high) newest first: 1/1024 of the span, then 4x wider each time; low None = all."""
    high = span.newest + timedelta(microseconds=1)
    width = (span.newest - span.oldest) / 1024
    while True:
        low = high - width
        if low <= span.oldest:
            yield None, high
            return
        yield low, high
        high, width = low, width * 4


def windowed_search(
    conn: psycopg.Connection[Any],
    table: str,
    where: SqlFilter,
    span: TimeSpan,
    *,
    bitmap_only: bool,
) -> tuple[list[tuple[Any, ...]], int]:
    """The first page, newest first, one time window at a time until LIMIT rows are found.

    Each window's statement costs what its own matches cost (plus one read of each GIN
    posting list), so a common word stops in the first, narrow window and a rare one pays
    a few cheap index scans; with bitmap scans forced, no window can turn into a walk over
    the time index past rows that the planner wrongly expected to match.
    """
    found: list[tuple[Any, ...]] = []
    statements = 0
    with conn.transaction():
        if bitmap_only:
            conn.execute("SET LOCAL enable_indexscan = off")
        for low, high in windows(span):
            bounded = SqlFilter("occurred_at < %s", (high,))
            if low is not None:
                bounded = SqlFilter("occurred_at >= %s AND occurred_at < %s", (low, high))
            scoped = SqlFilter(f"({where.sql}) AND {bounded.sql}", where.params + bounded.params)
            limit = LIMIT - len(found)
            found += conn.execute(statement(table, scoped, limit=limit), scoped.params).fetchall()
            statements += 1
            if len(found) >= LIMIT:
                break
    return found, statements


def search_run(
    cursor: CountingCursor,
    conn: psycopg.Connection[Any],
    table: str,
    where: SqlFilter,
    tree: Node,
    strategy: Strategy,
    span: TimeSpan,
) -> tuple[list[tuple[Any, ...]], int]:
    """The first page, newest first: (rows, statements executed)."""
    if strategy.search_settings:
        search_settings_apply(cursor, timeout_ms=STATEMENT_TIMEOUT_MS)
    if strategy.probe:
        query = PageQuery(table, COLUMNS, (), where)
        rows = newest_rows(cursor, query, tree=tree, after=None, wanted=LIMIT)
        return rows, cursor.statements
    if strategy.windows:
        return windowed_search(conn, table, where, span, bitmap_only=strategy.bitmap_only)
    rows = cursor.execute(statement(table, where), where.params).fetchall()
    return rows, cursor.statements


def measure(
    conn: psycopg.Connection[Any],
    table: str,
    query: Query,
    scope: str,
    strategy: Strategy,
    span: TimeSpan,
) -> Sample:
    tree = parse_query(query.text)
    where = strategy.compile(tree).within(scope_filter(scope, query))
    started = time.perf_counter()
    try:
        with conn.transaction(), conn.cursor() as raw:  # as the service: one transaction
            cursor = CountingCursor(raw)
            rows, statements = search_run(cursor, conn, table, where, tree, strategy, span)
    except psycopg.errors.QueryCanceled:
        return Sample(query.text, scope, time.perf_counter() - started, -1, 1, ())
    seconds = time.perf_counter() - started
    return Sample(query.text, scope, seconds, len(rows), statements, tuple(r[0] for r in rows))


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class TypeResult:
    strategy: str
    query_type: str
    scope: str
    example: str
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_rows: float
    timeouts: int
    slowest: str
    samples: list[Sample] = field(repr=False)

    @property
    def met(self) -> bool:
        return self.p99_ms <= TARGET_P99 * 1000 and not self.timeouts


def type_result(strategy: str, query_type: str, scope: str, samples: list[Sample]) -> TypeResult:
    seconds = [s.seconds for s in samples]
    slowest = max(samples, key=lambda s: s.seconds)
    return TypeResult(
        strategy=strategy,
        query_type=query_type,
        scope=scope,
        example=samples[0].text,
        p50_ms=percentile(seconds, 0.50) * 1000,
        p95_ms=percentile(seconds, 0.95) * 1000,
        p99_ms=percentile(seconds, 0.99) * 1000,
        max_ms=max(seconds) * 1000,
        mean_rows=statistics.mean(max(s.rows, 0) for s in samples),
        timeouts=sum(1 for s in samples if s.rows < 0),
        slowest=slowest.text,
        samples=samples,
    )


def strategies_measure(
    conn: psycopg.Connection[Any],
    table: str,
    queries: dict[str, list[Query]],
    options: Options,
    span: TimeSpan,
) -> list[TypeResult]:
    """Every strategy on every query, interleaved query by query, so that whatever else the
    machine is doing falls on all strategies alike."""
    results = []
    for query_type, made in queries.items():
        for scope in options.scopes:
            samples: dict[str, list[Sample]] = {name: [] for name in options.strategies}
            for index, query in enumerate(made):
                pages = set()
                for name in options.strategies:
                    sample = measure(conn, table, query, scope, STRATEGIES[name], span)
                    pages.add(sample.archive_seqs)
                    if index >= options.warmup:
                        samples[name].append(sample)
                if len(pages) > 1:
                    raise AssertionError(f"strategies disagree on {query} ({scope})")
            for name in options.strategies:
                result = type_result(name, query_type, scope, samples[name])
                log(
                    f"  {name:>15} {query_type:>13} {scope:>8}: p50 {result.p50_ms:7.1f}  "
                    f"p99 {result.p99_ms:7.1f} ms  rows {result.mean_rows:5.1f}  "
                    f"statements {statistics.mean(s.statements for s in samples[name]):.1f}"
                )
                results.append(result)
    results.sort(key=lambda r: options.strategies.index(r.strategy))
    return results


# ----- counts, highlights, explain


COUNT_KINDS = {
    "exact": "",
    "exact, jit off": "",
    f"capped at {COUNT_CAP:,} (shipped)": f" LIMIT {COUNT_CAP + 1}",
}


def counts_measure(
    conn: psycopg.Connection[Any], table: str, queries: dict[str, list[Query]], runs: int
) -> list[dict[str, Any]]:
    """Exact count(*) (with and without JIT compilation) and a capped count, officer scope."""
    figures = []
    for query_type in ("mid term", "common term", "participant:"):
        if query_type not in queries:
            continue
        for kind, limit in COUNT_KINDS.items():
            seconds, counts = [], []
            for query in queries[query_type][-runs:]:
                where = compile_postgres(parse_query(query.text))
                inner = f"SELECT 1 FROM {table} WHERE {where.sql}{limit}"  # noqa: S608
                counting = f"SELECT count(*) FROM ({inner}) AS hits"  # noqa: S608
                with conn.transaction():
                    if "jit off" in kind:
                        conn.execute("SET LOCAL jit = off")
                    started = time.perf_counter()
                    counts.append(conn.execute(counting, where.params).fetchone()[0])
                    seconds.append(time.perf_counter() - started)
            figures.append(
                {
                    "query_type": query_type,
                    "count": kind,
                    "p50_ms": percentile(seconds, 0.5) * 1000,
                    "p99_ms": percentile(seconds, 0.99) * 1000,
                    "mean_count": statistics.mean(counts),
                }
            )
    return figures


API_REQUESTS = {  # name: (order, facets)
    "newest": (Order.NEWEST, False),
    "newest + facets": (Order.NEWEST, True),
    "relevance": (Order.RELEVANCE, False),
}


def api_measure(
    conn: psycopg.Connection[Any], table: str, queries: dict[str, list[Query]], runs: int
) -> list[dict[str, Any]]:
    """What one compliance search request costs, officer scope, as the shipped backend runs
    it: `PostgresBackend.read` on this connection, in one transaction (the settings, the
    capped count, the page with highlights; facets when asked for; relevance over the
    newest RANKED_MATCHES matches)."""
    backend = PostgresBackend(table)
    figures = []
    for query_type in ("rare term", "mid term", "common term", "phrase", "participant:"):
        if query_type not in queries:
            continue
        parts: dict[str, list[float]] = {name: [] for name in API_REQUESTS}
        for query in queries[query_type][-runs:]:
            tree = parse_query(query.text)
            for name, (order, facets) in API_REQUESTS.items():
                started = time.perf_counter()
                with conn.transaction(), conn.cursor() as cursor:
                    backend.read(
                        cursor,
                        tree,
                        scope=Scope.everything(),
                        order=order,
                        after=None,
                        limit=LIMIT,
                        highlights=True,
                        facets=facets,
                        timeout_ms=STATEMENT_TIMEOUT_MS,
                    )
                parts[name].append(time.perf_counter() - started)
        figures.append(
            {"query_type": query_type}
            | {f"{part}_p50_ms": percentile(v, 0.5) * 1000 for part, v in parts.items()}
            | {f"{part}_p99_ms": percentile(v, 0.99) * 1000 for part, v in parts.items()}
        )
    return figures


def explain(
    conn: psycopg.Connection[Any],
    table: str,
    query: Query,
    scope: str,
    strategy: Strategy,
    span: TimeSpan,
) -> str:
    """EXPLAIN (ANALYZE, BUFFERS, SETTINGS) of every page statement the strategy runs."""
    tree = parse_query(query.text)
    where = strategy.compile(tree).within(scope_filter(scope, query))
    plans: list[str] = []
    with conn.transaction(), conn.cursor() as raw:
        search_run(CountingCursor(raw, plans), conn, table, where, tree, strategy, span)
    return "\n--\n".join(plans) or "(no plans recorded for this strategy)"


# ----- report


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    return f"{os.cpu_count()} cores ({model})"


def server_settings(conn: psycopg.Connection[Any]) -> dict[str, str]:
    names = word_list(
        "server_version shared_buffers work_mem effective_cache_size random_page_cost jit "
        "max_parallel_workers_per_gather default_statistics_target"
    )
    return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in names}


def code_version() -> str:
    git = lambda *args: subprocess.run(  # noqa: E731
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = git("status", "--porcelain", "--", "compliance/search")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else "")


INDEX_NAMES = [
    statement.split()[2].removeprefix("t_")
    for statement in search_table_ddl("t")
    if statement.startswith("CREATE INDEX")
]
# The contract's GIN indexes, and the two audience indexes of tables loaded before 0003.
GIN_INDEXES = {
    statement.split()[2].removeprefix("t_")
    for statement in search_table_ddl("t")
    if "USING gin" in statement
} | {"audience_ids", "audience_usernames"}


def load_print(report: LoadReport) -> None:
    # bench_meta keeps the report as jsonb, which does not keep key order: use the DDL's
    # (then any names of an older DDL, for tables loaded before it changed).
    order = [*INDEX_NAMES, *sorted(set(report.index_seconds) - set(INDEX_NAMES))]
    report.index_seconds = {n: report.index_seconds[n] for n in order if n in report.index_seconds}
    report.index_bytes = {n: report.index_bytes[n] for n in order if n in report.index_bytes}
    indexes = sum(report.index_seconds.values())
    gin = sum(s for name, s in report.index_seconds.items() if name in GIN_INDEXES)
    print(
        f"load ({report.loaded_at}, maintenance_work_mem {report.maintenance_work_mem}): "
        f"{report.rows:,} rows\n"
        f"  COPY (generated columns computed): {report.copy_seconds:.1f} s = "
        f"{report.rows / report.copy_seconds:,.0f} rows/s "
        f"(the generator alone: {report.generator_rows_per_second:,.0f} rows/s)\n"
        f"  indexes: {indexes:.1f} s ("
        + ", ".join(f"{name} {s:.1f}" for name, s in report.index_seconds.items())
        + f"); GIN {gin:.1f} s\n"
        f"  VACUUM ANALYZE: {report.analyze_seconds:.1f} s\n"
        f"  total: {report.total_seconds:.1f} s = {report.rows / report.total_seconds:,.0f} rows/s"
        f" loaded and indexed\n"
        f"  size: table {report.table_bytes / 2**20:,.0f} MiB, indexes "
        f"{sum(report.index_bytes.values()) / 2**20:,.0f} MiB ("
        + ", ".join(f"{n} {b / 2**20:,.0f}" for n, b in report.index_bytes.items())
        + ")"
    )


def results_print(results: list[TypeResult]) -> None:
    for strategy, group in itertools.groupby(results, key=lambda r: r.strategy):
        print(f"\nstrategy {strategy}: {STRATEGIES[strategy].description}")
        print(
            f"  {'query type':<13} {'scope':<8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
            f"{'rows':>5}  {'target':<6}  example"
        )
        for r in group:
            verdict = "met" if r.met else "MISSED"
            timeouts = f" ({r.timeouts} timed out)" if r.timeouts else ""
            print(
                f"  {r.query_type:<13} {r.scope:<8} {r.p50_ms:8.1f} {r.p95_ms:8.1f} "
                f"{r.p99_ms:8.1f} {r.mean_rows:5.1f}  {verdict:<6}  {r.example}{timeouts}"
            )


def summary_print(results: list[TypeResult], strategies: list[str]) -> None:
    print("\np99 ms by strategy (* = over the target)")
    print(f"  {'query type':<13} {'scope':<8} " + " ".join(f"{n:>15}" for n in strategies))
    by_key = {(r.query_type, r.scope, r.strategy): r for r in results}
    for query_type, scope in dict.fromkeys((r.query_type, r.scope) for r in results):
        cells = []
        for name in strategies:
            r = by_key[(query_type, scope, name)]
            cells.append(f"{r.p99_ms:14.1f}{' ' if r.met else '*'}")
        print(f"  {query_type:<13} {scope:<8} " + " ".join(cells))


def api_print(figures: list[dict[str, Any]]) -> None:
    if not figures:
        return
    print("\na whole request as compliance.search.backends.postgres runs it (officer), ms:")
    print(f"  {'query type':<13} " + " ".join(f"{name:>17}" for name in API_REQUESTS))
    print(f"  {'':<13} " + " ".join(f"{'p50 / p99':>17}" for _ in API_REQUESTS))
    for f in figures:
        cells = [
            f"{f[f'{part}_p50_ms']:7.1f} / {f[f'{part}_p99_ms']:7.1f}" for part in API_REQUESTS
        ]
        print(f"  {f['query_type']:<13} " + " ".join(f"{c:>17}" for c in cells))


def counts_print(figures: list[dict[str, Any]]) -> None:
    print("\ncounts (officer scope):")
    for f in figures:
        print(
            f"  {f['query_type']:<13} {f['count']:<26} p50 {f['p50_ms']:8.1f} ms  "
            f"p99 {f['p99_ms']:8.1f} ms  mean count {f['mean_count']:,.0f}"
        )


# ----- main


def slowest_explained(
    conn: psycopg.Connection[Any],
    table: str,
    results: list[TypeResult],
    queries: dict[str, list[Query]],
    rows: int,
    span: TimeSpan,
) -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest query of every type that missed, for the
    first strategy measured (`contract` by default: every statement the shipped page runs)."""
    explains = {}
    first = results[0].strategy if results else "contract"
    for r in results:
        if r.strategy == first and not r.met:
            query = next(q for q in queries[r.query_type] if q.text == r.slowest)
            explains[f"{r.query_type} / {r.scope} ({first}): {r.slowest}"] = explain(
                conn, table, query, r.scope, STRATEGIES[first], span
            )
    path = LOG_DIR / f"explain-{rows}.txt"
    path.write_text("\n\n".join(f"== {key}\n{plan}" for key, plan in explains.items()) + "\n")
    log(f"plans of the slowest queries: {path}")
    return explains


def report_json(report: dict[str, Any], load: LoadReport, results: list[TypeResult]) -> str:
    return json.dumps(
        {
            **report,
            "load": {**asdict(load), "total_seconds": load.total_seconds},
            "results": [{k: v for k, v in asdict(r).items() if k != "samples"} for r in results],
        },
        indent=2,
        default=str,
    )


def main(argv: Sequence[str] | None = None) -> None:
    options = options_parse(argv)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    database_ensure(options.database_url)
    with connect(options.database_url) as conn:
        load = table_ready(conn, options)
        conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
        table = table_name(options.rows)
        queries = queries_make(options, words_read(conn, options))
        with conn.cursor() as cursor:
            span = time_span(cursor, table)
        assert span is not None, f"{table} is empty"
        load_before = os.getloadavg()[0]
        with ddl_applied(conn, table, options.ddl, options.maintenance_work_mem) as ddl_seconds:
            log(f"indexes {options.ddl} ({ddl_seconds:.1f} s to build)")
            log(f"strategies {', '.join(options.strategies)}, interleaved ...")
            results = strategies_measure(conn, table, queries, options, span)
            counts = counts_measure(conn, table, queries, min(options.runs, 20))
            api = api_measure(conn, table, queries, min(options.runs, 10)) if options.api else []
            explains = (
                slowest_explained(conn, table, results, queries, options.rows, span)
                if options.explain
                else {}
            )
        report = {
            "code": code_version(),
            "machine": machine(),
            "load_average": [load_before, os.getloadavg()[0]],
            "settings": server_settings(conn),
            "runs": options.runs,
            "ddl": options.ddl,
            "ddl_seconds": ddl_seconds,
            "limit": LIMIT,
            "order": ORDER,
            "search_settings": SEARCH_SETTINGS,
            "count_cap": COUNT_CAP,
            "ranked_matches": RANKED_MATCHES,
            "counts": counts,
            "api": api,
            "explain": explains,
        }
    if options.json_out:
        options.json_out.write_text(report_json(report, load, results) + "\n")
    if options.json:
        print(report_json(report, load, results))
        return
    print(
        f"code {report['code']}; {report['machine']}; load average "
        f"{load_before:.1f} before, {report['load_average'][1]:.1f} after; "
        + ", ".join(f"{k} {v}" for k, v in report["settings"].items())
    )
    load_print(load)
    print(
        f"\nqueries: {options.runs} per type and scope (different words), warm cache, first "
        f"page {ORDER} LIMIT {LIMIT}; indexes: {options.ddl}; target p99 <= "
        f"{TARGET_P99 * 1000:.0f} ms"
    )
    results_print(results)
    summary_print(results, options.strategies)
    counts_print(counts)
    api_print(api)


if __name__ == "__main__":
    main()
