"""Validated detectors: the candidate shape finds the span, the checksum decides."""

import pytest

from compliance.scanning.matcher import Matcher, Rule


@pytest.fixture(params=["hyperscan", "fallback"])
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


def found(engine: str, detector: str, text: str) -> list[str]:
    matcher = Matcher([Rule("detector", detector)], engine=engine)
    _, hits = matcher.scan(text)
    return [text[h.start : h.end] for h in hits]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 exp 12/29", ["4111 1111 1111 1111"]),
        ("4111-1111-1111-1111", ["4111-1111-1111-1111"]),
        ("amex 378282246310005.", ["378282246310005"]),
        ("card 4111 1111 1111 1112", []),  # Luhn fails
        ("order 1234567890123", []),  # 13 digits, Luhn fails
        ("0000 0000 0000 0000", []),  # passes Luhn, one repeated digit
        ("ref 41111111111111111111111", []),  # too long to be a card
    ],
)
def test_payment_cards_need_the_luhn_check(engine, text, expected):
    assert found(engine, "payment_card", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pay to DE89370400440532013000 today", ["DE89370400440532013000"]),
        ("IBAN: GB82 WEST 1234 5698 7654 32 thanks", ["GB82 WEST 1234 5698 7654 32"]),
        ("de89 3704 0044 0532 0130 00", ["de89 3704 0044 0532 0130 00"]),
        ("pay to DE89370400440532013001 today", []),  # checksum fails
        ("DE89370400440532013000X", []),  # runs into a word
    ],
)
def test_ibans_need_their_checksum(engine, text, expected):
    assert found(engine, "iban", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ssn 536-90-4399.", ["536-90-4399"]),
        ("ssn 536 90 4399", ["536 90 4399"]),
        ("area 666: 666-90-4399", []),
        ("area 000: 000-12-3456", []),
        ("area 9xx: 900-12-3456", []),
        ("group 00: 536-00-4399", []),
        ("serial 0000: 536-90-0000", []),
        ("advertised 078-05-1120", []),
        ("mixed separators 536-90 4399", []),
        ("phone 1-536-90-4399-2", []),
    ],
)
def test_us_ssns_refuse_the_invalid_areas(engine, text, expected):
    assert found(engine, "us_ssn", text) == expected


def test_secrets(engine):
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIE..."
    assert found(engine, "private_key", key) == ["-----BEGIN RSA PRIVATE KEY-----"]
    assert found(engine, "aws_access_key", "id AKIAIOSFODNN7EXAMPLE ok") == ["AKIAIOSFODNN7EXAMPLE"]
    assert found(engine, "aws_access_key", "akiaiosfodnn7example") == []  # not a key id's case
    token = "ghp_" + "a1B2" * 9
    assert found(engine, "github_token", f"token {token}") == [token]
    google = "AIza" + "x" * 35
    assert found(engine, "google_api_key", google) == [google]
