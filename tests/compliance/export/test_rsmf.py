"""RSMF 2.0 files checked against the rules of Relativity's specification: the EML wrapper
(.rsmf extension, X-RSMF-Version, exactly one base64 attachment named rsmf.zip), the zip
(rsmf_manifest.json at its root, every attachment named by an event present), and the
manifest (the 2.0.0 schema's required fields, types and enums; every participant,
conversation and parent an event names exists)."""

import base64
import email
import email.policy
import io
import json
import zipfile
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest

from compliance.export import services

from .conftest import World, run_to_end, unpacked

pytestmark = pytest.mark.django_db

_ID = {"type": "string", "minLength": 1}
_CUSTOM = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name", "value"],
        "properties": {"name": _ID, "value": _ID},
    },
}
# The 2.0.0 schema's rules, written out here: required fields, types and enums.
MANIFEST_RULES = {
    "type": "object",
    "required": ["version", "participants", "conversations", "events"],
    "properties": {
        "version": {"const": "2.0.0"},
        "eventcollectionid": {"type": "string"},
        "participants": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": _ID,
                    "display": {"type": "string"},
                    "account_id": {"type": "string"},
                    "custom": _CUSTOM,
                },
            },
        },
        "conversations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "platform", "participants"],
                "properties": {
                    "id": _ID,
                    "platform": _ID,
                    "type": {"enum": ["direct", "channel"]},
                    "participants": {"type": "array", "items": _ID},
                },
            },
        },
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "id": {"type": "string"},
                    "type": {
                        "enum": ["message", "disclaimer", "join", "leave", "history", "unknown"]
                    },
                    "parent": {"type": "string"},
                    "body": {"type": "string"},
                    "participant": {"type": "string"},
                    "conversation": {"type": "string"},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "deleted": {"type": "boolean"},
                    "importance": {"enum": ["normal", "high"]},
                    "custom": _CUSTOM,
                    "reactions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["value"],
                            "properties": {
                                "value": _ID,
                                "count": {"type": "integer"},
                                "participants": {"type": "array", "items": _ID},
                            },
                        },
                    },
                    "attachments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["id"],
                            "properties": {
                                "id": _ID,
                                "display": {"type": "string"},
                                "size": {"type": "integer"},
                            },
                        },
                    },
                    "edits": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["participant"],
                            "properties": {
                                "participant": _ID,
                                "timestamp": {"type": "string", "format": "date-time"},
                                "previous": {"type": "string"},
                                "new": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture
def rsmf_files(world: World, officer, tmp_path: Path) -> list[Path]:
    job = services.export_create(
        user=officer,
        conversation_ids=[world.channel.pk, world.direct.pk],
        formats=["rsmf"],
        include_attachments=True,
    )
    job = run_to_end(job)
    assert job.state == "done", job.error
    folder = unpacked(job, tmp_path / "received")
    return sorted((folder / "rsmf").rglob("*"))


def _opened(path: Path) -> tuple[email.message.EmailMessage, zipfile.ZipFile, dict]:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1
    package = zipfile.ZipFile(io.BytesIO(attachments[0].get_content()))
    return message, package, json.loads(package.read("rsmf_manifest.json"))


def test_one_rsmf_file_per_conversation_day_with_the_rsmf_extension(rsmf_files, world):
    assert [p.suffix for p in rsmf_files if p.is_file()] == [".rsmf", ".rsmf"]
    assert {p.parent.name for p in rsmf_files if p.is_file()} == {
        str(world.channel.pk),
        str(world.direct.pk),
    }


def test_the_wrapper_has_the_required_headers_and_exactly_one_base64_rsmf_zip(rsmf_files):
    for path in (p for p in rsmf_files if p.is_file()):
        message, _, manifest = _opened(path)
        assert message["X-RSMF-Version"] == "2.0.0"
        assert message["X-RSMF-Generator"] == "eim"
        assert int(message["X-RSMF-EventCount"]) == len(manifest["events"])
        datetime.fromisoformat(message["X-RSMF-BeginDate"].replace("Z", "+00:00"))
        [attachment] = list(message.iter_attachments())
        assert attachment["Content-Transfer-Encoding"] == "base64"
        assert attachment.get_content_disposition() == "attachment"
        assert attachment.get_filename() == "rsmf.zip"
        assert base64.b64decode(attachment.get_payload())[:2] == b"PK"
        defects = [d for part in message.walk() for d in part.defects]
        assert defects == []


def test_every_manifest_follows_the_schema_and_its_references_exist(rsmf_files):
    for path in (p for p in rsmf_files if p.is_file()):
        _, package, manifest = _opened(path)
        jsonschema.validate(manifest, MANIFEST_RULES, format_checker=jsonschema.FormatChecker())
        people = {p["id"] for p in manifest["participants"]}
        conversations = {c["id"] for c in manifest["conversations"]}
        event_ids = {e["id"] for e in manifest["events"] if "id" in e}
        for conversation in manifest["conversations"]:
            assert set(conversation["participants"]) <= people
        for event in manifest["events"]:
            assert event["participant"] in people
            assert event["conversation"] in conversations
            assert event.get("parent", next(iter(event_ids))) in event_ids
            for reaction in event.get("reactions", []):
                assert set(reaction["participants"]) <= people
                assert reaction["count"] == len(reaction["participants"])
            for edit in event.get("edits", []):
                assert edit["participant"] in people
            for attachment in event.get("attachments", []):
                assert attachment["id"] in package.namelist()
        assert package.namelist()[0] == "rsmf_manifest.json"


def test_edits_deletions_reactions_threads_and_attachments_are_fields_of_the_events(
    rsmf_files, world
):
    path = next(p for p in rsmf_files if p.parent.name == str(world.channel.pk) and p.is_file())
    _, package, manifest = _opened(path)
    events = {e.get("id"): e for e in manifest["events"]}

    edited = events[str(world.edited.pk)]
    assert edited["body"] == "buy 100 shares of ACME, as agreed"
    assert edited["edits"][0]["previous"] == "buy 100 shares of ACME before the announcement"
    assert events[str(world.deleted.pk)]["deleted"] is True
    assert events[str(world.deleted.pk)]["body"] == "delete this: the insider tip, ok?"
    reply = events[str(world.reply.pk)]
    assert reply["parent"] == str(world.edited.pk)
    assert reply["reactions"] == [
        {"value": "👍", "count": 1, "participants": [f"U{world.alice.pk}"]}
    ]
    [attachment] = events[str(world.with_file.pk)]["attachments"]
    assert package.read(attachment["id"]) == b"quarterly numbers\n"
    assert attachment["display"] == 'numbers, "final".txt'
    assert {e["type"] for e in manifest["events"]} == {"message", "join"}
    assert manifest["conversations"][0]["type"] == "channel"


def test_a_channel_made_private_is_a_disclaimer_event_saying_from_what_to_what(
    world: World, officer, tmp_path: Path
):
    from archive.services.archiving import archive_pending
    from archive.services.checkpoints import checkpoint_create
    from eim.chat.services.administration import conversation_visibility_set

    conversation_visibility_set(actor=world.alice, conversation_id=world.channel.pk, private=True)
    archive_pending()
    checkpoint_create()
    job = run_to_end(
        services.export_create(
            user=officer, conversation_ids=[world.channel.pk], formats=["rsmf", "jsonl"]
        )
    )
    assert job.state == "done", job.error
    folder = unpacked(job, tmp_path / "received")
    [path] = [p for p in (folder / "rsmf").rglob("*.rsmf")]
    message, _, manifest = _opened(path)
    jsonschema.validate(manifest, MANIFEST_RULES, format_checker=jsonschema.FormatChecker())

    [change] = [e for e in manifest["events"] if e["type"] == "disclaimer"]
    assert change["participant"] == f"U{world.alice.pk}"
    assert change["participant"] in {p["id"] for p in manifest["participants"]}
    assert change["body"] == "Channel made private (it was public)"
    custom = {c["name"]: c["value"] for c in change["custom"]}
    assert (custom["visibility_from"], custom["visibility_to"]) == ("public", "private")
    assert manifest["events"][-1] == change  # in archive order: after every message
    lines = [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]
    updated = [r["record"] for r in lines if r["record"]["type"] == "conversation.updated"]
    assert updated[-1]["payload"]["visibility"] == {"from": "public", "to": "private"}
    preview = message.get_body(preferencelist=("plain",)).get_content()
    assert "Channel made private (it was public)" in preview
