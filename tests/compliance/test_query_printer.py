"""Printing trees back to canonical query strings, and what a tree may hold."""

from datetime import date

import pytest

from compliance.search.query import (
    And,
    DateFilter,
    DateRelation,
    From,
    In,
    Near,
    Not,
    Or,
    Phrase,
    Policy,
    Prefix,
    Term,
    parse_query,
    print_query,
)

a, b, c = Term("a"), Term("b"), Term("c")


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("a b c", "a AND b AND c"),
        ("a -b", "a AND NOT b"),
        ("a OR b c", "a OR b AND c"),
        ("(a OR b) c", "(a OR b) AND c"),
        ("a (b c)", "a AND (b AND c)"),
        ("a OR (b OR c)", "a OR (b OR c)"),
        ("-(a b)", "NOT (a AND b)"),
        ("NOT NOT a", "NOT NOT a"),
        ('  "insider   trading"  ', '"insider trading"'),
        ("insider NEAR/05 trading", "insider NEAR/5 trading"),
        ("From:Bob IN:#General", "from:bob AND in:general"),
        ('policy:"Insider  List"', 'policy:"insider list"'),
        ('from:"a(b"', 'from:"a(b"'),
        ("has:attachments", "has:attachment"),
        ("on:2024-02-29 -is:deleted", "on:2024-02-29 AND NOT is:deleted"),
    ],
)
def test_prints_the_canonical_form(query: str, canonical: str) -> None:
    assert print_query(parse_query(query)) == canonical
    assert parse_query(canonical) == parse_query(query)


def test_prints_hand_built_trees_with_the_parentheses_they_need() -> None:
    tree = And((Or((a, b)), Not(And((b, c))), Near(Phrase("x y"), Prefix("ab"), 3)))

    assert print_query(tree) == '(a OR b) AND NOT (b AND c) AND "x y" NEAR/3 ab*'


def test_prints_calendar_extremes() -> None:
    tree = And(
        (DateFilter(DateRelation.AFTER, date.min), DateFilter(DateRelation.BEFORE, date.max))
    )

    assert print_query(tree) == "after:0001-01-01 AND before:9999-12-31"


@pytest.mark.parametrize(
    "build",
    [
        lambda: Term(""),
        lambda: Term("a b"),
        lambda: Term("-a"),
        lambda: Term("a*"),
        lambda: Term("AND"),
        lambda: Term("NEAR/3"),
        lambda: Term("from:bob"),
        lambda: Phrase(""),
        lambda: Phrase(" a"),
        lambda: Phrase('a"b'),
        lambda: Prefix("a"),
        lambda: Prefix("a-b"),
        lambda: Near(a, b, 21),
        lambda: Near(a, And((a, b)), 2),  # type: ignore[arg-type]
        lambda: And((a,)),
        lambda: Or(()),
        lambda: From("Bob"),
        lambda: In("#general"),
        lambda: Policy("a\x00"),
    ],
)
def test_a_tree_cannot_hold_what_the_language_cannot_print(build: object) -> None:
    with pytest.raises(ValueError, match=r"not a valid|NEAR|needs at least two"):
        build()  # type: ignore[operator]


def test_in_names_an_id_only_when_it_fits_a_bigint() -> None:
    assert In("0042").conversation_id == 42
    assert In("general").conversation_id is None
    assert In("9223372036854775808").conversation_id is None
    assert In("٤٢").conversation_id is None  # Arabic-Indic digits are a name, not an id
