"""Hyperscan and the pure-Python fallback give identical results on generated texts."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.scanning.compiled import PolicySet
from compliance.scanning.detectors import DETECTORS
from compliance.scanning.policies import PolicySpec

WORDS = ["guarantee", "return", "risk", "free", "ñandú", "straße", "off", "books", "ßig"]
CONDITIONS = {
    "lexicons": [
        {
            "name": "words",
            "terms": [*WORDS, "risk free", "off the books", "guar*", "STRASSE", "Ñandu"],
            "exceptions": ["no risk"],
        }
    ],
    "near": [{"name": "gr", "a": "guarantee", "b": "return*", "distance": 3}],
    "patterns": [
        {"name": "acct", "regex": r"acct-\d{3,6}"},
        {"name": "word-ish", "regex": r"\b\w{2}\d\b"},
        {"name": "back-ref", "regex": r"(\d)\1\1"},
        # anchored at a text's edges: a batch buffer joins texts, these must still hold
        {"name": "opening", "regex": r"^(?:risk|\d)"},
        {"name": "closing", "regex": r"(?:books|\d)$"},
        {"name": "whole", "regex": r"\Aoff\b.*\Z"},
    ],
    "detectors": list(DETECTORS),
}
SPECS = [PolicySpec(1, "all", 1, ("flag",), CONDITIONS)]
HYPERSCAN = PolicySet(SPECS, engine="hyperscan")
FALLBACK = PolicySet(SPECS, engine="fallback")

pieces = st.one_of(
    st.sampled_from(
        [
            *WORDS,
            "Guarantee",
            "GUARANTÉE",
            "no risk",
            " ",
            "  ",
            "\n",
            "-",
            "acct-1234",
            "4111 1111 1111 1111",
            "DE89370400440532013000",
            "536-90-4399",
            "AKIAIOSFODNN7EXAMPLE",
            "-----BEGIN PRIVATE KEY-----",
            "777",
            "é",
            "\u0301",
            "İ",
        ]
    ),
    st.text(alphabet=string.ascii_letters + string.digits + " -_.,", max_size=8),
    st.text(max_size=4),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pieces, max_size=14).map("".join))
def test_both_engines_find_the_same_hits(text):
    assert HYPERSCAN.scan(text) == FALLBACK.scan(text)


texts = st.lists(pieces, max_size=14).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, max_size=6))
def test_a_batch_finds_what_each_text_finds_alone_in_both_engines(batch):
    # the scanning stage scans a batch in one Hyperscan call over the joined texts
    alone = [FALLBACK.scan(text) for text in batch]
    assert HYPERSCAN.scan_many(batch) == alone
    assert FALLBACK.scan_many(batch) == alone


def test_a_term_split_across_two_texts_of_a_batch_is_no_hit():
    batch = ["we promise risk", "free returns", "ok 4111 1111", "1111 1111 ok"]
    found = HYPERSCAN.scan_many(batch)
    assert found == [FALLBACK.scan(text) for text in batch]
    names = {hit.term for hits in found for hit in hits.get(0, [])}
    assert "risk free" not in names
    assert "Payment card number (Luhn)" not in names
    assert "risk free" in {hit.term for hit in HYPERSCAN.scan("\n".join(batch))[0]}


def test_a_long_text_in_a_batch_is_scanned_alone_with_the_same_hits():
    long_text = "filler " * 3000 + "I guarantee a return on acct-1234"
    batch = ["risk free", long_text, "nothing here", "off the books 777"]
    assert HYPERSCAN.scan_many(batch) == [FALLBACK.scan(text) for text in batch]
    assert HYPERSCAN.scan_many(batch)[1]


def test_a_span_folded_from_other_letters_is_no_iban():
    # found by the property above: "ß" folds to "ss", so the span is longer upper-cased
    text = "de89 370400440532013000ß"
    found = HYPERSCAN.scan(text)
    assert found == FALLBACK.scan(text)
    assert "iban" not in {hit.name for hits in found.values() for hit in hits}


def test_the_engines_are_the_ones_named():
    assert (HYPERSCAN.engine, FALLBACK.engine) == ("hyperscan", "fallback")


def test_the_generated_texts_do_hit_something():
    # A property over texts that never hit anything would prove nothing.
    sample = "I guarantee a return on acct-1234, card 4111 1111 1111 1111 and ñandú 777"
    hits = HYPERSCAN.scan(sample)[0]
    assert {h.kind for h in hits} == {"term", "near", "pattern", "detector"}
    assert hits == FALLBACK.scan(sample)[0]
