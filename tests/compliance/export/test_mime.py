"""The MIME pieces of EML and RSMF files, written out by hand, are what the `email`
package's helpers write."""

import base64
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.export.formats import mime


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2000), st.binary(min_size=1, max_size=64))
def test_base64_lines_are_those_of_encodebytes_with_crlf(size: int, seed: bytes) -> None:
    data = (seed * (size // len(seed) + 1))[:size]

    assert mime.base64_lines(data) == base64.encodebytes(data).decode().replace("\n", "\r\n")


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))]),
    )
)
def test_a_date_header_is_what_format_datetime_writes(moment: datetime) -> None:
    assert mime.date_header(moment) == format_datetime(moment)


def test_a_naive_time_is_written_as_format_datetime_writes_it() -> None:
    moment = datetime(2026, 3, 9, 23, 58, 30)

    assert mime.date_header(moment) == format_datetime(moment)
