"""docs/search.md shows users real error messages: keep its table true to the parser."""

import re
from pathlib import Path

import pytest

from compliance.search.query import QuerySyntaxError, parse_query

DOC = Path(__file__).resolve().parents[2] / "docs" / "search.md"
_errors = DOC.read_text(encoding="utf-8").split("## Errors", 1)[1].split("\n## ", 1)[0]
EXAMPLES = re.findall(r"^\| `(.+?)` \| `(.+?)` \|$", _errors, re.MULTILINE)


def test_the_errors_section_has_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(("query", "message"), EXAMPLES)
def test_documented_error_is_the_real_one(query: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)

    assert str(caught.value) == message
