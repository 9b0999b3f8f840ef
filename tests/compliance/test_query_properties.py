"""Properties over random input: printing round-trips, and no input crashes the reader
or either compiler."""

import json

from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.search.query import (
    MAX_DEPTH,
    MAX_QUERY_LENGTH,
    And,
    Node,
    Not,
    Or,
    QuerySyntaxError,
    compile_elasticsearch,
    compile_postgres,
    parse_query,
    print_query,
)

from .conftest import TABLE, SearchTable
from .strategies import query_like_text, trees

# The suite's autouse fixtures are function-scoped; they do not depend on the examples.
examples = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _nesting(node: Node, *, grouped: bool = False) -> int:
    """How deep the parser will count `print_query(node)`: parentheses and NOTs."""
    depth = 1 if grouped else 0
    if isinstance(node, Not):
        return depth + 1 + _nesting(node.child, grouped=isinstance(node.child, And | Or))
    if isinstance(node, And | Or):
        return depth + max(
            _nesting(child, grouped=isinstance(child, And | Or)) for child in node.children
        )
    return depth


def _read(text: str) -> Node | QuerySyntaxError:
    """The tree, or the syntax error; any other exception escapes and fails the test."""
    try:
        return parse_query(text)
    except QuerySyntaxError as error:
        return error


def _within_limits(tree: Node) -> bool:
    return _nesting(tree) <= MAX_DEPTH and len(print_query(tree)) <= MAX_QUERY_LENGTH


@examples
@given(trees)
def test_printing_then_reading_gives_the_same_tree(tree: Node) -> None:
    if _within_limits(tree):
        assert parse_query(print_query(tree)) == tree


@examples
@given(st.one_of(st.text(), query_like_text))
def test_any_text_either_reads_or_raises_a_positioned_syntax_error(text: str) -> None:
    outcome = _read(text)

    if isinstance(outcome, QuerySyntaxError):
        assert 0 <= outcome.position <= len(text)
        assert str(outcome).startswith(f"{outcome.message} at {outcome.position}")
    else:
        assert parse_query(print_query(outcome)) == outcome
        compile_postgres(outcome)
        json.dumps(compile_elasticsearch(outcome))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query_like_text)
def test_every_readable_query_runs_in_postgresql(search_table: SearchTable, text: str) -> None:
    search_table.add("insider trading at the e-mail desk, 日本 Straße 0042")
    tree = _read(text)
    if isinstance(tree, QuerySyntaxError):
        return
    condition = compile_postgres(tree)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE {condition.sql}", condition.params)  # noqa: S608
        cursor.fetchone()
