"""A query tree to Elasticsearch query DSL, and the index that DSL is written for.

The index (the contract)
------------------------
One document per searchable version of a message, id = `archive_seq`: the same rows as the
PostgreSQL search table (see `compile_postgres`), with the same meaning per field.
`SETTINGS` and `MAPPING` are what the index is created with:

    client.indices.create(index=name, settings=SETTINGS, mappings=MAPPING)

- `body`: text, analyzer `english` (stemmed, English stop words removed, positions kept).
  Its sub-field `body.exact` is the same text with the `standard` analyzer (lower-cased,
  not stemmed, no stop words) and `index_prefixes` (2-10 characters) so that `prefix*`
  and prefixes inside NEAR are answered from an index instead of expanding the vocabulary.
- `author_username`, `conversation_name`, `audience_usernames`, `policies`: keyword with a
  lower-casing normalizer (the parser lower-cases the query's values too).
- `conversation_id`, `author_id`, `audience_ids`, `version_kind`: keyword (looked up, never
  ranged). `archive_seq`, `message_id`: long. `occurred_at`, `created_at`: date (UTC).
- `is_edited`, `is_deleted`, `has_attachment`, `is_flagged`: boolean.
- `dynamic: strict`: a document with a field not listed here is refused, not guessed.

How each node compiles
----------------------
- term: `match_phrase` on `body` (stemmed; a term the analyzer splits into several words
  matches them in sequence, as in PostgreSQL).
- "phrase": `match_phrase` on `body.exact`.
- a term or phrase with no searchable word (a stop word, punctuation) drops out of the
  query: `zero_terms_query` is `all` inside AND and at the top, `none` inside OR, flipped
  under NOT, exactly as in `compile_postgres`.
- prefix*: `prefix` on `body.exact` with the stem lower-cased (a `prefix` query is not
  analyzed; the standard analyzer lower-cases what it indexes).
- NEAR/n: an `intervals` query, `all_of` two sources, `ordered: false`, `max_gaps: n`, on
  `body` (two terms) or `body.exact` (if either side is a phrase or a prefix). Not
  `span_near`: span queries take terms as indexed, so a stemmed term would have to be
  stemmed here in Python; intervals analyze their text with the field's analyzer.
- AND: `bool` with text clauses in `must`, field filters in `filter` (no scoring, cached),
  NOT children in `must_not`. OR: `bool.should` with `minimum_should_match: 1`. NOT alone:
  `bool.must_not` (everything else in scope).
- filters: `term` / `range` queries in filter context. `before:`/`after:`/`on:` become a
  range on `occurred_at` with explicit UTC bounds (`gte` / `lt`).

Permissions come first: `search_body` puts the caller's scope in `bool.filter` and the
user's query in `bool.must`, so the query can only narrow the scope.
"""

from collections.abc import Mapping
from datetime import date
from typing import Any, assert_never

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

#: A JSON object of query DSL.
Dsl = dict[str, Any]

BODY = "body"
BODY_EXACT = "body.exact"

SETTINGS: Dsl = {
    "analysis": {
        "analyzer": {
            "body_stemmed": {"type": "english"},
            "body_exact": {"type": "standard"},
        },
        "normalizer": {
            "lowercase_keyword": {"type": "custom", "filter": ["lowercase"]},
        },
    },
}

MAPPING: Dsl = {
    "dynamic": "strict",
    "properties": {
        "archive_seq": {"type": "long"},
        "message_id": {"type": "long"},
        "version_kind": {"type": "keyword"},
        "conversation_id": {"type": "keyword"},
        "conversation_name": {"type": "keyword", "normalizer": "lowercase_keyword"},
        "author_id": {"type": "keyword"},
        "author_username": {"type": "keyword", "normalizer": "lowercase_keyword"},
        "audience_ids": {"type": "keyword"},
        "audience_usernames": {"type": "keyword", "normalizer": "lowercase_keyword"},
        "occurred_at": {"type": "date"},
        "created_at": {"type": "date"},
        "body": {
            "type": "text",
            "analyzer": "body_stemmed",
            "fields": {
                "exact": {
                    "type": "text",
                    "analyzer": "body_exact",
                    "index_prefixes": {"min_chars": 2, "max_chars": 10},
                },
            },
        },
        "is_edited": {"type": "boolean"},
        "is_deleted": {"type": "boolean"},
        "has_attachment": {"type": "boolean"},
        "is_flagged": {"type": "boolean"},
        "policies": {"type": "keyword", "normalizer": "lowercase_keyword"},
        "review_states": {"type": "keyword"},
    },
}

_STATE_FIELDS = {
    MessageState.EDITED: "is_edited",
    MessageState.DELETED: "is_deleted",
    MessageState.FLAGGED: "is_flagged",
}


def compile_elasticsearch(tree: Node) -> Dsl:
    """The query DSL (the value of `"query"`) matching `tree`. Not a permission check:
    combine it with the caller's scope through `search_body`."""
    return _query(tree, if_no_words=True)


def _query(node: Node, *, if_no_words: bool) -> Dsl:
    """`node` as DSL; a term or phrase with no searchable word counts as `if_no_words`
    (`zero_terms_query` all / none), chosen so that it drops out of its parent."""
    match node:
        case Term(text=text):
            return _match_phrase(BODY, text, if_no_words=if_no_words)
        case Phrase(text=text):
            return _match_phrase(BODY_EXACT, text, if_no_words=if_no_words)
        case Prefix(stem=stem):
            return {"prefix": {BODY_EXACT: {"value": stem.lower()}}}
        case Near():
            return _near(node)
        case And(children=children):
            return _conjunction(children)
        case Or(children=children):
            should = [_query(child, if_no_words=False) for child in children]
            return {"bool": {"should": should, "minimum_should_match": 1}}
        case Not(child=child):
            return {"bool": {"must_not": [_negated(child, if_no_words=not if_no_words)]}}
        case _:
            return {"bool": {"filter": [_filter(node)]}}


def _match_phrase(field: str, text: str, *, if_no_words: bool) -> Dsl:
    zero_terms = "all" if if_no_words else "none"
    return {"match_phrase": {field: {"query": text, "zero_terms_query": zero_terms}}}


def search_body(tree: Node, *, scope: Mapping[str, Any]) -> Dsl:
    """The `query` and `highlight` of a search request for `tree` inside `scope`.

    `scope` is the caller's permission filter (e.g. `{"terms": {"audience_ids": [...]}}`
    or a case's custodians and date range). It goes first, in filter context; the user's
    query goes in `must`. The caller adds paging and sorting.
    """
    body: Dsl = {
        "query": {"bool": {"filter": [dict(scope)], "must": [compile_elasticsearch(tree)]}}
    }
    highlight = highlight_section(tree)
    if highlight is not None:
        body["highlight"] = highlight
    return body


def highlight_section(tree: Node) -> Dsl | None:
    """The `highlight` section for `tree`, or None if it has no text to highlight.

    Whole messages (`number_of_fragments: 0`): chat messages are short and the reviewer
    needs the full text. `encoder: html` escapes the message so that only our `<mark>`
    tags reach the browser as markup. `body` carries stemmed matches and `body.exact`
    exact ones (phrases, prefixes, exact NEAR). Prefix matches answered from the
    `index_prefixes` sub-field may come back unmarked; the live-cluster suite decides
    whether `matched_fields` is needed for them.
    """
    fields = sorted(_text_fields(tree))
    if not fields:
        return None
    return {
        "pre_tags": ["<mark>"],
        "post_tags": ["</mark>"],
        "encoder": "html",
        "number_of_fragments": 0,
        "fields": {name: {} for name in fields},
    }


def _text_fields(node: Node) -> set[str]:
    match node:
        case Term():
            return {BODY}
        case Phrase() | Prefix():
            return {BODY_EXACT}
        case Near(exact=exact):
            return {BODY_EXACT if exact else BODY}
        case And(children=children) | Or(children=children):
            return set().union(*(_text_fields(child) for child in children))
        case Not(child=child):
            return _text_fields(child)
    return set()


def _near(node: Near) -> Dsl:
    field = BODY_EXACT if node.exact else BODY
    sources = [_interval(node.left), _interval(node.right)]
    rule = {"ordered": False, "max_gaps": node.distance, "intervals": sources}
    return {"intervals": {field: {"all_of": rule}}}


def _interval(word: Word) -> Dsl:
    if isinstance(word, Prefix):
        return {"prefix": {"prefix": word.stem.lower()}}
    return {"match": {"query": word.text, "max_gaps": 0, "ordered": True}}


def _conjunction(children: tuple[Node, ...]) -> Dsl:
    clauses: dict[str, list[Dsl]] = {"must": [], "filter": [], "must_not": []}
    for child in children:
        if isinstance(child, Not):
            # Inside AND a NOT must be true when its child is empty: the child counts false.
            clauses["must_not"].append(_negated(child.child, if_no_words=False))
        elif isinstance(child, Filter):
            clauses["filter"].append(_filter(child))
        else:
            clauses["must"].append(_query(child, if_no_words=True))
    return {"bool": {kind: queries for kind, queries in clauses.items() if queries}}


def _negated(node: Node, *, if_no_words: bool) -> Dsl:
    """The query inside a must_not: a bare filter there is already in filter context."""
    if isinstance(node, Filter):
        return _filter(node)
    return _query(node, if_no_words=if_no_words)


def _filter(node: Filter) -> Dsl:
    match node:
        case From(username=username):
            return {"term": {"author_username": username}}
        case In():
            return _conversation(node)
        case Participant(username=username):
            return {"term": {"audience_usernames": username}}
        case DateFilter():
            return _dated(node)
        case Has():  # the only feature: attachment
            return {"term": {"has_attachment": True}}
        case Is(state=state):
            return {"term": {_STATE_FIELDS[state]: True}}
        case Policy(name=name):
            return {"term": {"policies": name}}
        case Review(facet=facet):
            return {"term": {"review_states": facet.value}}
    assert_never(node)


def _conversation(node: In) -> Dsl:
    by_name = {"term": {"conversation_name": node.conversation}}
    if node.conversation_id is None:
        return by_name
    by_id = {"term": {"conversation_id": str(node.conversation_id)}}
    return {"bool": {"should": [by_id, by_name], "minimum_should_match": 1}}


def _dated(node: DateFilter) -> Dsl:
    day_range = node.day_range()
    if day_range is None:
        # No instant satisfies it (after:9999-12-31): match no document.
        return {"bool": {"must_not": [{"match_all": {}}]}}
    start, end = day_range
    bounds = {}
    if start is not None:
        bounds["gte"] = _utc_midnight(start)
    if end is not None:
        bounds["lt"] = _utc_midnight(end)
    return {"range": {"occurred_at": bounds}}


def _utc_midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"
