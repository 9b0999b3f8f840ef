"""The syntax tree of a search query: what the parser produces and the compilers consume.

Every node is a frozen dataclass, so a tree is immutable, hashable and compared by value
(`parse_query(print_query(tree)) == tree` is a plain `==`). Each node checks its own content
when it is built: a tree that exists can always be printed and read back to itself, and a
compiler never meets, say, a term containing a space. The rules here are the lexer's rules;
both use the predicates below so that they cannot drift apart.

Field values (`from:`, `in:`, `participant:`, `policy:`) are held lower-cased: field matching
is case-insensitive, and holding one spelling keeps equal queries equal.
"""

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

#: Characters that always end a bare word: they open or close something.
DELIMITERS = frozenset('()"')
#: Operator words; only the upper-case spelling is an operator (`and` is a term).
KEYWORDS = frozenset({"AND", "OR", "NOT"})
#: NEAR/n allows at most this many words between its two sides. Each unit of distance costs
#: two phrase alternatives in PostgreSQL, so the cap bounds the work a query can ask for.
MAX_NEAR_DISTANCE = 20
#: Shortest stem before `*`: one-letter prefixes expand to a large part of the vocabulary.
MIN_PREFIX_LENGTH = 2
#: Largest id that `in:<digits>` treats as a conversation id (PostgreSQL bigint).
MAX_CONVERSATION_ID = 2**63 - 1


class DateRelation(StrEnum):
    """How `before:` / `after:` / `on:` relate a message's time to a UTC calendar day."""

    BEFORE = "before"
    AFTER = "after"
    ON = "on"


class MessageState(StrEnum):
    """The states `is:` can ask for."""

    EDITED = "edited"
    DELETED = "deleted"
    FLAGGED = "flagged"


class ReviewFacet(StrEnum):
    """What `review:` can ask of a message's review item (docs/scanning.md)."""

    NEW = "new"
    CLAIMED = "claimed"
    ESCALATED = "escalated"
    CLOSED = "closed"
    OPEN = "open"  # new or claimed, in either queue
    SAMPLED = "sampled"
    NO_ISSUE = "no_issue"
    FALSE_POSITIVE = "false_positive"
    VIOLATION = "violation"


class Feature(StrEnum):
    """What `has:` can ask for."""

    ATTACHMENT = "attachment"


def looks_like_field(word: str) -> bool:
    """`name:...` where name is letters only: read as a field, never as a search term."""
    name, colon, _ = word.partition(":")
    return bool(colon) and name.isalpha()


def is_near_operator(word: str) -> bool:
    """`NEAR` or `NEAR/...`: reserved for proximity, even when malformed."""
    return word == "NEAR" or word.startswith("NEAR/")


def has_forbidden_character(text: str) -> bool:
    """Control characters (other than whitespace) and lone surrogates.

    PostgreSQL refuses NUL in text and cannot encode a lone surrogate, so such characters
    are refused at the door rather than failing inside the database.
    """
    return any(unicodedata.category(c) in ("Cc", "Cs") and not c.isspace() for c in text)


def is_normalized_text(text: str) -> bool:
    """Non-empty, single spaces only, no space at either end, no quote, nothing forbidden."""
    return (
        bool(text)
        and '"' not in text
        and " ".join(text.split()) == text
        and not has_forbidden_character(text)
    )


def term_problem(text: str) -> str | None:
    """Why `text` cannot be a bare term, or None if it can."""
    if not text:
        return "empty"
    if any(c.isspace() or c in DELIMITERS for c in text):
        return "contains a space, a parenthesis or a quote"
    if has_forbidden_character(text):
        return "contains a control character"
    if text.startswith("-"):
        return "starts with -, which means exclusion"
    if "*" in text:
        return "contains *, which marks a prefix"
    if text in KEYWORDS or is_near_operator(text):
        return "is an operator"
    if looks_like_field(text):
        return "looks like a field"
    return None


def prefix_problem(stem: str) -> str | None:
    """Why `stem*` cannot be a prefix, or None if it can.

    Letters and digits only (combining marks allowed after the first character): both
    backends split words on punctuation differently, and a stem that is one word in both
    is the only kind that means the same thing in both.
    """
    if len(stem) < MIN_PREFIX_LENGTH:
        return f"needs at least {MIN_PREFIX_LENGTH} letters or digits before *"
    if not stem[0].isalnum() or not all(
        c.isalnum() or unicodedata.category(c).startswith("M") for c in stem
    ):
        return "may contain only letters and digits before *"
    return None


def _require(problem: str | None, what: str, value: object) -> None:
    if problem is not None:
        raise ValueError(f"not a valid {what}: {value!r} ({problem})")


def _value_problem(value: str) -> str | None:
    if not is_normalized_text(value):
        return "empty, badly spaced, or contains a quote or a control character"
    if value != value.lower():
        return "field values are held lower-cased"
    return None


@dataclass(frozen=True, slots=True)
class Term:
    """A word, matched with stemming: `trade` finds "trading" and "trades".

    A term that the analyzer splits into several words (`e-mail`, `10:30`) matches them
    in order, next to each other. A term with no searchable word (a stop word such as
    `the`, or punctuation) drops out of the query: `bank the`, `bank OR the` and
    `bank -the` all mean `bank`.
    """

    text: str

    def __post_init__(self) -> None:
        _require(term_problem(self.text), "term", self.text)


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words in quotes, matched exactly (no stemming), in order, next to each other."""

    text: str

    def __post_init__(self) -> None:
        _require(None if is_normalized_text(self.text) else "badly formed", "phrase", self.text)


@dataclass(frozen=True, slots=True)
class Prefix:
    """`stem*`: any word starting with the stem, matched exactly (no stemming)."""

    stem: str

    def __post_init__(self) -> None:
        _require(prefix_problem(self.stem), "prefix", self.stem)


#: What may stand on either side of NEAR.
Word = Term | Phrase | Prefix


@dataclass(frozen=True, slots=True)
class Near:
    """`left NEAR/n right`: both sides, in either order, with at most n words between them.

    "Between" counts every word of the message, stop words included: in
    "insider and the trading", insider and trading have two words between them.
    """

    left: Word
    right: Word
    distance: int

    def __post_init__(self) -> None:
        if not isinstance(self.left, Word) or not isinstance(self.right, Word):
            raise ValueError("NEAR joins terms, phrases or prefixes")
        if not 0 <= self.distance <= MAX_NEAR_DISTANCE:
            raise ValueError(f"NEAR distance must be 0 to {MAX_NEAR_DISTANCE}")

    @property
    def exact(self) -> bool:
        """Match both sides exactly (unstemmed): true when either side is a phrase or prefix.

        Proximity compares positions within one indexed version of the text, and phrases
        and prefixes are matched against the unstemmed one. Both backends apply this rule
        so that a query means the same on either.
        """
        return not (isinstance(self.left, Term) and isinstance(self.right, Term))


@dataclass(frozen=True, slots=True)
class And:
    """All children match. Written `a AND b` or just `a b`."""

    children: tuple["Node", ...]

    def __post_init__(self) -> None:
        if len(self.children) < 2:
            raise ValueError("AND needs at least two children")


@dataclass(frozen=True, slots=True)
class Or:
    """At least one child matches."""

    children: tuple["Node", ...]

    def __post_init__(self) -> None:
        if len(self.children) < 2:
            raise ValueError("OR needs at least two children")


@dataclass(frozen=True, slots=True)
class Not:
    """The child does not match. Written `NOT a` or `-a`."""

    child: "Node"


@dataclass(frozen=True, slots=True)
class From:
    """`from:username`: the author of the message."""

    username: str

    def __post_init__(self) -> None:
        _require(_value_problem(self.username), "username", self.username)


@dataclass(frozen=True, slots=True)
class In:
    """`in:general` or `in:42`: the conversation, by channel name or by id.

    Digits name both a conversation id and a channel called by those digits: either
    matches. A leading `#` is dropped when the query is read.
    """

    conversation: str

    def __post_init__(self) -> None:
        problem = _value_problem(self.conversation)
        if problem is None and self.conversation.startswith("#"):
            problem = "the # is not part of the name"
        _require(problem, "conversation", self.conversation)

    @property
    def conversation_id(self) -> int | None:
        """The id this value names, if it is a number that fits a bigint."""
        value = self.conversation
        if value.isascii() and value.isdigit() and int(value) <= MAX_CONVERSATION_ID:
            return int(value)
        return None


@dataclass(frozen=True, slots=True)
class Participant:
    """`participant:username`: anyone who could see the message (its audience)."""

    username: str

    def __post_init__(self) -> None:
        _require(_value_problem(self.username), "username", self.username)


@dataclass(frozen=True, slots=True)
class DateFilter:
    """`before:` / `after:` / `on:` a calendar day in UTC.

    `before:D` is strictly before the day starts; `after:D` is strictly after the day ends;
    `on:D` is the whole day. The time compared is when that version was written
    (`occurred_at`): an edit made on D is found by `on:D`.
    """

    relation: DateRelation
    day: date

    def day_range(self) -> tuple[date | None, date | None] | None:
        """[start, end) as UTC midnights; None for an open end; None overall for "never".

        `after:9999-12-31` leaves no representable instant, hence the overall None.
        """
        following = self.day + timedelta(days=1) if self.day < date.max else None
        if self.relation is DateRelation.BEFORE:
            return (None, self.day)
        if self.relation is DateRelation.ON:
            return (self.day, following)
        return None if following is None else (following, None)


@dataclass(frozen=True, slots=True)
class Has:
    """`has:attachment`."""

    feature: Feature


@dataclass(frozen=True, slots=True)
class Is:
    """`is:edited`, `is:deleted`, `is:flagged`: states of the message, not of one version.

    Every version of a message that was ever edited is `is:edited`, the original included;
    likewise for deleted. `is:flagged` needs content scanning (a later stage): until it
    writes flags, nothing is flagged.
    """

    state: MessageState


@dataclass(frozen=True, slots=True)
class Policy:
    """`policy:name`: flagged by that content policy. Empty until content scanning exists."""

    name: str

    def __post_init__(self) -> None:
        _require(_value_problem(self.name), "policy name", self.name)


@dataclass(frozen=True, slots=True)
class Review:
    """`review:state`: the message's review item is in that state (or has that decision)."""

    facet: ReviewFacet


#: Nodes that restrict by a field rather than by the text of the message.
Filter = From | In | Participant | DateFilter | Has | Is | Policy | Review
#: Any node of a query tree.
Node = Term | Phrase | Prefix | Near | And | Or | Not | Filter


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children, left to right.

    For callers that ask questions of a query, e.g. whether it uses `is:flagged`.
    """
    yield node
    if isinstance(node, And | Or):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.child)
    elif isinstance(node, Near):
        yield node.left
        yield node.right
