"""The compiled matcher: every rule of every policy in one database, scanned once per text.

Two engines find candidates and one shared step decides hits, so they give identical
results (tests/compliance/scanning/test_matcher_properties.py runs both on generated texts):

- terms (lexicon words and phrases, folded) are literals: Hyperscan reports every
  occurrence's end; the fallback's Aho-Corasick automaton reports the same occurrences;
- patterns and detectors are Python regular expressions over the folded text; Hyperscan
  only says which of them can match (prefilter mode: it may say yes too often, never too
  rarely), and `re` finds the spans in both engines. Hyperscan has no look-behind or
  back-references, which is why boundaries are checked here, in Python, for both.

Word boundaries are checked around each term occurrence (a term that starts or ends with a
word character needs a non-word character or the text's edge there; `guarantee*` needs none
at its end). Detectors' validators run on candidate spans only.
"""

import bisect
import logging
import re
import threading
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Literal, Protocol

from .detectors import DETECTORS
from .folding import FoldedText, fold, fold_simple, is_word_char

logger = logging.getLogger(__name__)

RuleKind = Literal["term", "pattern", "detector"]
Candidates = tuple[list[tuple[int, int]], Set[int]]

# A batch is one buffer of folded texts joined by this character, which no folded text holds
# (folding makes every white space a space).
SEPARATOR = "\n"
# Longer texts (attachments) are scanned alone: their many candidate reports would cost more
# than the call they save.
BATCH_TEXT_CHARS = 16_384


@dataclass(frozen=True)
class Rule:
    """One thing to find. For a term, `text` is the folded literal; for a pattern, the
    regular expression; for a detector, its name."""

    kind: RuleKind
    text: str
    prefix: bool = False  # a term ending in *: no boundary needed after it


@dataclass(frozen=True, order=True, slots=True)
class Hit:
    """A rule found in a text: `start`/`end` index the original text; `fstart`/`fend` the
    folded one (proximity counts words there)."""

    start: int
    end: int
    rule: int
    fstart: int
    fend: int


class Engine(Protocol):
    name: str

    def candidates(self, folded: str) -> tuple[list[tuple[int, int]], Set[int]]:
        """(literal index, folded end) of every literal occurrence; regex rules to run."""
        ...

    def candidates_many(self, folded: Sequence[str]) -> dict[int, Candidates]:
        """`candidates` of each text, by position; texts with none are left out."""
        ...


@dataclass
class RuleSet:
    """The rules, with their literals deduplicated (one literal may serve many rules)."""

    rules: list[Rule]
    literals: list[str] = field(default_factory=list)
    literal_rules: list[list[int]] = field(default_factory=list)
    regex_rules: list[int] = field(default_factory=list)
    compiled: dict[int, re.Pattern[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        index: dict[str, int] = {}
        for rule_id, rule in enumerate(self.rules):
            if rule.kind == "term":
                if rule.text not in index:
                    index[rule.text] = len(self.literals)
                    self.literals.append(rule.text)
                    self.literal_rules.append([])
                self.literal_rules[index[rule.text]].append(rule_id)
            else:
                self.regex_rules.append(rule_id)
                source = DETECTORS[rule.text].candidate if rule.kind == "detector" else rule.text
                self.compiled[rule_id] = re.compile(source)

    def prefilter(self, rule_id: int) -> str:
        rule = self.rules[rule_id]
        return DETECTORS[rule.text].prefilter if rule.kind == "detector" else rule.text


class FallbackEngine:
    """Pure Python: pyahocorasick for the literals, every regex rule run by `re`."""

    name = "fallback"

    def __init__(self, rules: RuleSet) -> None:
        import ahocorasick

        self.automaton: Any = ahocorasick.Automaton()
        for literal_id, literal in enumerate(rules.literals):
            self.automaton.add_word(literal, literal_id)
        self.has_literals = bool(rules.literals)
        if self.has_literals:
            self.automaton.make_automaton()
        self.regex_rules = set(rules.regex_rules)

    def candidates(self, folded: str) -> tuple[list[tuple[int, int]], Set[int]]:
        found = (
            [(lid, end + 1) for end, lid in self.automaton.iter(folded)]
            if self.has_literals
            else []
        )
        return found, self.regex_rules

    def candidates_many(self, folded: Sequence[str]) -> dict[int, Candidates]:
        found = {}
        for position, text in enumerate(folded):
            ends, regexes = self.candidates(text)
            if ends or regexes:
                found[position] = (ends, regexes)
        return found


_NONE: frozenset[int] = frozenset()


def _hs_literal(literal: str) -> bytes:
    return b"".join(b"\\x%02x" % byte for byte in literal.encode())


# Patterns whose meaning depends on where the buffer starts or ends (\A, \Z, \z) or that
# switch a flag off inside (`(?-m:...)`): a batch buffer would hide their matches, so in
# a batch `re` runs them on every text.
_BUFFER_BOUND = re.compile(r"\\[AZz]|\(\?[a-zA-Z]*-")


class HyperscanEngine:
    """One Hyperscan database of every literal and every regex rule's prefilter.

    A second database, compiled at the first batch, scans many texts in one call: the
    folded texts joined by SEPARATOR into one buffer. Literals never hold the separator, so
    an occurrence that starts before its text's start spans two texts and is dropped.
    Prefilters there are MULTILINE (`^`/`$` hold at each text's edges, which the separator
    marks as the buffer's edges would) and report every end (SINGLEMATCH would report once
    per batch): each report names the text holding its last character. A prefilter may
    still match across two texts; that only runs `re` on a text for nothing, never misses.
    """

    name = "hyperscan"

    def __init__(self, rules: RuleSet) -> None:
        import hyperscan as hs

        self.hs = hs
        self.literal_bytes = [len(literal.encode()) for literal in rules.literals]
        self.always: set[int] = set()  # regex rules Hyperscan cannot take: always run by re
        self.expressions: list[bytes] = [_hs_literal(literal) for literal in rules.literals]
        self.regex_of_id: dict[int, int] = {}
        for rule_id in rules.regex_rules:
            expression = rules.prefilter(rule_id).encode()
            if not self._compiles(expression, self._regex_flags(batch=False)):
                self.always.add(rule_id)
                continue
            self.regex_of_id[len(self.expressions)] = rule_id
            self.expressions.append(expression)
        self.database = self._database(batch=False)
        self.batch_database: Any = None
        self.batch_always: set[int] = set()
        self.batch_compiled = False
        self.batch_lock = threading.Lock()
        self.local = threading.local()

    def _regex_flags(self, *, batch: bool) -> int:
        hs = self.hs
        flags = hs.HS_FLAG_PREFILTER | hs.HS_FLAG_UTF8 | hs.HS_FLAG_UCP
        return flags | (hs.HS_FLAG_MULTILINE if batch else hs.HS_FLAG_SINGLEMATCH)

    def _database(self, *, batch: bool) -> Any:
        n_literals = len(self.literal_bytes)
        regex_flags = self._regex_flags(batch=batch)
        ids = list(range(n_literals))
        for expression_id, rule_id in self.regex_of_id.items():
            expression = self.expressions[expression_id]
            if batch and (
                _BUFFER_BOUND.search(expression.decode())
                or not self._compiles(expression, regex_flags)
            ):
                self.batch_always.add(rule_id)  # left out: re runs it on every text
                continue
            ids.append(expression_id)
        if not ids:
            return None
        database = self.hs.Database(mode=self.hs.HS_MODE_BLOCK)
        database.compile(
            expressions=[self.expressions[i] for i in ids],
            ids=ids,
            elements=len(ids),
            flags=[0 if i < n_literals else regex_flags for i in ids],
        )
        return database

    def _compiles(self, expression: bytes, flags: int) -> bool:
        try:
            self.hs.Database(mode=self.hs.HS_MODE_BLOCK).compile(
                expressions=[expression], ids=[0], elements=1, flags=[flags]
            )
        except self.hs.error as exc:
            logger.warning("pattern %r runs without Hyperscan: %s", expression, exc)
            return False
        return True

    def _scratch(self, database: Any, slot: str) -> Any:
        scratch = getattr(self.local, slot, None)
        if scratch is None:
            scratch = self.hs.Scratch(database)
            setattr(self.local, slot, scratch)
        return scratch

    def candidates(self, folded: str) -> Candidates:
        regexes = set(self.always) if self.always else _NONE
        if self.database is None:
            return [], regexes
        data = folded.encode()
        found: list[tuple[int, int]] = []
        self.database.scan(
            data,
            match_event_handler=self._on_match,
            context=found,
            scratch=self._scratch(self.database, "scratch"),
        )
        if not found:
            return found, regexes
        regexes = set(regexes)
        n_literals = len(self.literal_bytes)
        ends = [(i, to) for i, to in found if i < n_literals]
        regexes.update(self.regex_of_id[i] for i, _ in found if i >= n_literals)
        if ends and len(data) != len(folded):  # byte offsets to character offsets
            ends = [(lid, len(data[:end].decode())) for lid, end in ends]
        return ends, regexes

    def candidates_many(self, folded: Sequence[str]) -> dict[int, Candidates]:
        if not self.batch_compiled:
            with self.batch_lock:  # once: a scratch is made for the database it scans
                if not self.batch_compiled:
                    self.batch_database = self._database(batch=True)
                    self.batch_compiled = True
        always = self.always | self.batch_always
        joined = SEPARATOR.join(folded)
        data = joined.encode()
        ascii_only = len(data) == len(joined)
        sizes = map(len, folded) if ascii_only else (len(t.encode()) for t in folded)
        starts = [0, *accumulate(size + 1 for size in sizes)]  # byte offset of each text
        reports: list[tuple[int, int]] = []
        if self.batch_database is not None:
            self.batch_database.scan(
                data,
                match_event_handler=self._on_match,
                context=reports,
                scratch=self._scratch(self.batch_database, "batch_scratch"),
            )
        found: dict[int, Candidates] = (
            {position: ([], set(always)) for position in range(len(folded))} if always else {}
        )
        n_literals = len(self.literal_bytes)
        for expression_id, to in reports:
            position = bisect.bisect_right(starts, to - 1) - 1
            ends, regexes = found.setdefault(position, ([], set()))
            if expression_id >= n_literals:
                assert isinstance(regexes, set)
                regexes.add(self.regex_of_id[expression_id])
            elif to - self.literal_bytes[expression_id] >= starts[position]:
                ends.append((expression_id, to - starts[position]))
        if not ascii_only:
            for position, (ends, _) in found.items():
                text = folded[position]
                if ends and not text.isascii():
                    data = text.encode()
                    ends[:] = [(lid, len(data[:end].decode())) for lid, end in ends]
        return {p: c for p, c in found.items() if c[0] or c[1]}

    @staticmethod
    def _on_match(expression_id: int, _from: int, to: int, _flags: int, found: Any) -> None:
        found.append((expression_id, to))


def _bounded(folded: str, start: int, end: int, rule: Rule) -> bool:
    if start > 0 and is_word_char(rule.text[0]) and is_word_char(folded[start - 1]):
        return False
    if rule.prefix:
        return True
    return not (end < len(folded) and is_word_char(rule.text[-1]) and is_word_char(folded[end]))


def _word_end(folded: str, end: int) -> int:
    """A prefix term's hit covers the rest of its word ("guarant*" reports "guaranteed")."""
    while end < len(folded) and is_word_char(folded[end]):
        end += 1
    return end


class Matcher:
    """Finds every rule in a text with the given engine (Hyperscan when installed)."""

    def __init__(self, rules: Iterable[Rule], *, engine: str = "auto") -> None:
        self.rules = RuleSet(list(rules))
        self.engine: Engine = _engine(self.rules, engine)

    def scan(self, text: str) -> tuple[FoldedText | None, list[Hit]]:
        """The text's folded form and its hits, in order; (None, []) when nothing can hit
        (the common case, kept to one fold and one engine call)."""
        folded = fold(text)
        literal_ends, regex_rules = self.engine.candidates(folded.folded)
        return self._decide(folded, literal_ends, regex_rules)

    def scan_many(self, texts: Sequence[str]) -> list[tuple[FoldedText | None, list[Hit]]]:
        """`scan` of each text, with one engine call for the lot: what the scanning stage
        uses, since most texts hit nothing and then the call is most of the cost."""
        simple = [fold_simple(text) for text in texts]  # the common case, no map built
        mapped = {i: fold(texts[i]) for i, f in enumerate(simple) if f is None}
        folded = [f if f is not None else mapped[i].folded for i, f in enumerate(simple)]
        alone = {i for i, f in enumerate(folded) if len(f) > BATCH_TEXT_CHARS or SEPARATOR in f}
        if alone:  # long texts (attachments), or a fold's oddity: scanned one by one
            batched = [i for i in range(len(folded)) if i not in alone]
            found = {i: self.engine.candidates(folded[i]) for i in alone}
            for position, candidates in self.engine.candidates_many(
                [folded[i] for i in batched]
            ).items():
                found[batched[position]] = candidates
        else:
            found = self.engine.candidates_many(folded)
        answers: list[tuple[FoldedText | None, list[Hit]]] = [(None, [])] * len(texts)
        for i, (literal_ends, regex_rules) in found.items():
            text = mapped.get(i) or FoldedText(texts[i], folded[i], None)
            answers[i] = self._decide(text, literal_ends, regex_rules)
        return answers

    def _decide(
        self, folded: FoldedText, literal_ends: list[tuple[int, int]], regex_rules: Set[int]
    ) -> tuple[FoldedText | None, list[Hit]]:
        """The hits among the candidates (the step both engines share)."""
        if not literal_ends and not regex_rules:
            return None, []
        hits: set[Hit] = set()
        for literal_id, end in literal_ends:
            start = end - len(self.rules.literals[literal_id])
            for rule_id in self.rules.literal_rules[literal_id]:
                rule = self.rules.rules[rule_id]
                if _bounded(folded.folded, start, end, rule):
                    stop = _word_end(folded.folded, end) if rule.prefix else end
                    hits.add(_hit(folded, rule_id, start, stop))
        for rule_id in regex_rules:
            hits.update(self._regex_hits(folded, rule_id))
        return folded, sorted(hits)

    def _regex_hits(self, folded: FoldedText, rule_id: int) -> list[Hit]:
        rule = self.rules.rules[rule_id]
        found = []
        for match in self.rules.compiled[rule_id].finditer(folded.folded):
            if match.end() == match.start():
                continue
            hit = _hit(folded, rule_id, match.start(), match.end())
            if rule.kind == "detector":
                valid = DETECTORS[rule.text].validate(folded.original[hit.start : hit.end])
                if valid is None:
                    continue
                hit = Hit(hit.start, hit.start + valid, rule_id, hit.fstart, hit.fend)
            found.append(hit)
        return found


def _hit(folded: FoldedText, rule_id: int, fstart: int, fend: int) -> Hit:
    start, end = folded.span(fstart, fend)
    return Hit(start, end, rule_id, fstart, fend)


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


def _engine(rules: RuleSet, name: str) -> Engine:
    if name == "hyperscan" or (name == "auto" and hyperscan_available()):
        return HyperscanEngine(rules)
    return FallbackEngine(rules)
