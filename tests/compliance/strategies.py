"""Hypothesis strategies: random syntax trees, and random text shaped like queries."""

from hypothesis import strategies as st

from compliance.search.query import (
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
    Node,
    Not,
    Or,
    Participant,
    Phrase,
    Policy,
    Prefix,
    Review,
    ReviewFacet,
    Term,
)
from compliance.search.query.ast import (
    MAX_NEAR_DISTANCE,
    is_normalized_text,
    prefix_problem,
    term_problem,
)

_letters = st.characters(categories=["L", "N"])
_punctuation = st.sampled_from(list(".'@#$&+-_:,!?/%=~^<>[]{}|\\;"))
_anything_but_space = st.characters(
    exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"], exclude_characters='"'
)

terms = (
    st.text(st.one_of(_letters, _punctuation), min_size=1, max_size=10)
    .filter(lambda text: term_problem(text) is None)
    .map(Term)
)
phrases = (
    st.lists(st.text(_anything_but_space, min_size=1, max_size=8), min_size=1, max_size=4)
    .map(" ".join)
    .filter(is_normalized_text)
    .map(Phrase)
)
prefixes = (
    st.text(_letters, min_size=2, max_size=8)
    .filter(lambda stem: prefix_problem(stem) is None)
    .map(Prefix)
)
words = st.one_of(terms, phrases, prefixes)
nears = st.builds(Near, words, words, st.integers(0, MAX_NEAR_DISTANCE))

_values = (
    st.text(st.one_of(_letters, st.sampled_from(list(" .-_@#()*:'"))), min_size=1, max_size=12)
    .map(lambda value: " ".join(value.lower().split()))
    .filter(is_normalized_text)
)
filters = st.one_of(
    st.builds(From, _values),
    st.builds(In, _values.filter(lambda value: not value.startswith("#"))),
    st.builds(Participant, _values),
    st.builds(DateFilter, st.sampled_from(DateRelation), st.dates()),
    st.builds(Has, st.sampled_from(Feature)),
    st.builds(Is, st.sampled_from(MessageState)),
    st.builds(Policy, _values),
    st.builds(Review, st.sampled_from(ReviewFacet)),
)


def _branches(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    several = st.lists(children, min_size=2, max_size=4).map(tuple)
    return st.one_of(several.map(And), several.map(Or), children.map(Not))


trees: st.SearchStrategy[Node] = st.recursive(
    st.one_of(words, nears, filters), _branches, max_leaves=12
)

_fragments = st.sampled_from(
    [
        '"', "(", ")", "-", "*", ":", "#", " ", "  ", "\t", "\n",
        "AND", "OR", "NOT", "and", "NEAR", "NEAR/", "NEAR/3", "NEAR/0", "NEAR/21", "NEAR/x",
        "from:", "form:", "in:", "in:#", "participant:", "before:", "after:", "on:",
        "2024-02-29", "2024-13-01", "9999-12-31", "0001-01-01", "has:", "attachment",
        "is:", "edited", "deleted", "flagged", "starred", "policy:", "http://x",
        "trade", "trad", "e-mail", "a", "é", "日本", "Straße", "0042", "'", ";", "\\",
        "\x00", "\u200b", "\u00a0", "İ",
        "from:bob", "in:#general", "in:42", "participant:carol", "on:2024-02-29",
        "before:2024-03-01", "after:9999-12-31", "is:edited", "has:attachment",
        'policy:"insider list"', '"insider trading"', "conf*", "日本*", "insider", "the",
    ]
)  # fmt: skip

#: Text built from the language's own pieces, to reach deep into the parser.
query_like_text = st.lists(
    st.tuples(_fragments, st.sampled_from(["", " ", " ", " "])).map("".join), max_size=30
).map("".join)
