"""A record's canonical JSON is read to the values `json.loads` reads, whatever the text
holds: orjson's reading is kept only where it is provably the same."""

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.export.formats.base import parsed
from ledger.canonical import canonical_json

_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _same(left: Any, right: Any) -> bool:
    """Equal values of the same types all the way down (1 == 1.0 and True == 1 are not)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    return bool(left == right)


@settings(max_examples=400, deadline=None)
@given(_VALUES, st.booleans())
def test_a_text_is_read_to_the_values_json_reads(value: Any, canonical: bool) -> None:
    text = canonical_json(value) if canonical else json.dumps(value, indent=1)

    assert _same(parsed(text.encode()), json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        '{"id":123456789012345678901234567890}',  # orjson makes it a float
        '{"id":-9223372036854775809}',
        '{"id":18446744073709551615}',  # the largest orjson keeps an integer
        '{"x":NaN}',
        '{"x":1e400}',
        '{"x":"\\ud800"}',  # an escaped lone surrogate
        '{"b":1,"a":2}',  # keys not sorted: not canonical
        '{"a":1,"a":2}',
        '{"t":"tab\\tand \\u001f and \\u2028"}',
    ],
)
def test_what_orjson_reads_otherwise_is_read_by_json(text: str) -> None:
    assert _same(parsed(text.encode()), json.loads(text))
