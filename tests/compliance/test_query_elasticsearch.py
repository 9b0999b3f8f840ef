"""Request-level tests of the Elasticsearch compiler: what the official client sends for each
operator, compared with reference files written by hand from the query DSL documentation.

Set EIM_UPDATE_REFERENCE=1 to rewrite the reference files from the compiler; the tests then
fail on purpose, so that a rewrite is always reviewed (git diff) and never passes silently.
"""

import json
import os
from pathlib import Path
from typing import Any

import pytest

from compliance.search.query import (
    And,
    DateFilter,
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
    Term,
    compile_elasticsearch,
    highlight_section,
    parse_query,
    search_body,
    walk,
)
from compliance.search.query.compile_elasticsearch import MAPPING, SETTINGS

from .conftest import RecordingClient

REFERENCE = Path(__file__).parent / "reference"
SEARCH_CASES = sorted((REFERENCE / "search").glob("*.json"))
INDEX = "eim-messages"
SCOPE = {"terms": {"audience_ids": ["7"]}}
UPDATE = os.environ.get("EIM_UPDATE_REFERENCE") == "1"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _compare_or_update(path: Path, expected: dict[str, Any], actual: dict[str, Any]) -> None:
    if UPDATE:
        path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        pytest.fail(f"rewrote {path.name}: review the diff, then run without EIM_UPDATE_REFERENCE")
    assert actual == expected


@pytest.mark.parametrize("path", SEARCH_CASES, ids=[p.stem for p in SEARCH_CASES])
def test_search_request_matches_reference(es: RecordingClient, path: Path) -> None:
    case = _load(path)
    body = search_body(parse_query(case["query"]), scope=SCOPE)

    es.client.search(index=INDEX, **body)

    [sent] = es.requests
    actual = {"method": sent.method, "path": sent.target, "body": sent.body}
    _compare_or_update(path, case, {"query": case["query"], "request": actual})


def test_index_creation_matches_reference(es: RecordingClient) -> None:
    path = REFERENCE / "index.json"

    es.client.indices.create(index=INDEX, settings=SETTINGS, mappings=MAPPING)

    [sent] = es.requests
    actual = {"method": sent.method, "path": sent.target, "body": sent.body}
    _compare_or_update(path, _load(path), actual)


def test_reference_cases_cover_every_operator_and_field() -> None:
    nodes = [node for path in SEARCH_CASES for node in walk(parse_query(_load(path)["query"]))]
    kinds = {type(node) for node in nodes}
    states = {node.state for node in nodes if isinstance(node, Is)}
    relations = {node.relation for node in nodes if isinstance(node, DateFilter)}

    assert kinds >= {Term, Phrase, Prefix, Near, And, Or, Not, From, In, Participant}
    assert kinds >= {DateFilter, Has, Is, Policy}
    assert states == set(MessageState)
    assert len(relations) == 3


def test_scope_comes_first_and_the_query_only_narrows_it() -> None:
    body = search_body(parse_query("a OR NOT b"), scope=SCOPE)

    assert body["query"] == {
        "bool": {"filter": [SCOPE], "must": [compile_elasticsearch(parse_query("a OR NOT b"))]}
    }


def test_no_highlight_without_text() -> None:
    assert highlight_section(parse_query("from:bob -is:deleted")) is None
    assert "highlight" not in search_body(parse_query("from:bob"), scope=SCOPE)


def test_every_mapped_field_the_compiler_uses_exists() -> None:
    """A compiled query naming a field the mapping lacks would match nothing, silently."""
    query = parse_query(
        '(a NEAR/2 b OR "c d" OR ef*) from:x in:1 participant:y on:2024-01-01 has:attachment '
        "is:edited is:deleted is:flagged policy:z"
    )
    fields = set(_field_names(compile_elasticsearch(query)))
    mapped = set(MAPPING["properties"]) | {"body.exact"}

    assert fields <= mapped


def _field_names(dsl: Any) -> list[str]:
    """Field names under term/range/prefix/match_phrase/intervals in a DSL tree."""
    if isinstance(dsl, list):
        return [name for item in dsl for name in _field_names(item)]
    if not isinstance(dsl, dict):
        return []
    names = []
    for key, value in dsl.items():
        if key in ("term", "range", "prefix", "match_phrase", "intervals"):
            names.extend(value)
        else:
            names.extend(_field_names(value))
    return names
