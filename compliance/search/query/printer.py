"""A syntax tree back to its canonical query string.

Canonical means: explicit `AND`, `NOT` rather than `-`, single spaces, parentheses only
where the tree needs them, field names and values lower-cased. So `parse_query` of the
output gives back the same tree, and two queries that mean the same tree print the same,
which is what the audit trail records and what a saved search stores.
"""

from typing import assert_never

from .ast import (
    DELIMITERS,
    And,
    DateFilter,
    Filter,
    From,
    Has,
    In,
    Is,
    Near,
    Node,
    Not,
    Or,
    Participant,
    Phrase,
    Policy,
    Prefix,
    Review,
    Term,
)


def print_query(node: Node) -> str:
    """The canonical query string of `node`; `parse_query(print_query(t)) == t`."""
    match node:
        case Term(text=text):
            return text
        case Phrase(text=text):
            return f'"{text}"'
        case Prefix(stem=stem):
            return f"{stem}*"
        case Near(left=left, right=right, distance=distance):
            return f"{print_query(left)} NEAR/{distance} {print_query(right)}"
        case And(children=children):
            # An And or Or child came from parentheses: without them it would merge into
            # this one (And) or bind differently (Or).
            return " AND ".join(_grouped(child, when=(And, Or)) for child in children)
        case Or(children=children):
            return " OR ".join(_grouped(child, when=(Or,)) for child in children)
        case Not(child=child):
            return f"NOT {_grouped(child, when=(And, Or))}"
        case _:
            return _print_filter(node)


def _print_filter(node: Filter) -> str:
    match node:
        case From(username=username):
            return f"from:{_value(username)}"
        case In(conversation=conversation):
            return f"in:{_value(conversation)}"
        case Participant(username=username):
            return f"participant:{_value(username)}"
        case DateFilter(relation=relation, day=day):
            return f"{relation.value}:{day.isoformat()}"
        case Has(feature=feature):
            return f"has:{feature.value}"
        case Is(state=state):
            return f"is:{state.value}"
        case Policy(name=name):
            return f"policy:{_value(name)}"
        case Review(facet=facet):
            return f"review:{facet.value}"
    assert_never(node)


def _grouped(node: Node, *, when: tuple[type, ...]) -> str:
    text = print_query(node)
    return f"({text})" if isinstance(node, when) else text


def _value(value: str) -> str:
    """A field value, quoted when it holds a space or a character that would end it."""
    if any(c.isspace() or c in DELIMITERS for c in value):
        return f'"{value}"'
    return value
