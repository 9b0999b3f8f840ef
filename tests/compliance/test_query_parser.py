"""Reading queries: the trees they give, and the errors for the ones that cannot be read."""

import pickle
from datetime import date

import pytest

from compliance.search.query import (
    MAX_CLAUSES,
    MAX_DEPTH,
    MAX_QUERY_LENGTH,
    And,
    DateFilter,
    DateRelation,
    Feature,
    From,
    Has,
    In,
    Is,
    MessageState,
    Near,
    Not,
    Or,
    Participant,
    Phrase,
    Policy,
    Prefix,
    QuerySyntaxError,
    QueryTooLargeError,
    Term,
    parse_query,
)

a, b, c = Term("a"), Term("b"), Term("c")


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("trade", Term("trade")),
        ("  trade\t", Term("trade")),
        ('"insider   trading"', Phrase("insider trading")),
        ("confid*", Prefix("confid")),
        ("a b c", And((a, b, c))),
        ("a AND b c", And((a, b, c))),
        ("a OR b OR c", Or((a, b, c))),
        ("a OR b c", Or((a, And((b, c))))),
        ("a b OR c", Or((And((a, b)), c))),
        ("NOT a b", And((Not(a), b))),
        ("NOT (a b)", Not(And((a, b)))),
        ("a -b", And((a, Not(b)))),
        ("a AND NOT b", And((a, Not(b)))),
        ("--a", Not(Not(a))),
        ("-(a OR b)", Not(Or((a, b)))),
        ("a AND (b AND c)", And((a, And((b, c))))),
        ("((a))", a),
        ("a(b)c", And((a, b, c))),
        ('a"b"', And((a, Phrase("b")))),
        ("and or not", And((Term("and"), Term("or"), Term("not")))),
        ("e-mail", Term("e-mail")),
        ("10:30", Term("10:30")),
        ("straße 日本語", And((Term("straße"), Term("日本語")))),
        ("insider NEAR/5 trading", Near(Term("insider"), Term("trading"), 5)),
        ('"front running" NEAR/0 ab*', Near(Phrase("front running"), Prefix("ab"), 0)),
        ("-a NEAR/2 b", Not(Near(a, b, 2))),
        ("x a NEAR/2 b", And((Term("x"), Near(a, b, 2)))),
        ("from:Bob", From("bob")),
        ("FROM:bob", From("bob")),
        ("-from:bob", Not(From("bob"))),
        ("in:#General", In("general")),
        ("in:42", In("42")),
        ('in:"general"', In("general")),
        ("participant:carol", Participant("carol")),
        ("before:2024-03-01", DateFilter(DateRelation.BEFORE, date(2024, 3, 1))),
        ("after:2024-03-01", DateFilter(DateRelation.AFTER, date(2024, 3, 1))),
        ("on:2024-02-29", DateFilter(DateRelation.ON, date(2024, 2, 29))),
        ("has:attachment", Has(Feature.ATTACHMENT)),
        ("has:attachments", Has(Feature.ATTACHMENT)),
        ("is:edited", Is(MessageState.EDITED)),
        ("is:Deleted", Is(MessageState.DELETED)),
        ("is:flagged", Is(MessageState.FLAGGED)),
        ('policy:"Insider  List"', Policy("insider list")),
        ("policy:a:b", Policy("a:b")),
        ("from:bob trade", And((From("bob"), Term("trade")))),
    ],
)
def test_reads(query: str, tree: object) -> None:
    assert parse_query(query) == tree


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("", "empty query at 0"),
        ("   ", "empty query at 0"),
        ('insider "trading', "unclosed quote at 8"),
        ('a ""', "empty quotes at 2"),
        ("trade AND NOT", "expected a term after NOT at 13"),
        ("trade AND", "expected a term after AND at 9"),
        ("trade OR )", "expected a term after OR at 9"),
        ("AND trade", "expected a term before AND at 0"),
        ("a OR OR b", "expected a term after OR at 5"),
        ("-AND", "expected a term after - at 1"),
        ("a - b", "expected something to exclude after - at 2 — write -word, with no space"),
        ("a -", "expected something to exclude after - at 2 — write -word, with no space"),
        ("form:bob", 'unknown field "form:" at 0 — did you mean from:?'),
        ("x partcipant:bob", 'unknown field "partcipant:" at 2 — did you mean participant:?'),
        ("http://x", 'unknown field "http:" at 0 — put it in quotes to search for the text'),
        ("from:", "expected a value after from: at 5"),
        ('from:""', "expected a value after from: at 5"),
        ("in:#", "expected a channel name or conversation id after in: at 3"),
        ('policy:"x', "unclosed quote at 7"),
        (
            "trade before:2024-13-01",
            'bad date "2024-13-01" at 13 — write dates as YYYY-MM-DD (UTC)',
        ),
        ("on:2023-02-29", 'bad date "2023-02-29" at 3 — write dates as YYYY-MM-DD (UTC)'),
        ("on:1/2/2024", 'bad date "1/2/2024" at 3 — write dates as YYYY-MM-DD (UTC)'),
        ("has:file", 'unknown value "has:file" at 4 — use has:attachment'),
        (
            "is:starred",
            'unknown value "is:starred" at 3 — use is:edited, is:deleted or is:flagged',
        ),
        ("a*b", "* may only end a word at 1"),
        ("x*", 'prefix "x*" needs at least 2 letters or digits before * at 0'),
        ("*", 'prefix "*" needs at least 2 letters or digits before * at 0'),
        ("e-m*", 'prefix "e-m*" may contain only letters and digits before * at 0'),
        ("NEAR", "expected a distance after NEAR at 0 — write NEAR/5 for at most 5 words apart"),
        (
            "a NEAR/x b",
            "expected a distance after NEAR at 2 — write NEAR/5 for at most 5 words apart",
        ),
        ("a NEAR/3", "expected a word, phrase or prefix after NEAR/3 at 8"),
        ("a NEAR/3 from:bob", "expected a word, phrase or prefix after NEAR/3 at 9"),
        ("NEAR/3 b", "NEAR/3 needs a word, phrase or prefix on each side at 0"),
        ("(a OR b) NEAR/2 c", "NEAR/2 needs a word, phrase or prefix on each side at 9"),
        ("a NEAR/1 b NEAR/1 c", "NEAR joins two words at 11 — join two NEAR clauses with AND"),
        ("(a", "unclosed parenthesis at 0"),
        ("(a OR (b)", "unclosed parenthesis at 0"),
        ("a)", "unexpected ) at 1 — remove it or add a ( before it"),
        ("()", "empty parentheses at 0"),
        ("a\x00b", "unexpected control character at 1"),
        ("a \ud800", "unexpected control character at 2"),
    ],
)
def test_refuses_with_a_plain_message_and_position(query: str, error: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)

    assert str(caught.value) == error
    assert 0 <= caught.value.position <= len(query)


def test_refuses_a_query_longer_than_the_limit() -> None:
    query = "a " * (MAX_QUERY_LENGTH // 2) + "b"

    with pytest.raises(QueryTooLargeError) as caught:
        parse_query(query)

    assert str(caught.value) == f"query is longer than {MAX_QUERY_LENGTH:,} characters at 2000"


def test_accepts_a_query_at_the_length_limit() -> None:
    query = "x" * MAX_QUERY_LENGTH

    assert parse_query(query) == Term(query)


def test_refuses_more_clauses_than_the_limit() -> None:
    words = [f"w{n}" for n in range(MAX_CLAUSES + 1)]
    query = " ".join(words)

    with pytest.raises(QueryTooLargeError) as caught:
        parse_query(query)

    assert caught.value.position == query.index(words[-1])
    assert parse_query(" ".join(words[:-1])) == And(tuple(Term(w) for w in words[:-1]))


@pytest.mark.parametrize("opening", ["(", "NOT ", "-"])
def test_refuses_nesting_deeper_than_the_limit(opening: str) -> None:
    closing = ")" if opening == "(" else ""
    deepest_allowed = opening * MAX_DEPTH + "a" + closing * MAX_DEPTH
    too_deep = opening * (MAX_DEPTH + 1) + "a" + closing * (MAX_DEPTH + 1)

    parse_query(deepest_allowed)
    with pytest.raises(QueryTooLargeError) as caught:
        parse_query(too_deep)

    assert caught.value.position == len(opening) * MAX_DEPTH


def test_refuses_near_distance_over_the_limit() -> None:
    with pytest.raises(QueryTooLargeError) as caught:
        parse_query("a NEAR/21 b")

    assert str(caught.value) == "NEAR distance is at most 20 at 7"


def test_huge_numbers_are_refused_without_converting_them() -> None:
    with pytest.raises(QueryTooLargeError):
        parse_query("a NEAR/" + "9" * 1900 + " b")


def test_errors_survive_pickling() -> None:
    error = QuerySyntaxError("unknown field", 3, hint="did you mean from:?")

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301

    assert (copy.message, copy.position, copy.hint, str(copy)) == (
        error.message,
        error.position,
        error.hint,
        str(error),
    )
