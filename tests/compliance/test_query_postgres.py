"""The PostgreSQL compiler against a real search table built from the documented DDL:
each operator with rows it must find and rows it must not."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from accounts.models import User
from compliance.search.query import Near, SqlFilter, compile_postgres, parse_query
from compliance.search.query.compile_postgres import _Columns, _operand

from .conftest import TABLE, SearchTable

# -- words ---------------------------------------------------------------------------------


def test_a_term_is_stemmed(search_table: SearchTable) -> None:
    search_table.add("we are trading shares")
    search_table.add("two trades done")
    search_table.add("lunch at noon")

    assert search_table.bodies("trade") == {"we are trading shares", "two trades done"}


def test_a_term_ignores_case(search_table: SearchTable) -> None:
    search_table.add("Insider list updated")

    assert search_table.bodies("INSIDER") == {"Insider list updated"}


def test_a_term_split_by_punctuation_matches_its_words_in_order(search_table: SearchTable) -> None:
    search_table.add("send me an e-mail")
    search_table.add("mail it, e.g. today")

    assert search_table.bodies("e-mail") == {"send me an e-mail"}


@pytest.mark.parametrize(
    "query", ["bank the", "bank OR the", "bank -the", "bank OR NOT the", "(bank OR the) of"]
)
def test_a_word_with_nothing_searchable_drops_out(search_table: SearchTable, query: str) -> None:
    search_table.add("the bank called")
    search_table.add("a quiet day")

    assert search_table.bodies(query) == {"the bank called"}


@pytest.mark.parametrize("query", ["the", "-the", "NOT (the OR of)", "..."])
def test_a_query_of_only_stop_words_finds_everything(search_table: SearchTable, query: str) -> None:
    search_table.add("the bank called")
    search_table.add("a quiet day")

    assert search_table.bodies(query) == {"the bank called", "a quiet day"}


def test_a_quoted_stop_word_is_searched(search_table: SearchTable) -> None:
    search_table.add("the bank called")
    search_table.add("a quiet day")

    assert search_table.bodies('"the"') == {"the bank called"}


def test_unicode_terms(search_table: SearchTable) -> None:
    search_table.add("Treffen an der Straße")
    search_table.add("会議は日本語で")
    search_table.add("plain text")

    assert search_table.bodies("straße") == {"Treffen an der Straße"}
    assert search_table.bodies('"会議は日本語で"') == {"会議は日本語で"}


def test_a_phrase_is_exact_and_in_order(search_table: SearchTable) -> None:
    search_table.add("stop insider trading now")
    search_table.add("insiders trade quietly")
    search_table.add("trading insider tips")

    assert search_table.bodies('"insider trading"') == {"stop insider trading now"}


def test_a_quoted_word_is_not_stemmed(search_table: SearchTable) -> None:
    search_table.add("we trade")
    search_table.add("we are trading")

    assert search_table.bodies('"trading"') == {"we are trading"}


def test_a_phrase_keeps_stop_words(search_table: SearchTable) -> None:
    search_table.add("the bank of england")
    search_table.add("bank england")

    assert search_table.bodies('"bank of england"') == {"the bank of england"}


def test_a_prefix_matches_word_starts_exactly(search_table: SearchTable) -> None:
    search_table.add("Confidential: do not share")
    search_table.add("conference at ten")
    search_table.add("a con artist")

    assert search_table.bodies("confid*") == {"Confidential: do not share"}
    assert search_table.bodies("CONF*") == {"Confidential: do not share", "conference at ten"}


# -- NEAR ----------------------------------------------------------------------------------


def test_near_matches_up_to_n_words_between_and_not_more(search_table: SearchTable) -> None:
    search_table.add("insider one two three trading")  # 3 words between
    search_table.add("insider one two three four trading")  # 4 words between

    assert search_table.bodies("insider NEAR/3 trading") == {"insider one two three trading"}
    assert search_table.bodies("insider NEAR/4 trading") == {
        "insider one two three trading",
        "insider one two three four trading",
    }


def test_near_matches_either_order(search_table: SearchTable) -> None:
    search_table.add("trading by an insider")
    search_table.add("insider trading")

    assert search_table.bodies("insider NEAR/2 trading") == {
        "trading by an insider",
        "insider trading",
    }


def test_near_zero_means_adjacent(search_table: SearchTable) -> None:
    search_table.add("trading insider")
    search_table.add("trading an insider")

    assert search_table.bodies("insider NEAR/0 trading") == {"trading insider"}


def test_near_between_terms_is_stemmed_and_counts_stop_words(search_table: SearchTable) -> None:
    search_table.add("insiders and the traders were trading")  # insiders ... trading: 4 between
    search_table.add("insiders and the trades")  # 2 between, both stemmed

    assert search_table.bodies("insider NEAR/2 trade") == {"insiders and the trades"}


def test_near_with_a_phrase_is_exact_on_both_sides(search_table: SearchTable) -> None:
    search_table.add("front running is against policy")
    search_table.add("policy says front running is bad")
    search_table.add("policies on running in front")

    assert search_table.bodies('"front running" NEAR/2 policy') == {
        "front running is against policy",
        "policy says front running is bad",
    }
    # exact: "policies" is not "policy" once a phrase is involved
    assert search_table.bodies('"front running" NEAR/5 policies') == set()


def test_near_with_a_prefix(search_table: SearchTable) -> None:
    search_table.add("strictly confidential deal")
    search_table.add("deal is confidential")
    search_table.add("confidential, and only later, after weeks of talks, the deal")

    assert search_table.bodies("confid* NEAR/1 deal") == {
        "strictly confidential deal",
        "deal is confidential",
    }


def test_near_with_a_side_that_has_no_words_matches_nothing(search_table: SearchTable) -> None:
    search_table.add("the deal")

    assert search_table.bodies("the NEAR/3 deal") == set()
    assert search_table.bodies('"the" NEAR/3 deal') == {"the deal"}


NEAR_BODIES = (
    "insider one two three trading",
    "insider one two three four trading",
    "trading by an insider",
    "insiders and the traders were trading",
    "front running is against policy",
    "policy says front running is bad",
    "policies on running in front",
    "strictly confidential deal",
    "confidential, and only later, after weeks of talks, the deal",
    "the deal",
    "deal deal deal",
    "a word between " + " ".join(["pad"] * 19) + " deal",
)
NEAR_QUERIES = (
    "insider NEAR/3 trading",
    "insider NEAR/0 trading",
    "insider NEAR/2 trade",
    '"front running" NEAR/2 policy',
    '"front running" NEAR/5 policies',
    "confid* NEAR/1 deal",
    "confid* NEAR/20 deal",
    "word NEAR/20 deal",
    "deal NEAR/0 deal",
    "the NEAR/3 deal",
    '"the" NEAR/3 deal',
    "deal NEAR/3 the",
    "-(insider NEAR/3 trading)",
    "(insider NEAR/5 trading) OR (deal NEAR/1 deal)",
)


def _near_in_a_sub_select(node: Near) -> SqlFilter:
    """NEAR as it was compiled before it was written inline (the reference for the same rows)."""
    vector = "body_simple_tsv" if node.exact else "body_tsv"
    config = "simple" if node.exact else "english"
    left, left_params = _operand(node.left, config=config)
    right, right_params = _operand(node.right, config=config)
    alternatives = " || ".join(
        "tsquery_phrase(a, b, %s) || tsquery_phrase(b, a, %s)" for _ in range(node.distance + 1)
    )
    distances = tuple(d for d in range(1, node.distance + 2) for _ in (0, 1))
    sql = (
        f"{vector} @@ (SELECT CASE WHEN numnode(a) = 0 THEN a WHEN numnode(b) = 0 THEN b"  # noqa: S608
        f" ELSE {alternatives} END FROM (SELECT {left} AS a, {right} AS b) AS near_operands)"
    )
    return SqlFilter(f"({sql})", distances + left_params + right_params)


class _SubSelectColumns(_Columns):
    __slots__ = ()

    def near(self, node: Near) -> SqlFilter:
        return _near_in_a_sub_select(node)


def test_near_inline_finds_the_same_rows_as_near_in_a_sub_select(
    search_table: SearchTable,
) -> None:
    for body in NEAR_BODIES:
        search_table.add(body)

    for query in NEAR_QUERIES:
        before = _SubSelectColumns("").condition(parse_query(query))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT body FROM {TABLE} WHERE {before.sql}", before.params)  # noqa: S608
            expected = {body for (body,) in cursor.fetchall()}

        assert search_table.bodies(query) == expected, query


def test_near_is_one_tsquery_constant_that_the_planner_sees(search_table: SearchTable) -> None:
    condition = compile_postgres(parse_query("insider NEAR/1 trading"))

    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN SELECT archive_seq FROM {TABLE} WHERE {condition.sql}",  # noqa: S608
            condition.params,
        )
        plan = "\n".join(line for (line,) in cursor.fetchall())

    assert "SELECT" not in condition.sql
    assert "InitPlan" not in plan
    assert "'insid' <-> 'trade'" in plan.replace("''", "'")


# -- AND, OR, NOT --------------------------------------------------------------------------


def test_adjacent_terms_are_anded(search_table: SearchTable) -> None:
    search_table.add("buy the shares")
    search_table.add("buy the bonds")

    assert search_table.bodies("buy shares") == {"buy the shares"}
    assert search_table.bodies("buy AND shares") == {"buy the shares"}


def test_or(search_table: SearchTable) -> None:
    search_table.add("buy now")
    search_table.add("sell now")
    search_table.add("hold now")

    assert search_table.bodies("buy OR sell") == {"buy now", "sell now"}


def test_not_and_exclusion(search_table: SearchTable) -> None:
    search_table.add("buy now")
    search_table.add("buy later")

    assert search_table.bodies("buy NOT later") == {"buy now"}
    assert search_table.bodies("buy -later") == {"buy now"}
    assert search_table.bodies('buy -"buy later"') == {"buy now"}
    assert search_table.bodies("NOT later") == {"buy now"}


def test_and_binds_tighter_than_or(search_table: SearchTable) -> None:
    search_table.add("alpha")
    search_table.add("beta gamma")
    search_table.add("beta")

    assert search_table.bodies("alpha OR beta gamma") == {"alpha", "beta gamma"}
    assert search_table.bodies("(alpha OR beta) gamma") == {"beta gamma"}


def test_not_binds_tighter_than_and(search_table: SearchTable) -> None:
    search_table.add("alpha beta")
    search_table.add("alpha")
    search_table.add("beta")

    assert search_table.bodies("NOT alpha beta") == {"beta"}
    assert search_table.bodies("NOT (alpha beta)") == {"alpha", "beta"}


def test_lowercase_and_is_a_word(search_table: SearchTable) -> None:
    search_table.add("salt and pepper")
    search_table.add("salt only")

    assert search_table.bodies('salt "and" pepper') == {"salt and pepper"}
    assert search_table.bodies("salt and pepper") == {"salt and pepper"}


# -- fields --------------------------------------------------------------------------------


def test_from_matches_the_author(search_table: SearchTable) -> None:
    search_table.add("from bob", author_username="bob", author_id=2)
    search_table.add("from alice")

    assert search_table.bodies("from:Bob") == {"from bob"}
    assert search_table.bodies("-from:bob") == {"from alice"}


def test_in_matches_a_channel_name_or_a_conversation_id(search_table: SearchTable) -> None:
    search_table.add("in general")
    search_table.add("in trading desk", conversation_id=42, conversation_name="trading-desk")
    search_table.add("in a direct message", conversation_id=7, conversation_name="")

    assert search_table.bodies("in:#Trading-Desk") == {"in trading desk"}
    assert search_table.bodies("in:42") == {"in trading desk"}
    assert search_table.bodies("in:7") == {"in a direct message"}
    assert search_table.bodies("in:99999999999999999999") == set()


def test_participant_matches_anyone_in_the_audience(search_table: SearchTable) -> None:
    search_table.add("carol saw it", audience_usernames=["alice", "carol"], audience_ids=[1, 3])
    search_table.add("carol did not")

    assert search_table.bodies("participant:carol") == {"carol saw it"}
    assert search_table.bodies("participant:alice") == {"carol saw it", "carol did not"}


def test_dates_are_utc_days_with_exclusive_before_and_after(search_table: SearchTable) -> None:
    day_start = datetime(2024, 3, 1, tzinfo=UTC)
    search_table.add("last instant of feb 29", occurred_at=day_start - timedelta(microseconds=1))
    search_table.add("first instant of mar 1", occurred_at=day_start)
    search_table.add(
        "last instant of mar 1", occurred_at=day_start + timedelta(days=1, microseconds=-1)
    )
    search_table.add("first instant of mar 2", occurred_at=day_start + timedelta(days=1))

    assert search_table.bodies("on:2024-03-01") == {
        "first instant of mar 1",
        "last instant of mar 1",
    }
    assert search_table.bodies("before:2024-03-01") == {"last instant of feb 29"}
    assert search_table.bodies("after:2024-03-01") == {"first instant of mar 2"}
    assert search_table.bodies("after:2024-02-29 before:2024-03-02") == {
        "first instant of mar 1",
        "last instant of mar 1",
    }


def test_dates_at_the_ends_of_the_calendar(search_table: SearchTable) -> None:
    search_table.add("now")

    assert search_table.bodies("after:9999-12-31") == set()
    assert search_table.bodies("on:9999-12-31") == set()
    assert search_table.bodies("before:0001-01-01") == set()
    assert search_table.bodies("after:0001-01-01") == {"now"}


def test_has_attachment(search_table: SearchTable) -> None:
    search_table.add("see attached", has_attachment=True)
    search_table.add("nothing attached")

    assert search_table.bodies("has:attachment") == {"see attached"}


@pytest.mark.parametrize(
    ("query", "column"),
    [("is:edited", "is_edited"), ("is:deleted", "is_deleted"), ("is:flagged", "is_flagged")],
)
def test_message_states(search_table: SearchTable, query: str, column: str) -> None:
    search_table.add("in that state", **{column: True})
    search_table.add("plain")

    assert search_table.bodies(query) == {"in that state"}
    assert search_table.bodies(f"-{query}") == {"plain"}


def test_every_version_of_an_edited_message_is_found_with_its_own_text(
    search_table: SearchTable,
) -> None:
    search_table.add("meet at 5", message_id=9, is_edited=True)
    search_table.add("meet at 6", message_id=9, version_kind="edit", is_edited=True)

    assert search_table.bodies("is:edited") == {"meet at 5", "meet at 6"}
    assert search_table.bodies('"at 5"') == {"meet at 5"}


def test_policy(search_table: SearchTable) -> None:
    search_table.add("flagged by two", is_flagged=True, policies=["insider list", "pii"])
    search_table.add("not flagged")

    assert search_table.bodies('policy:"Insider List"') == {"flagged by two"}
    assert search_table.bodies("policy:pii") == {"flagged by two"}
    assert search_table.bodies("policy:gifts") == set()


# -- safety --------------------------------------------------------------------------------


def test_the_query_only_narrows_the_permission_scope(search_table: SearchTable) -> None:
    search_table.add("secret deal", audience_ids=[5, 6])
    search_table.add("open deal", audience_ids=[1, 2])
    scope = SqlFilter("audience_ids @> ARRAY[%s]::bigint[]", (1,))

    assert search_table.bodies("deal OR secret OR NOT deal", scope=scope) == {"open deal"}
    assert search_table.bodies("NOT nothing", scope=scope) == {"open deal"}


def test_sql_and_tsquery_syntax_in_the_query_is_just_text(search_table: SearchTable) -> None:
    search_table.add("it's a deal; drop table")
    search_table.add("other")

    assert search_table.bodies('"it\'s"') == {"it's a deal; drop table"}
    assert search_table.bodies('"\'); DROP TABLE x; --" OR deal') == {"it's a deal; drop table"}
    assert search_table.bodies('from:"o\'brien" OR a&b|!c:x') == set()


def test_the_compiled_text_search_uses_the_gin_indexes(search_table: SearchTable) -> None:
    condition = compile_postgres(parse_query('insider NEAR/5 trading OR "front running" OR conf*'))

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            f"EXPLAIN SELECT archive_seq FROM {TABLE} WHERE {condition.sql}",  # noqa: S608
            condition.params,
        )
        plan = "\n".join(line for (line,) in cursor.fetchall())

    assert f"Bitmap Index Scan on {TABLE}_body_tsv" in plan
    assert f"Bitmap Index Scan on {TABLE}_body_simple_tsv" in plan
    assert "Seq Scan" not in plan


def test_the_filter_composes_with_an_orm_queryset(search_table: SearchTable) -> None:
    condition = compile_postgres(parse_query("deal from:bob"), table=TABLE)

    queryset = User.objects.filter(condition.as_expression())

    sql, params = queryset.query.sql_with_params()
    assert f"WHERE ({condition.sql})" in sql
    assert params == condition.params
