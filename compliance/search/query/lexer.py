"""Characters to tokens: words, phrases, fields, operators and parentheses.

Whitespace separates tokens; `(`, `)` and `"` also end a bare word. A `-` at the start of a
token means exclusion (`-term`, `-"phrase"`, `-from:bob`, `-(a OR b)`); inside a word it is
just a character (`e-mail`). Leaves (terms, phrases, prefixes, field filters) become syntax
tree nodes here, so the parser only deals with structure.
"""

import re
from dataclasses import dataclass
from enum import Enum, auto

from .ast import (
    DELIMITERS,
    KEYWORDS,
    MAX_NEAR_DISTANCE,
    Filter,
    Phrase,
    Prefix,
    Term,
    Word,
    has_forbidden_character,
    is_near_operator,
    looks_like_field,
    prefix_problem,
)
from .errors import QuerySyntaxError, QueryTooLargeError
from .fields import field_filter, is_field_name, unknown_field

_DISTANCE = re.compile(r"[0-9]+")


class Kind(Enum):
    WORD = auto()  # a term, phrase or prefix: what NEAR can join
    FILTER = auto()  # a field filter
    LPAREN = auto()
    RPAREN = auto()
    AND = auto()
    OR = auto()
    NOT = auto()
    MINUS = auto()
    NEAR = auto()
    END = auto()


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    start: int
    word: Word | None = None
    filter: Filter | None = None
    distance: int = 0


def tokenize(query: str) -> list[Token]:
    """The tokens of `query`, ending with an END token at `len(query)`."""
    _refuse_forbidden_characters(query)
    tokens: list[Token] = []
    pos = _skip_space(query, 0)
    while pos < len(query):
        token, pos = _read_token(query, pos)
        tokens.append(token)
        pos = _skip_space(query, pos)
    tokens.append(Token(Kind.END, len(query)))
    return tokens


def _refuse_forbidden_characters(query: str) -> None:
    for pos, char in enumerate(query):
        if has_forbidden_character(char):
            raise QuerySyntaxError("unexpected control character", pos)


def _skip_space(query: str, pos: int) -> int:
    while pos < len(query) and query[pos].isspace():
        pos += 1
    return pos


def _read_token(query: str, pos: int) -> tuple[Token, int]:
    char = query[pos]
    if char == "(":
        return Token(Kind.LPAREN, pos), pos + 1
    if char == ")":
        return Token(Kind.RPAREN, pos), pos + 1
    if char == '"':
        text, end = _read_quoted(query, pos)
        if not text:
            raise QuerySyntaxError("empty quotes", pos)
        return Token(Kind.WORD, pos, word=Phrase(text)), end
    if char == "-":
        return _read_minus(query, pos), pos + 1
    return _read_word(query, pos)


def _read_quoted(query: str, pos: int) -> tuple[str, int]:
    """The text between the quote at `pos` and the next one, spaces normalized."""
    closing = query.find('"', pos + 1)
    if closing < 0:
        raise QuerySyntaxError("unclosed quote", pos)
    return " ".join(query[pos + 1 : closing].split()), closing + 1


def _read_minus(query: str, pos: int) -> Token:
    following = query[pos + 1 : pos + 2]
    if not following or following.isspace() or following == ")":
        raise QuerySyntaxError(
            "expected something to exclude after -", pos, hint="write -word, with no space"
        )
    return Token(Kind.MINUS, pos)


def _word_end(query: str, pos: int) -> int:
    end = pos
    while end < len(query) and not query[end].isspace() and query[end] not in DELIMITERS:
        end += 1
    return end


def _read_word(query: str, pos: int) -> tuple[Token, int]:
    end = _word_end(query, pos)
    word = query[pos:end]
    if word in KEYWORDS:
        return Token(Kind[word], pos), end
    if is_near_operator(word):
        return Token(Kind.NEAR, pos, distance=_near_distance(word, pos)), end
    if looks_like_field(word):
        return _read_field(query, pos, word, end)
    if "*" in word:
        return Token(Kind.WORD, pos, word=_prefix(word, pos)), end
    return Token(Kind.WORD, pos, word=Term(word)), end


def _near_distance(word: str, pos: int) -> int:
    digits = word.removeprefix("NEAR/") if word.startswith("NEAR/") else ""
    if not _DISTANCE.fullmatch(digits):
        raise QuerySyntaxError(
            "expected a distance after NEAR", pos, hint="write NEAR/5 for at most 5 words apart"
        )
    if len(digits) > 3 or int(digits) > MAX_NEAR_DISTANCE:
        raise QueryTooLargeError(f"NEAR distance is at most {MAX_NEAR_DISTANCE}", pos + 5)
    return int(digits)


def _prefix(word: str, pos: int) -> Prefix:
    star = word.index("*")
    if star != len(word) - 1:
        raise QuerySyntaxError("* may only end a word", pos + star)
    problem = prefix_problem(word[:-1])
    if problem is not None:
        raise QuerySyntaxError(f'prefix "{word}" {problem}', pos)
    return Prefix(word[:-1])


def _read_field(query: str, pos: int, word: str, end: int) -> tuple[Token, int]:
    name, _, value = word.partition(":")
    if not is_field_name(name):
        raise unknown_field(name, pos)
    value_at = pos + len(name) + 1
    if not value and query[end : end + 1] == '"':
        value, end = _read_quoted(query, end)
    if not value:
        raise QuerySyntaxError(f"expected a value after {name.lower()}:", value_at)
    return Token(Kind.FILTER, pos, filter=field_filter(name, value, at=value_at)), end
