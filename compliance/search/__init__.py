"""Compliance search: everything ever said, edits and deletions included, for discovery.

`compliance.search.query` is the query language (parse once, compile to PostgreSQL or
Elasticsearch). Indexing, backends and the workspace build on its public names, re-exported
here. The user's reference is docs/search.md.
"""

from .query import (
    QuerySyntaxError,
    QueryTooLargeError,
    SqlFilter,
    compile_elasticsearch,
    compile_postgres,
    highlight_section,
    parse_query,
    print_query,
    search_body,
)

__all__ = [
    "QuerySyntaxError",
    "QueryTooLargeError",
    "SqlFilter",
    "compile_elasticsearch",
    "compile_postgres",
    "highlight_section",
    "parse_query",
    "print_query",
    "search_body",
]
