"""The CSV's lines are written by `spreadsheet.field` and `spreadsheet.line`, not the csv
module's writer (a seventh of a CSV export's CPU): they write what that writer writes, for
any text, character by character."""

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.export.formats.spreadsheet import field, line

#: Text with the characters quoting turns on drawn often.
_TEXT = st.text(alphabet=st.sampled_from(",\"\r\n \t;\\'x€株\x00\x85\u2028") | st.characters())


def _written(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(fields)
    return buffer.getvalue()


@settings(max_examples=500, deadline=None)
@given(st.lists(_TEXT, min_size=2, max_size=8))
def test_a_line_is_what_the_csv_module_writes(fields: list[str]) -> None:
    assert line(field(value) for value in fields) == _written(fields)


def test_every_character_is_quoted_as_the_csv_module_quotes_it() -> None:
    for code in [*range(0x3000), 0xFEFF, 0x1F44D, 0x10FFFF]:
        value = f"a{chr(code)}b"
        assert line([field(value), "x"]) == _written([value, "x"]), hex(code)
