"""What each `name:value` field accepts, and the errors for what it does not.

The lexer finds `name:value`; this module turns it into a filter node or a plain-language
error pointing at the name or the value.
"""

import difflib
import re
from collections.abc import Callable
from datetime import date

from .ast import (
    DateFilter,
    DateRelation,
    Feature,
    Filter,
    From,
    Has,
    In,
    Is,
    MessageState,
    Participant,
    Policy,
    Review,
    ReviewFacet,
)
from .errors import QuerySyntaxError

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FEATURES = {"attachment": Feature.ATTACHMENT, "attachments": Feature.ATTACHMENT}
_STATES = {state.value: state for state in MessageState}


def _day(value: str, at: int) -> date:
    if _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise QuerySyntaxError(f'bad date "{value}"', at, hint="write dates as YYYY-MM-DD (UTC)")


def _conversation(value: str, at: int) -> In:
    name = value.lower().lstrip("#")
    if not name:
        raise QuerySyntaxError("expected a channel name or conversation id after in:", at)
    return In(name)


def _feature(value: str, at: int) -> Has:
    feature = _FEATURES.get(value.lower())
    if feature is None:
        raise QuerySyntaxError(f'unknown value "has:{value}"', at, hint="use has:attachment")
    return Has(feature)


def _state(value: str, at: int) -> Is:
    state = _STATES.get(value.lower())
    if state is None:
        raise QuerySyntaxError(
            f'unknown value "is:{value}"', at, hint="use is:edited, is:deleted or is:flagged"
        )
    return Is(state)


def _review(value: str, at: int) -> Review:
    try:
        return Review(ReviewFacet(value.lower()))
    except ValueError:
        facets = ", ".join(f"review:{f.value}" for f in ReviewFacet)
        raise QuerySyntaxError(
            f'unknown value "review:{value}"', at, hint=f"use {facets}"
        ) from None


_READERS: dict[str, Callable[[str, int], Filter]] = {
    "from": lambda value, at: From(value.lower()),
    "in": _conversation,
    "participant": lambda value, at: Participant(value.lower()),
    "before": lambda value, at: DateFilter(DateRelation.BEFORE, _day(value, at)),
    "after": lambda value, at: DateFilter(DateRelation.AFTER, _day(value, at)),
    "on": lambda value, at: DateFilter(DateRelation.ON, _day(value, at)),
    "has": _feature,
    "is": _state,
    "policy": lambda value, at: Policy(value.lower()),
    "review": _review,
}

#: The field names, in the order the documentation lists them.
FIELD_NAMES: tuple[str, ...] = tuple(_READERS)


def is_field_name(name: str) -> bool:
    return name.lower() in _READERS


def unknown_field(name: str, at: int) -> QuerySyntaxError:
    """The error for `name:` that is no field, suggesting the nearest one if any is close."""
    close = difflib.get_close_matches(name.lower(), FIELD_NAMES, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}:?" if close else "put it in quotes to search for the text"
    return QuerySyntaxError(f'unknown field "{name}:"', at, hint=hint)


def field_filter(name: str, value: str, *, at: int) -> Filter:
    """The filter for a known field `name` with a non-empty, normalized `value` at `at`."""
    return _READERS[name.lower()](value, at)
