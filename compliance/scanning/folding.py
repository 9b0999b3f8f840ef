"""Folding: the form of a text that lexicons and patterns are matched against.

Lower-cased (casefold), accents dropped (NFKD without combining marks) and every run of
white space made one space, so "Guarantée\n  Returns" matches the phrase "guarantee returns".
Hits are reported in the original text: `FoldedText.span` maps a folded span back.

Most chat text is ASCII without runs of white space; its folded form is `str.lower()` and
the map is the identity, so the common case costs two C calls.
"""

import re
import unicodedata
from dataclasses import dataclass

_NEEDS_WHITESPACE_FOLD = re.compile(r"\s\s|[^\S ]")
_WHITESPACE = re.compile(r"\s")


@dataclass(frozen=True, slots=True)
class FoldedText:
    original: str
    folded: str
    # origin[i] is the index in `original` of the character that folded[i] came from;
    # None when the fold is the identity (same length, same positions).
    origin: list[int] | None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that folded[start:end] (not empty) came from."""
        if self.origin is None:
            return start, end
        stop = self.origin[end] if end < len(self.origin) else len(self.original)
        return self.origin[start], stop


def fold_term(term: str) -> str:
    """A lexicon term as it is matched: folded, trimmed."""
    return fold(term).folded.strip()


def _fold_char(char: str) -> str:
    if char.isascii():
        return char.lower()
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def fold_simple(text: str) -> str | None:
    """The folded text when folding is only lower-casing (ASCII, no white-space runs): the
    common case, without building a map; None otherwise."""
    # isprintable() and `in` are single C passes; the regular expression costs ten times
    # more and only decides texts with control characters or double spaces.
    if text.isascii() and (
        (text.isprintable() and "  " not in text) or not _NEEDS_WHITESPACE_FOLD.search(text)
    ):
        return text.lower()
    return None


def fold(text: str) -> FoldedText:
    simple = fold_simple(text)
    if simple is not None:
        return FoldedText(text, simple, None)
    out: list[str] = []
    origin: list[int] = []
    previous_space = False
    for index, char in enumerate(text):
        if _WHITESPACE.match(char):
            if previous_space:
                continue
            previous_space = True
            out.append(" ")
            origin.append(index)
            continue
        previous_space = False
        for piece in _fold_char(char):
            out.append(piece)
            origin.append(index)
    return FoldedText(text, "".join(out), origin)


def is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"
