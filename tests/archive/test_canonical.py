"""The one byte form of a record, and the chain hash over it."""

import hashlib
import json

import pytest

from archive.models import GENESIS_HASH, ArchiveRecord
from archive.services.archiving import archive_pending
from ledger.canonical import canonical_json, chain_hash
from tests.archive.helpers import content
from tests.factories import ChannelFactory, send


def test_keys_are_sorted_at_every_level_without_whitespace():
    value = {"b": [{"z": 1, "a": None}], "a": {"y": True, "x": "s"}}

    assert canonical_json(value) == '{"a":{"x":"s","y":true},"b":[{"a":null,"z":1}]}'


def test_text_is_utf8_with_only_the_json_escapes_rfc_8785_requires():
    value = {"body": 'Zürich 東京 🚀 "q" \\ / \u2028 \x1f\n'}

    assert canonical_json(value) == '{"body":"Zürich 東京 🚀 \\"q\\" \\\\ / \u2028 \\u001f\\n"}'


def test_a_value_json_cannot_represent_exactly_is_refused():
    with pytest.raises(ValueError, match="Out of range float values"):
        canonical_json({"x": float("nan")})


def test_the_chain_hash_covers_the_previous_hash_bytes_and_the_canonical_utf8():
    expected = hashlib.sha256(bytes(32) + '{"k":"é"}'.encode()).hexdigest()

    assert chain_hash(GENESIS_HASH, '{"k":"é"}') == expected
    assert chain_hash("11" * 32, '{"k":"é"}') != expected


@pytest.mark.django_db
@pytest.mark.usefixtures("blob_root")
def test_a_record_of_any_text_round_trips_and_hashes_to_its_stored_hash(alice):
    body = "Grüße — 🚀 «quoted» \u2028 tab\tend"
    send(alice, ChannelFactory(creator=alice), body)

    archive_pending()

    record = ArchiveRecord.objects.get(event_type="message.new")
    assert content(record)["payload"]["message"]["body"] == body
    assert canonical_json(json.loads(record.canonical)) == record.canonical
    assert "Grüße — 🚀 «quoted» \u2028 tab\\tend" in record.canonical
    assert record.hash == chain_hash(record.prev_hash, record.canonical)
