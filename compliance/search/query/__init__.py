"""The compliance search query language: read once into a syntax tree, then compiled.

    tree = parse_query('insider NEAR/5 trading from:bob -is:deleted')
    print_query(tree)               # 'insider NEAR/5 trading AND from:bob AND NOT is:deleted'
    compile_postgres(tree)          # SqlFilter(sql, params) for the search table
    compile_elasticsearch(tree)     # a query DSL dict for the search index

The user's reference is docs/search.md; the target table and index are defined as
contracts in `compile_postgres` and `compile_elasticsearch`.
"""

from .ast import (
    And,
    DateFilter,
    DateRelation,
    Feature,
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
    ReviewFacet,
    Term,
    Word,
    walk,
)
from .compile_elasticsearch import compile_elasticsearch, highlight_section, search_body
from .compile_postgres import SqlFilter, compile_postgres, search_table_ddl
from .errors import QuerySyntaxError, QueryTooLargeError
from .parser import MAX_CLAUSES, MAX_DEPTH, MAX_QUERY_LENGTH, parse_query
from .printer import print_query

__all__ = [
    "MAX_CLAUSES",
    "MAX_DEPTH",
    "MAX_QUERY_LENGTH",
    "And",
    "DateFilter",
    "DateRelation",
    "Feature",
    "Filter",
    "From",
    "Has",
    "In",
    "Is",
    "MessageState",
    "Near",
    "Node",
    "Not",
    "Or",
    "Participant",
    "Phrase",
    "Policy",
    "Prefix",
    "QuerySyntaxError",
    "QueryTooLargeError",
    "Review",
    "ReviewFacet",
    "SqlFilter",
    "Term",
    "Word",
    "compile_elasticsearch",
    "compile_postgres",
    "highlight_section",
    "parse_query",
    "print_query",
    "search_body",
    "search_table_ddl",
    "walk",
]
