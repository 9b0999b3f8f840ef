"""Validated detectors: a candidate pattern over the folded text, then a validator.

The candidate pattern finds spans that look right; the validator (python-stdnum for the
checksums) runs only on those spans, with the original text of the span, so "4111 1111 1111
1112" (bad Luhn) or an SSN in area 666 raises nothing. `prefilter` is a cheaper expression
Hyperscan uses to skip texts that cannot hold a candidate (it may say yes too often, never
too rarely: the candidate pattern decides).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from stdnum import iban, luhn
from stdnum.exceptions import ValidationError
from stdnum.us import ssn


@dataclass(frozen=True)
class Detector:
    name: str
    label: str
    candidate: str
    prefilter: str
    # (original text of the candidate span) -> length of the valid prefix of that span to
    # report, or None: not a hit.
    validate: Callable[[str], int | None]


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _card(span: str) -> int | None:
    digits = _digits(span)
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return None
    return len(span) if luhn.is_valid(digits) else None


def _iban(span: str) -> int | None:
    """The longest prefix of the span that is a valid IBAN (an IBAN's length depends on its
    country, and a greedy candidate may run into the next word)."""
    if not span.isascii():
        return None  # folded from other letters ("ß" is "ss"): not an IBAN as written
    positions = [i for i, c in enumerate(span) if not c.isspace()]
    compact = "".join(span[i] for i in positions).upper()
    for length in range(len(compact), 14, -1):
        end = positions[length - 1] + 1
        if end < len(span) and span[end].isalnum():
            continue  # would cut a word in two
        try:
            iban.validate(compact[:length])
        except ValidationError:
            continue
        return end
    return None


def _ssn(span: str) -> int | None:
    return len(span) if ssn.is_valid(_digits(span)) else None


def _always(span: str) -> int | None:
    return len(span)


def _upper_key(span: str) -> int | None:
    """Cloud access key ids are upper case; the folded text lost the case, the span has it."""
    return len(span) if span == span.upper() else None


def _google_key(span: str) -> int | None:
    return len(span) if span.startswith("AIza") else None


DETECTORS: dict[str, Detector] = {
    d.name: d
    for d in (
        Detector(
            "payment_card",
            "Payment card number (Luhn)",
            r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])",
            r"\d(?:[ -]?\d){12}",
            _card,
        ),
        Detector(
            "iban",
            "IBAN (checksum)",
            r"(?<![a-z0-9])[a-z]{2}\d{2}(?: ?[a-z0-9]){11,30}",
            r"[a-z]{2}\d{2}(?: ?[a-z0-9]){11}",
            _iban,
        ),
        Detector(
            "us_ssn",
            "US social security number (valid areas)",
            r"(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])",
            r"\d{3}[- ]\d{2}[- ]\d{4}",
            _ssn,
        ),
        Detector(
            "private_key",
            "Private key",
            r"-----begin (?:[a-z0-9]+ )*private key-----",
            r"-----begin [a-z0-9 ]*private key-----",
            _always,
        ),
        Detector(
            "aws_access_key",
            "AWS access key id",
            r"(?<![a-z0-9])(?:akia|asia)[0-9a-z]{16}(?![a-z0-9])",
            r"(?:akia|asia)[0-9a-z]{16}",
            _upper_key,
        ),
        Detector(
            "github_token",
            "GitHub token",
            r"(?<![a-z0-9_])gh[pousr]_[a-z0-9]{36}(?![a-z0-9_])",
            r"gh[pousr]_[a-z0-9]{36}",
            _always,
        ),
        Detector(
            "slack_token",
            "Slack token",
            r"(?<![a-z0-9])xox[baprs]-[a-z0-9-]{10,}",
            r"xox[baprs]-[a-z0-9-]{10}",
            _always,
        ),
        Detector(
            "google_api_key",
            "Google API key",
            r"(?<![a-z0-9_-])aiza[0-9a-z_-]{35}(?![a-z0-9_-])",
            r"aiza[0-9a-z_-]{35}",
            _google_key,
        ),
    )
}

# Compiled once; `re` caches too, but the matcher calls these per candidate.
COMPILED = {name: re.compile(d.candidate) for name, d in DETECTORS.items()}
