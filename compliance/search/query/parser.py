"""Tokens to a syntax tree, once, with the limits that keep a query cheap to run.

Grammar, loosest binding first (NOT > AND > OR; NEAR binds two words):

    query   := or END
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          adjacent clauses are ANDed
    unary   := ("NOT" | "-") unary | primary
    primary := "(" or ")" | filter | word ["NEAR/n" word]
    word    := term | "phrase" | prefix*

Sequences at one level become one n-ary And/Or; parentheses keep their own node, so
`a AND (b AND c)` and `a AND b AND c` are different trees (and print differently).
"""

from dataclasses import dataclass

from .ast import And, Near, Node, Not, Or, Word
from .errors import QuerySyntaxError, QueryTooLargeError
from .lexer import Kind, Token, tokenize

#: Longest query accepted, in characters.
MAX_QUERY_LENGTH = 2000
#: Deepest nesting of parentheses and NOT accepted.
MAX_DEPTH = 10
#: Most terms, phrases, prefixes and filters in one query.
MAX_CLAUSES = 64

_OPERAND_STARTS = frozenset({Kind.WORD, Kind.FILTER, Kind.LPAREN, Kind.NOT, Kind.MINUS})
_SPELLING = {Kind.AND: "AND", Kind.OR: "OR", Kind.NOT: "NOT", Kind.MINUS: "-"}


def parse_query(query: str) -> Node:
    """The syntax tree of `query`.

    Raises `QuerySyntaxError` (never anything else) for a query that cannot be read, and
    its subclass `QueryTooLargeError` for one over the limits above.
    """
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryTooLargeError(
            f"query is longer than {MAX_QUERY_LENGTH:,} characters", MAX_QUERY_LENGTH
        )
    tokens = tokenize(query)
    if tokens[0].kind is Kind.END:
        raise QuerySyntaxError("empty query", 0)
    return _Parser(tokens).query()


@dataclass
class _Parser:
    """Recursive descent over the grammar above. Recursion follows nesting, which
    MAX_DEPTH bounds, so no query can exhaust the stack."""

    tokens: list[Token]
    index: int = 0
    clauses: int = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.END:
            self.index += 1
        return token

    def query(self) -> Node:
        node = self.disjunction(depth=0)
        token = self.peek()
        if token.kind is not Kind.END:
            raise _unexpected(token)
        return node

    def disjunction(self, *, depth: int) -> Node:
        children = [self.conjunction(depth=depth)]
        while self.peek().kind is Kind.OR:
            self.expect_operand_after(self.take())
            children.append(self.conjunction(depth=depth))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def conjunction(self, *, depth: int) -> Node:
        children = [self.unary(depth=depth)]
        while True:
            token = self.peek()
            if token.kind is Kind.AND:
                self.expect_operand_after(self.take())
            elif token.kind not in _OPERAND_STARTS:
                break
            children.append(self.unary(depth=depth))
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self, *, depth: int) -> Node:
        token = self.peek()
        if token.kind not in (Kind.NOT, Kind.MINUS):
            return self.primary(depth=depth)
        self.take()
        _check_depth(depth + 1, token)
        self.expect_operand_after(token)
        return Not(self.unary(depth=depth + 1))

    def primary(self, *, depth: int) -> Node:
        token = self.take()
        if token.kind is Kind.LPAREN:
            return self.group(token, depth=depth + 1)
        if token.kind is Kind.FILTER and token.filter is not None:
            self.count_clause(token)
            return token.filter
        if token.kind is Kind.WORD and token.word is not None:
            self.count_clause(token)
            return self.proximity(token.word)
        raise _unexpected(token)

    def group(self, opening: Token, *, depth: int) -> Node:
        _check_depth(depth, opening)
        if self.peek().kind is Kind.RPAREN:
            raise QuerySyntaxError("empty parentheses", opening.start)
        node = self.disjunction(depth=depth)
        closing = self.take()
        if closing.kind is Kind.END:
            raise QuerySyntaxError("unclosed parenthesis", opening.start)
        if closing.kind is not Kind.RPAREN:
            raise _unexpected(closing)
        return node

    def proximity(self, left: Word) -> Node:
        if self.peek().kind is not Kind.NEAR:
            return left
        near = self.take()
        right = self.take()
        if right.kind is not Kind.WORD or right.word is None:
            raise QuerySyntaxError(
                f"expected a word, phrase or prefix after NEAR/{near.distance}", right.start
            )
        self.count_clause(right)
        if self.peek().kind is Kind.NEAR:
            raise QuerySyntaxError(
                "NEAR joins two words", self.peek().start, hint="join two NEAR clauses with AND"
            )
        return Near(left, right.word, near.distance)

    def expect_operand_after(self, operator: Token) -> None:
        token = self.peek()
        if token.kind not in _OPERAND_STARTS:
            raise QuerySyntaxError(f"expected a term after {_SPELLING[operator.kind]}", token.start)

    def count_clause(self, token: Token) -> None:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise QueryTooLargeError(
                f"query has more than {MAX_CLAUSES} terms and filters", token.start
            )


def _check_depth(depth: int, token: Token) -> None:
    if depth > MAX_DEPTH:
        raise QueryTooLargeError(
            f"query nests parentheses and NOT more than {MAX_DEPTH} deep", token.start
        )


def _unexpected(token: Token) -> QuerySyntaxError:
    """The error for a token that cannot stand where the parser found it."""
    if token.kind is Kind.RPAREN:
        return QuerySyntaxError("unexpected )", token.start, hint="remove it or add a ( before it")
    if token.kind is Kind.NEAR:
        return QuerySyntaxError(
            f"NEAR/{token.distance} needs a word, phrase or prefix on each side", token.start
        )
    if token.kind in (Kind.AND, Kind.OR):
        return QuerySyntaxError(f"expected a term before {_SPELLING[token.kind]}", token.start)
    return QuerySyntaxError("expected a term", token.start)
