"""The policy set compiled into one matcher, and each policy's hits read off one scan."""

import bisect
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from .detectors import DETECTORS
from .folding import FoldedText
from .matcher import Hit, Matcher, Rule
from .policies import PolicyHit, PolicySpec, term_rule

_WORD = re.compile(r"\w+")


@dataclass
class _Wiring:
    """What each rule means to each policy."""

    # rule -> [(policy index, kind, name, term)] for hits reported as such
    reports: dict[int, list[tuple[int, str, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # (policy index, lexicon name) -> exception rules
    exceptions: dict[tuple[int, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    # policy index -> [(name, rule a, rule b, term a, term b, distance)]
    near: dict[int, list[tuple[str, int, int, str, str, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )


class PolicySet:
    """Every given policy version in one matcher; `scan` says what each one found."""

    def __init__(self, specs: Sequence[PolicySpec], *, stamp: str = "", engine: str = "auto"):
        self.specs = list(specs)
        self.stamp = stamp
        self.rules: list[Rule] = []
        self._rule_ids: dict[Rule, int] = {}
        self.wiring = _Wiring()
        for index, spec in enumerate(self.specs):
            self._wire(index, spec)
        self.matcher = Matcher(self.rules, engine=engine)
        # The policies that act at send time (block or warn), checked before a message is written.
        self.send_gate = [
            i for i, spec in enumerate(self.specs) if {"block", "warn"} & set(spec.actions)
        ]

    @property
    def engine(self) -> str:
        return self.matcher.engine.name

    def _rule(self, rule: Rule) -> int:
        if rule not in self._rule_ids:
            self._rule_ids[rule] = len(self.rules)
            self.rules.append(rule)
        return self._rule_ids[rule]

    def _wire(self, index: int, spec: PolicySpec) -> None:
        conditions, wiring = spec.conditions, self.wiring
        for lexicon in conditions.get("lexicons", []):
            for term in lexicon["terms"]:
                wiring.reports[self._rule(term_rule(term))].append(
                    (index, "term", lexicon["name"], term)
                )
            for exception in lexicon.get("exceptions", []):
                rule_id = self._rule(term_rule(exception))
                wiring.exceptions[(index, lexicon["name"])].append(rule_id)
        for near in conditions.get("near", []):
            a, b = self._rule(term_rule(near["a"])), self._rule(term_rule(near["b"]))
            wiring.near[index].append((near["name"], a, b, near["a"], near["b"], near["distance"]))
        for pattern in conditions.get("patterns", []):
            rule_id = self._rule(Rule("pattern", pattern["regex"]))
            wiring.reports[rule_id].append((index, "pattern", pattern["name"], pattern["regex"]))
        for name in conditions.get("detectors", []):
            rule_id = self._rule(Rule("detector", name))
            wiring.reports[rule_id].append((index, "detector", name, DETECTORS[name].label))

    def scan(self, text: str, *, only: Sequence[int] | None = None) -> dict[int, list[PolicyHit]]:
        """Policy index -> its hits in `text` (policies without hits left out); `only`
        limits the answer to these policy indexes (the send-time check)."""
        folded, hits = self.matcher.scan(text)
        if folded is None or not hits:
            return {}
        return self._policy_hits(
            folded, hits, set(range(len(self.specs)) if only is None else only)
        )

    def scan_many(self, texts: Sequence[str]) -> list[dict[int, list[PolicyHit]]]:
        """`scan` of each text (every policy), with one engine call for the lot."""
        everyone = set(range(len(self.specs)))
        return [
            self._policy_hits(folded, hits, everyone) if folded is not None and hits else {}
            for folded, hits in self.matcher.scan_many(texts)
        ]

    def _policy_hits(
        self, folded: FoldedText, hits: list[Hit], wanted: set[int]
    ) -> dict[int, list[PolicyHit]]:
        by_rule: dict[int, list[Hit]] = defaultdict(list)
        for hit in hits:
            by_rule[hit.rule].append(hit)
        found: dict[int, list[PolicyHit]] = defaultdict(list)
        for rule_id, rule_hits in by_rule.items():
            for index, kind, name, term in self.wiring.reports.get(rule_id, ()):
                if index not in wanted:
                    continue
                excluded = self._exception_spans(by_rule, index, name) if kind == "term" else []
                for hit in rule_hits:
                    if not any(s <= hit.start and hit.end <= e for s, e in excluded):
                        found[index].append(_policy_hit(folded, hit, kind, name, term))
        for index in wanted & set(self.wiring.near):
            found[index].extend(self._near_hits(folded, by_rule, index))
        return {
            i: sorted(h, key=lambda h: (h.start, h.end, h.kind, h.name))
            for i, h in found.items()
            if h
        }

    def _exception_spans(
        self, by_rule: dict[int, list[Hit]], index: int, lexicon: str
    ) -> list[tuple[int, int]]:
        return [
            (hit.start, hit.end)
            for rule_id in self.wiring.exceptions.get((index, lexicon), ())
            for hit in by_rule.get(rule_id, ())
        ]

    def _near_hits(
        self, folded: FoldedText, by_rule: dict[int, list[Hit]], index: int
    ) -> list[PolicyHit]:
        found: list[PolicyHit] = []
        starts: list[int] | None = None
        for name, a, b, term_a, term_b, distance in self.wiring.near[index]:
            if a not in by_rule or b not in by_rule:
                continue
            if starts is None:
                starts = [m.start() for m in _WORD.finditer(folded.folded)]
            for hit_a in by_rule[a]:
                for hit_b in by_rule[b]:
                    gap = abs(_word_index(starts, hit_a.fstart) - _word_index(starts, hit_b.fstart))
                    if hit_a != hit_b and gap <= distance:
                        term = f'"{term_a}" NEAR/{distance} "{term_b}"'
                        found.append(_policy_hit(folded, hit_a, "near", name, term))
                        found.append(_policy_hit(folded, hit_b, "near", name, term))
        return list(dict.fromkeys(found))


def _order(hit: PolicyHit) -> tuple[int, int, str, str]:
    return hit.start, hit.end, hit.kind, hit.name


def _word_index(starts: list[int], offset: int) -> int:
    return bisect.bisect_right(starts, offset)


def _policy_hit(folded: FoldedText, hit: Hit, kind: str, name: str, term: str) -> PolicyHit:
    return PolicyHit(
        kind=kind,
        name=name,
        term=term,
        start=hit.start,
        end=hit.end,
        text=folded.original[hit.start : hit.end],
    )
