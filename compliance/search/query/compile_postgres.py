"""A query tree to a parameterised SQL condition over the PostgreSQL search table.

The built-in backend, used when no Elasticsearch cluster is configured.

The search table (the contract)
-------------------------------
One row per searchable *version* of a message: the `message.new` archive record (the
original) and each `message.edited` record. Deletions add no row: they set `is_deleted` on
every row of the message, so the text a deleted message had stays findable, which is the
point of a discovery archive. `search_table_ddl()` below is the executable form of this
contract (the tests build the table from it); every column is NOT NULL so that `NOT` never
meets a NULL and silently drops rows.

===================  ===========  ==========================================================
column               type         meaning
===================  ===========  ==========================================================
archive_seq          bigint PK    the archive record this row indexes
message_id           bigint       the message (all its versions share it)
version_kind         text         'original' or 'edit'
conversation_id      bigint       the conversation
conversation_name    text         channel name, lower-cased; '' for direct/group messages
author_id            bigint       the author's user id
author_username      text         the author's username, lower-cased
audience_ids         bigint[]     user ids who could see it (the record's `audience`)
audience_usernames   text[]       the same users' usernames, lower-cased
occurred_at          timestamptz  when this version was written (the record's occurred_at)
created_at           timestamptz  when the message was first sent
body                 text         the text of this version
body_tsv             tsvector     generated: to_tsvector('english', body) (stemmed)
body_simple_tsv      tsvector     generated: to_tsvector('simple', body) (exact words)
is_edited            boolean      the message has been edited (on every version's row)
is_deleted           boolean      the message has been deleted (on every version's row)
has_attachment       boolean      the message has at least one attachment
is_flagged           boolean      content scanning flagged it (false until scanning exists)
policies             text[]       lower-cased names of the policies that flagged it
review_states        text[]       its review item's state, queue and decision (review:)
===================  ===========  ==========================================================

Lower-casing happens when rows are written, so that equality here uses plain b-tree and
GIN indexes; the parser lower-cases the query's values the same way.

Indexes: GIN on each tsvector and on `policies`; one GIN on `(audience_ids,
audience_usernames)`, which answers conditions on both columns in one scan and intersects
them inside the index (an employee's audience and `participant:` no longer depend on the
planner choosing a BitmapAnd); b-trees on `occurred_at`, `(author_username, occurred_at)`,
`(conversation_id, occurred_at)`, `conversation_name` and `message_id`. The tsvector and
audience columns keep a statistics target of 1000 (STATISTICS_COLUMNS).

How each node compiles
----------------------
- term: `phraseto_tsquery('english', t)` against `body_tsv` (stemmed; a term that the parser
  splits into several words must match them in sequence).
- "phrase": `phraseto_tsquery('simple', p)` against `body_simple_tsv` (exact, in order).
- a term or phrase with no lexeme (a stop word such as "the", punctuation) drops out of the
  query: it compiles to true where that leaves its parent unchanged (inside AND, at the
  top: `numnode(q) = 0 OR ...`) and to false inside OR (an empty tsquery matches nothing);
  NOT flips the choice for its child. So `bank the`, `bank OR the` and `bank -the` all find
  what `bank` finds. Elasticsearch does the same with `zero_terms_query` all / none.
- prefix*: `to_tsquery('simple', '''stem'':*')` against `body_simple_tsv`.
- a NEAR/n b: PostgreSQL's `<d>` operator means "exactly d positions apart", so NEAR/n is
  the OR of `a <d> b` and `b <d> a` for d = 1..n+1 (at most n words between): 2(n+1)
  alternatives in one tsquery, built inline, so that the planner sees the tsquery: every
  function in it is immutable, so the whole expression folds into one constant at plan time,
  estimated from the column statistics and answered by the GIN index. (Built in a
  sub-select it was a value the planner could not see, estimated at a flat 0.5 % of rows:
  docs/performance.md, "Where the time goes".) Each side's words are therefore parameters
  several times over (NEAR/20 carries 130). Each candidate row (both words present) is
  re-checked against every alternative, so the cost grows with n; the parser caps n at 20
  (42 alternatives). If either side has no lexeme the NEAR matches nothing (as
  Elasticsearch's intervals do): the CASE then yields that side's empty tsquery.
- AND / OR / NOT: the SQL operators; filters: `=`, `@>` on arrays, ranges on `occurred_at`.

Every value travels as a query parameter; the SQL text holds only this module's constants.

Permissions come first
----------------------
`compile_postgres` returns a condition to AND with the caller's permission scope, never a
whole WHERE clause: the scope is the first clause and the user's query can only narrow it.
`SqlFilter.within(scope)` builds exactly that, parenthesising both sides so that an OR in
the user's query cannot escape.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import assert_never

from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from .ast import (
    And,
    DateFilter,
    Filter,
    From,
    Has,
    In,
    Is,
    MessageState,
    Near,
    Node,
    Not,
    Or,
    Participant,
    Phrase,
    Policy,
    Prefix,
    Review,
    Term,
    Word,
)

#: A value passed to the database driver alongside the SQL text.
SqlParam = str | int | datetime

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")

#: Columns whose statistics keep STATISTICS_TARGET (not the default 100) most common
#: elements: the planner then knows ten times more of the frequent words and audiences, and
#: estimates the rest rarer (docs/performance.md, "What to change", fix 7).
STATISTICS_COLUMNS = ("body_tsv", "body_simple_tsv", "audience_ids", "audience_usernames")
STATISTICS_TARGET = 1000

_DDL = (
    """CREATE TABLE {table} (
    archive_seq bigint PRIMARY KEY,
    message_id bigint NOT NULL,
    version_kind text NOT NULL CHECK (version_kind IN ('original', 'edit')),
    conversation_id bigint NOT NULL,
    conversation_name text NOT NULL DEFAULT '',
    author_id bigint NOT NULL,
    author_username text NOT NULL,
    audience_ids bigint[] NOT NULL,
    audience_usernames text[] NOT NULL,
    occurred_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    body text NOT NULL,
    body_tsv tsvector NOT NULL GENERATED ALWAYS AS (to_tsvector('english', body)) STORED,
    body_simple_tsv tsvector NOT NULL
        GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED,
    is_edited boolean NOT NULL DEFAULT false,
    is_deleted boolean NOT NULL DEFAULT false,
    has_attachment boolean NOT NULL DEFAULT false,
    is_flagged boolean NOT NULL DEFAULT false,
    policies text[] NOT NULL DEFAULT '{{}}',
    review_states text[] NOT NULL DEFAULT '{{}}'
)""",
    "ALTER TABLE {table} "
    + ", ".join(
        f"ALTER COLUMN {column} SET STATISTICS {STATISTICS_TARGET}" for column in STATISTICS_COLUMNS
    ),
    "CREATE INDEX {table}_body_tsv ON {table} USING gin (body_tsv)",
    "CREATE INDEX {table}_body_simple_tsv ON {table} USING gin (body_simple_tsv)",
    "CREATE INDEX {table}_audience ON {table} USING gin (audience_ids, audience_usernames)",
    "CREATE INDEX {table}_policies ON {table} USING gin (policies)",
    "CREATE INDEX {table}_review_states ON {table} USING gin (review_states)",
    "CREATE INDEX {table}_author ON {table} (author_username, occurred_at)",
    "CREATE INDEX {table}_conversation ON {table} (conversation_id, occurred_at)",
    "CREATE INDEX {table}_conversation_name ON {table} (conversation_name)",
    "CREATE INDEX {table}_occurred_at ON {table} (occurred_at)",
    "CREATE INDEX {table}_message ON {table} (message_id)",
)


def search_table_ddl(table: str) -> tuple[str, ...]:
    """CREATE TABLE, its statistics targets, then CREATE INDEX statements for `table`.

    Migration compliance/0002 creates the real table with these, so that the compiler and
    the table agree by construction; 0003 brought tables made before it to the same
    indexes and statistics targets. Change one, change the other with a new migration.
    """
    return tuple(statement.format(table=_identifier(table)) for statement in _DDL)


@dataclass(frozen=True, slots=True)
class SqlFilter:
    """A boolean SQL condition with `%s` placeholders and the values that fill them."""

    sql: str
    params: tuple[SqlParam, ...]

    def within(self, scope: "SqlFilter") -> "SqlFilter":
        """`(scope) AND (self)`: the permission scope first, the query only narrowing it."""
        return SqlFilter(f"({scope.sql}) AND ({self.sql})", scope.params + self.params)

    def as_expression(self) -> RawSQL:
        """The condition as an ORM expression: `queryset.filter(sql_filter.as_expression())`.

        Column names are unqualified unless `compile_postgres(table=...)` named the table,
        so qualify them when the queryset joins another table with the same column names.
        """
        # The SQL text holds only this module's constants; user input is all in params.
        return RawSQL(self.sql, self.params, output_field=BooleanField())  # noqa: S611


def compile_postgres(tree: Node, *, table: str | None = None) -> SqlFilter:
    """The condition that selects the search-table rows matching `tree`.

    `table` qualifies every column (`"table".body_tsv`); leave it out when the query reads
    the search table alone. AND the result with the caller's permission scope
    (`SqlFilter.within`); on its own it is not a permission check.
    """
    columns = _Columns(f'"{_identifier(table)}".' if table else "")
    return columns.condition(tree)


def _identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain lower-case SQL identifier: {name!r}")
    return name


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _prefix_lexeme(stem: str) -> str:
    """`'stem':*` in to_tsquery syntax; quoted so that no character is read as an operator."""
    quoted = stem.replace("\\", "\\\\").replace("'", "''")
    return f"'{quoted}':*"


@dataclass(frozen=True, slots=True)
class _Columns:
    """Compiles nodes, with every column name behind one (possibly empty) table qualifier."""

    qualifier: str

    def column(self, name: str) -> str:
        return f"{self.qualifier}{name}"

    def condition(self, node: Node, *, if_no_words: bool = True) -> SqlFilter:
        """`node` as SQL; a term or phrase with no searchable word counts as `if_no_words`.

        That value is chosen so the empty clause drops out of its parent: true inside AND
        (and at the top), false inside OR, flipped under NOT.
        """
        match node:
            case Term(text=text):
                return self.words(text, "english", "body_tsv", if_no_words=if_no_words)
            case Phrase(text=text):
                return self.words(text, "simple", "body_simple_tsv", if_no_words=if_no_words)
            case Prefix(stem=stem):
                vector = self.column("body_simple_tsv")
                return SqlFilter(f"{vector} @@ to_tsquery('simple', %s)", (_prefix_lexeme(stem),))
            case Near():
                return self.near(node)
            case And(children=children):
                return _joined([self.condition(c, if_no_words=True) for c in children], " AND ")
            case Or(children=children):
                return _joined([self.condition(c, if_no_words=False) for c in children], " OR ")
            case Not(child=child):
                inner = self.condition(child, if_no_words=not if_no_words)
                return SqlFilter(f"(NOT ({inner.sql}))", inner.params)
            case _:
                return self.filter(node)

    def words(self, text: str, config: str, vector: str, *, if_no_words: bool) -> SqlFilter:
        query = f"phraseto_tsquery('{config}', %s)"
        match = f"{self.column(vector)} @@ {query}"
        if not if_no_words:
            # An empty tsquery matches nothing (PostgreSQL adds a NOTICE, no error).
            return SqlFilter(match, (text,))
        return SqlFilter(f"(numnode({query}) = 0 OR {match})", (text, text))

    def near(self, node: Near) -> SqlFilter:
        vector = self.column("body_simple_tsv" if node.exact else "body_tsv")
        config = "simple" if node.exact else "english"
        left, left_params = _operand(node.left, config=config)
        right, right_params = _operand(node.right, config=config)
        forward = f"tsquery_phrase({left}, {right}, %s)"
        backward = f"tsquery_phrase({right}, {left}, %s)"
        alternatives = " || ".join(f"{forward} || {backward}" for _ in range(node.distance + 1))
        # Only constants and %s placeholders are interpolated; the words are in params.
        sql = (
            f"{vector} @@ (CASE WHEN numnode({left}) = 0 THEN {left}"
            f" WHEN numnode({right}) = 0 THEN {right} ELSE {alternatives} END)"
        )
        params = left_params + left_params + right_params + right_params
        for distance in range(1, node.distance + 2):
            params += left_params + right_params + (distance,)
            params += right_params + left_params + (distance,)
        return SqlFilter(f"({sql})", params)

    def filter(self, node: Filter) -> SqlFilter:
        match node:
            case From(username=username):
                return SqlFilter(f"{self.column('author_username')} = %s", (username,))
            case In():
                return self.conversation(node)
            case Participant(username=username):
                return self.contains("audience_usernames", username)
            case DateFilter():
                return self.dated(node)
            case Has():  # the only feature: attachment
                return SqlFilter(self.column("has_attachment"), ())
            case Is(state=state):
                return SqlFilter(self.column(_STATE_COLUMNS[state]), ())
            case Policy(name=name):
                return self.contains("policies", name)
            case Review(facet=facet):
                return self.contains("review_states", facet.value)
        assert_never(node)

    def conversation(self, node: In) -> SqlFilter:
        by_name = SqlFilter(f"{self.column('conversation_name')} = %s", (node.conversation,))
        if node.conversation_id is None:
            return by_name
        by_id = SqlFilter(f"{self.column('conversation_id')} = %s", (node.conversation_id,))
        return _joined([by_id, by_name], " OR ")

    def contains(self, column: str, value: str) -> SqlFilter:
        # `@>` rather than `= ANY(...)`: the GIN index on the array answers `@>`.
        return SqlFilter(f"{self.column(column)} @> ARRAY[%s]::text[]", (value,))

    def dated(self, node: DateFilter) -> SqlFilter:
        day_range = node.day_range()
        if day_range is None:
            return SqlFilter("FALSE", ())
        start, end = day_range
        occurred_at = self.column("occurred_at")
        parts = []
        if start is not None:
            parts.append(SqlFilter(f"{occurred_at} >= %s", (_midnight(start),)))
        if end is not None:
            parts.append(SqlFilter(f"{occurred_at} < %s", (_midnight(end),)))
        return parts[0] if len(parts) == 1 else _joined(parts, " AND ")


_STATE_COLUMNS = {
    MessageState.EDITED: "is_edited",
    MessageState.DELETED: "is_deleted",
    MessageState.FLAGGED: "is_flagged",
}


def _operand(word: Word, *, config: str) -> tuple[str, tuple[SqlParam, ...]]:
    """One side of a NEAR as a tsquery expression in the NEAR's configuration."""
    if isinstance(word, Prefix):
        return "to_tsquery('simple', %s)", (_prefix_lexeme(word.stem),)
    return f"phraseto_tsquery('{config}', %s)", (word.text,)


def _joined(parts: list[SqlFilter], operator: str) -> SqlFilter:
    sql = operator.join(part.sql for part in parts)
    params = tuple(param for part in parts for param in part.params)
    return SqlFilter(f"({sql})", params)
