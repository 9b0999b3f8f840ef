"""Hooks for the schemathesis run in tests/api/test_fuzz.py (loaded by SCHEMATHESIS_HOOKS).

A query string of kilobytes of four-byte characters is refused by the HTTP server before the
application sees it (Daphne/Twisted cut the connection past 16 KiB, a proxy answers 414): no
answer the schema could describe. Generated queries stay under what every server accepts.
"""

from typing import Any
from urllib.parse import urlencode

import schemathesis

MAX_QUERY_BYTES = 8000


@schemathesis.hook
def filter_query(ctx: Any, query: dict[str, Any] | None) -> bool:
    return query is None or len(urlencode(query, doseq=True)) <= MAX_QUERY_BYTES


@schemathesis.hook
def filter_failure(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
    """Twisted (under Daphne) parses multipart bodies before the application: a malformed one
    gets its bare `400` with no body or Content-Type. That answer is the HTTP server's, so a
    failure on it says nothing about the API."""
    multipart = str(case.media_type or "").startswith("multipart/")
    servers_own = response.status_code == 400 and not response.content
    return not (multipart and servers_own)
