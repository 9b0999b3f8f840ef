"""Policies as the scanner sees them: conditions checked, compiled into one matcher, and
evaluated into per-policy hits.

A policy version's `conditions` (JSON, checked by `conditions_check`):

    {"lexicons": [{"name": "promises", "terms": ["guarantee*", "risk free"],
                   "exceptions": ["no guarantee"]}],
     "near": [{"name": "guaranteed returns", "a": "guarantee*", "b": "return*", "distance": 5}],
     "patterns": [{"name": "account ref", "regex": "acct-\\d{6}"}],
     "detectors": ["payment_card", "iban", "us_ssn"]}

Terms and phrases are folded (case, accents, white space); a trailing * matches any ending.
An exception suppresses a lexicon's hits that lie inside one of its occurrences. NEAR/n
holds when the two terms occur within n words of each other, in either order. Any condition
that holds makes the policy hit (they are alternatives).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .detectors import DETECTORS
from .folding import fold_term
from .matcher import Rule

ACTIONS = ("flag", "notify", "warn", "block")
SCOPE_KEYS = ("users", "groups", "conversations", "kinds")
CONVERSATION_KINDS = ("public", "private", "direct", "group")
MAX_TERMS = 20_000
MAX_TERM_CHARS = 200


class PolicyInvalidError(ValueError):
    """A policy's conditions, scope or actions cannot be used; says which and why."""


@dataclass(frozen=True)
class PolicySpec:
    """One active policy version, as compiled."""

    version_id: int
    name: str
    version: int
    actions: tuple[str, ...]
    conditions: dict[str, Any]
    scope: dict[str, list[Any]] = field(default_factory=dict)

    def applies(
        self, *, author_id: int | None, groups: Iterable[int], conversation_id: int, kind: str
    ) -> bool:
        """Whether the scope takes in this message (every part given must hold; none: all)."""
        scope = self.scope
        if scope.get("users") and author_id not in scope["users"]:
            return False
        if scope.get("groups") and not set(scope["groups"]) & set(groups):
            return False
        if scope.get("conversations") and conversation_id not in scope["conversations"]:
            return False
        return not (scope.get("kinds") and kind not in scope["kinds"])

    @property
    def scope_needs_author_groups(self) -> bool:
        return bool(self.scope.get("groups"))


@dataclass(frozen=True)
class PolicyHit:
    """One thing a policy found: `kind` term/near/pattern/detector, `name` the lexicon,
    proximity rule, pattern or detector, `term` what matched, and the span in the text."""

    kind: str
    name: str
    term: str
    start: int
    end: int
    text: str

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "term": self.term,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


def term_rule(term: str) -> Rule:
    prefix = term.endswith("*")
    return Rule("term", fold_term(term.rstrip("*")), prefix=prefix)


def _check_terms(terms: object, where: str) -> list[str]:
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise PolicyInvalidError(f"{where}: a list of terms")
    for term in terms:
        if not fold_term(term.rstrip("*")):
            raise PolicyInvalidError(f"{where}: an empty term")
        if len(term) > MAX_TERM_CHARS:
            raise PolicyInvalidError(f"{where}: a term is at most {MAX_TERM_CHARS} characters")
    return terms


def _check_name(item: dict[str, Any], where: str) -> str:
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PolicyInvalidError(f"{where}: needs a name")
    return name


def _check_lexicons(value: object) -> None:
    if not isinstance(value, list):
        raise PolicyInvalidError("lexicons: a list")
    total = 0
    for item in value:
        if not isinstance(item, dict):
            raise PolicyInvalidError("lexicons: each is an object")
        name = _check_name(item, "lexicon")
        total += len(_check_terms(item.get("terms"), f"lexicon {name!r}"))
        _check_terms(item.get("exceptions", []), f"lexicon {name!r} exceptions")
    if total > MAX_TERMS:
        raise PolicyInvalidError(f"lexicons: at most {MAX_TERMS} terms a policy")


def _check_near(value: object) -> None:
    if not isinstance(value, list):
        raise PolicyInvalidError("near: a list")
    for item in value:
        if not isinstance(item, dict):
            raise PolicyInvalidError("near: each is an object")
        name = _check_name(item, "near")
        _check_terms([item.get("a"), item.get("b")], f"near {name!r}")
        distance = item.get("distance")
        if not isinstance(distance, int) or isinstance(distance, bool) or not 0 < distance <= 50:
            raise PolicyInvalidError(f"near {name!r}: distance is a number of words from 1 to 50")


def _check_patterns(value: object) -> None:
    if not isinstance(value, list):
        raise PolicyInvalidError("patterns: a list")
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("regex"), str):
            raise PolicyInvalidError("patterns: each is an object with a name and a regex")
        name = _check_name(item, "pattern")
        try:
            compiled = re.compile(item["regex"])
        except re.error as exc:
            raise PolicyInvalidError(f"pattern {name!r}: {exc}") from exc
        if compiled.match(""):
            raise PolicyInvalidError(f"pattern {name!r}: matches the empty text")


def conditions_check(conditions: object) -> dict[str, Any]:
    if not isinstance(conditions, dict):
        raise PolicyInvalidError("conditions: an object")
    unknown = set(conditions) - {"lexicons", "near", "patterns", "detectors"}
    if unknown:
        raise PolicyInvalidError(f"conditions: unknown part {sorted(unknown)[0]!r}")
    _check_lexicons(conditions.get("lexicons", []))
    _check_near(conditions.get("near", []))
    _check_patterns(conditions.get("patterns", []))
    detectors = conditions.get("detectors", [])
    if not isinstance(detectors, list) or any(d not in DETECTORS for d in detectors):
        raise PolicyInvalidError(f"detectors: a list of {', '.join(DETECTORS)}")
    if not any(conditions.get(k) for k in ("lexicons", "near", "patterns", "detectors")):
        raise PolicyInvalidError("conditions: a policy needs at least one condition")
    return conditions


def actions_check(actions: object) -> list[str]:
    if not isinstance(actions, list) or not actions or any(a not in ACTIONS for a in actions):
        raise PolicyInvalidError(f"actions: a non-empty list of {', '.join(ACTIONS)}")
    if "warn" in actions and "block" in actions:
        raise PolicyInvalidError("actions: warn or block, not both")
    return sorted(set(actions), key=ACTIONS.index)


def sampling_check(sampling: object) -> dict[str, Any]:
    """{"percent": 0-100, "per_person": 0-100}; both optional, empty: no sampling."""
    if not isinstance(sampling, dict) or set(sampling) - {"percent", "per_person"}:
        raise PolicyInvalidError("sampling: an object with percent and per_person")
    percent = sampling.get("percent", 0)
    per_person = sampling.get("per_person", 0)
    if not isinstance(percent, int | float) or isinstance(percent, bool) or not 0 <= percent <= 100:
        raise PolicyInvalidError("sampling: percent is from 0 to 100")
    if (
        not isinstance(per_person, int)
        or isinstance(per_person, bool)
        or not 0 <= per_person <= 100
    ):
        raise PolicyInvalidError("sampling: per_person is a whole number from 0 to 100")
    return {k: v for k, v in (("percent", percent), ("per_person", per_person)) if v}


def notify_check(notify: object, actions: list[str]) -> dict[str, Any]:
    """{"sender": bool, "reviewers": group id}: whom the notify action tells. Given only
    with the notify action, which needs at least one of the two."""
    if not isinstance(notify, dict) or set(notify) - {"sender", "reviewers"}:
        raise PolicyInvalidError("notify: an object with sender and reviewers")
    sender = notify.get("sender", False)
    reviewers = notify.get("reviewers")
    if not isinstance(sender, bool):
        raise PolicyInvalidError("notify: sender is true or false")
    if reviewers is not None and (
        not isinstance(reviewers, int) or isinstance(reviewers, bool) or reviewers < 1
    ):
        raise PolicyInvalidError("notify: reviewers is the id of a group")
    checked: dict[str, Any] = {"sender": True} if sender else {}
    if reviewers is not None:
        checked["reviewers"] = reviewers
    if "notify" in actions and not checked:
        raise PolicyInvalidError("notify: tell the sender, a reviewer group, or both")
    if "notify" not in actions and checked:
        raise PolicyInvalidError("notify: whom to tell is given only with the notify action")
    return checked


def scope_check(scope: object) -> dict[str, list[Any]]:
    if not isinstance(scope, dict) or set(scope) - set(SCOPE_KEYS):
        raise PolicyInvalidError(f"scope: an object with {', '.join(SCOPE_KEYS)}")
    for key in ("users", "groups", "conversations"):
        values = scope.get(key, [])
        if not isinstance(values, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in values
        ):
            raise PolicyInvalidError(f"scope: {key} is a list of ids")
    kinds = scope.get("kinds", [])
    if not isinstance(kinds, list) or any(k not in CONVERSATION_KINDS for k in kinds):
        raise PolicyInvalidError(f"scope: kinds is a list of {', '.join(CONVERSATION_KINDS)}")
    return {k: v for k, v in scope.items() if v}
