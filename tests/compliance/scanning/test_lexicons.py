"""Lexicons: phrases, proximity, word boundaries, folding and exceptions, per policy."""

import pytest

from compliance.scanning.compiled import PolicySet
from compliance.scanning.policies import PolicyInvalidError, PolicySpec, conditions_check


def spec(conditions: dict, name: str = "Promises", version_id: int = 1) -> PolicySpec:
    return PolicySpec(version_id, name, 1, ("flag",), conditions_check(conditions))


PROMISES = {
    "lexicons": [
        {
            "name": "promises",
            "terms": ["guarantee", "risk free", "off the books", "sure thing*"],
            "exceptions": ["no guarantee"],
        }
    ],
    "near": [{"name": "guaranteed returns", "a": "guarantee*", "b": "return*", "distance": 5}],
}


@pytest.fixture(params=["hyperscan", "fallback"])
def promises(request: pytest.FixtureRequest) -> PolicySet:
    return PolicySet([spec(PROMISES)], engine=request.param)


def texts(policies: PolicySet, text: str) -> list[tuple[str, str]]:
    return [(h.kind, h.text) for hits in policies.scan(text).values() for h in hits]


def test_terms_and_phrases_match_whole_words_case_and_accents_folded(promises):
    assert texts(promises, "I GUARANTEE it") == [("term", "GUARANTEE")]
    assert texts(promises, "it is Risk\n   Free") == [("term", "Risk\n   Free")]
    assert texts(promises, "keep it öff the böoks") == [("term", "öff the böoks")]
    assert texts(promises, "guarantees and unguarantee") == []  # word boundaries
    assert texts(promises, "risk freedom") == []


def test_a_trailing_star_matches_any_ending(promises):
    assert texts(promises, "a sure things") == [("term", "sure things")]


def test_an_exception_suppresses_the_hits_inside_it(promises):
    assert texts(promises, "there is no guarantee") == []
    assert texts(promises, "no guarantee, but I guarantee it") == [("term", "guarantee")]


def test_proximity_in_either_order_within_the_distance(promises):
    assert ("near", "returns") in texts(promises, "we guarantee you get 10% returns")
    assert ("near", "return") in texts(promises, "a return we guarantee")
    assert texts(promises, "guaranteed, and many words later, one two three four return") == []


def test_each_policy_gets_its_own_hits_from_one_scan():
    cards = {"detectors": ["payment_card"]}
    policies = PolicySet([spec(PROMISES), spec(cards, "Cards", 2)])
    hits = policies.scan("guarantee on 4111111111111111")
    assert {policies.specs[i].name: [h.text for h in hs] for i, hs in hits.items()} == {
        "Promises": ["guarantee"],
        "Cards": ["4111111111111111"],
    }


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({}, "at least one condition"),
        ({"lexicons": [{"name": "x", "terms": ["  "]}]}, "empty term"),
        ({"patterns": [{"name": "p", "regex": "("}]}, "pattern 'p'"),
        ({"patterns": [{"name": "p", "regex": "a*"}]}, "empty text"),
        ({"near": [{"name": "n", "a": "x", "b": "y", "distance": 0}]}, "distance"),
        ({"detectors": ["passport"]}, "detectors"),
        ({"lexicon": []}, "unknown part"),
    ],
)
def test_conditions_that_cannot_be_used_are_refused_with_the_reason(conditions, message):
    with pytest.raises(PolicyInvalidError, match=message):
        conditions_check(conditions)
