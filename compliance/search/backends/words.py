"""The words of a query that can be marked in a result: those not under NOT."""

from ..query import And, Near, Node, Not, Or, Phrase, Prefix, Term, Word


def positive_words(tree: Node) -> list[Word]:
    """Terms, phrases and prefixes that a matching message contains (NEAR sides included).

    Words under NOT are absent from a match, so they are never highlighted or ranked.
    """
    match tree:
        case Term() | Phrase() | Prefix():
            return [tree]
        case Near(left=left, right=right):
            return [left, right]
        case And(children=children) | Or(children=children):
            return [word for child in children for word in positive_words(child)]
        case Not():
            return []
    return []
