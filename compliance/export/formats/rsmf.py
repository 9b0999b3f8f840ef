"""RSMF 2.0 (Relativity Short Message Format), the e-discovery platforms' format for chat.

One `.rsmf` file per conversation and UTC day (a new file after MAX_EVENTS events of one day):
`rsmf/<conversation id>/<YYYY-MM-DD>[-<n>].rsmf`. Each is an RFC 5322 message with the
`X-RSMF-*` headers (`X-RSMF-Version: 2.0.0` required; generator, begin and end dates, event
count, event collection id), a plain-text preview, and exactly one attachment, base64, named
`rsmf.zip`, holding `rsmf_manifest.json` at its root and the attachments the events name.

The manifest follows Relativity's 2.0.0 schema: participants (`U<user id>`), conversations
(`C<conversation id>`, `channel` or `direct`, the members at the slice's first event) and
events of type message, join and leave (and disclaimer: a channel made private or public).
A message event carries its latest text, its edits
(previous/new with who and when), `deleted`, its reactions as they stand (value, count,
participants), its attachments (when included: files in the zip), and its thread `parent`
when the parent is in the same file (else a custom `thread_parent`); a message exported as
context around a hit has the custom field `eim_context` true. `eventcollectionid` keeps the
slices of one conversation together. Built after the record steps, conversation by
conversation, from the archive up to the job's checkpoint (memory: one slice); each
conversation's files depend on its records alone, so the step processes write them, a
conversation each at a time (`files_in_step_processes`, docs/export.md).
"""

import base64
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from archive.blobs import blob_store
from archive.selectors import (
    MESSAGE_DELETED,
    MESSAGE_EDITED,
    MESSAGE_NEW,
    ArchivedEvent,
)

from .base import (
    ArchiveLookups,
    ConversationReader,
    ExportedRecord,
    ExportFormat,
    conversation_records,
)
from .mime import base64_lines, date_header

VERSION = "2.0.0"
GENERATOR = "eim"
MAX_EVENTS = 5000
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _stamp(value: Any) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text.replace("+00:00", "Z")


@dataclass
class Slice:
    conversation_id: int
    day: date
    part: int
    events: list[dict[str, Any]] = field(default_factory=list)
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # zip name -> sha256
    message_ids: set[str] = field(default_factory=set)  # the messages among the events

    @property
    def path(self) -> str:
        suffix = f"-{self.part}" if self.part else ""
        return f"rsmf/{self.conversation_id}/{self.day.isoformat()}{suffix}.rsmf"


def _person(user: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    pid = f"U{user.get('id')}"
    username = str(user.get("username") or pid)
    return pid, {"id": pid, "display": str(user.get("name") or username), "account_id": username}


def _reactions(history: list[ArchivedEvent]) -> list[dict[str, Any]]:
    users: dict[str, list[str]] = {}
    for event in history:
        emoji, user = event.payload.get("emoji"), event.payload.get("user") or {}
        if not emoji or "id" not in user:
            continue
        holders = users.setdefault(str(emoji), [])
        pid = f"U{user['id']}"
        if event.type == "reaction.added" and pid not in holders:
            holders.append(pid)
        elif event.type == "reaction.removed" and pid in holders:
            holders.remove(pid)
    return [
        {"value": emoji, "count": len(pids), "participants": pids}
        for emoji, pids in users.items()
        if pids
    ]


CONVERSATION_UPDATED = "conversation.updated"


def _shown(record: ExportedRecord) -> bool:
    """Messages, joins and leaves, and a channel made private or public."""
    kind = record.row.type
    if kind == CONVERSATION_UPDATED:
        return isinstance(record.payload.get("visibility"), dict)
    return kind in (MESSAGE_NEW, "member.joined", "member.left")


def _visibility_event(piece: Slice, record: ExportedRecord) -> dict[str, Any]:
    """A channel made private or public, as JSON Lines carries it (`visibility: {from, to}`):
    a `disclaimer` event (RSMF's notice from the platform) by whoever changed it, the two
    kinds in custom fields."""
    visibility = record.payload["visibility"]
    before, after = str(visibility.get("from", "")), str(visibility.get("to", ""))
    actor = record.content.get("actor")
    pid = f"U{actor}"
    piece.people.setdefault(pid, {"id": pid})
    return {
        "type": "disclaimer",
        "participant": pid,
        "conversation": f"C{record.row.conversation_id}",
        "timestamp": _stamp(record.row.occurred_at),
        "body": f"Channel made {after} (it was {before})",
        "custom": [
            {"name": "eim_event", "value": CONVERSATION_UPDATED},
            {"name": "visibility_from", "value": before},
            {"name": "visibility_to", "value": after},
        ],
    }


class RsmfFormat(ExportFormat):
    name = "rsmf"
    files_in_step_processes = True

    def __init__(self, *, include_attachments: bool = False) -> None:
        self.include_attachments = include_attachments

    def finish_files(
        self, *, conversation_ids: Iterable[int], read: ConversationReader, lookups: ArchiveLookups
    ) -> Iterator[tuple[str, bytes, int]]:
        for conversation_id in conversation_ids:
            yield from self.conversation_files(
                conversation_id=conversation_id, read=read, lookups=lookups
            )

    def conversation_files(
        self, *, conversation_id: int, read: ConversationReader, lookups: ArchiveLookups
    ) -> Iterator[tuple[str, bytes, int]]:
        """(path, bytes, events) of each RSMF file of one conversation."""
        current: Slice | None = None
        for records in conversation_records(read, conversation_id):
            created = [r for r in records if r.row.type == MESSAGE_NEW]
            histories = lookups.histories(created, reactions=True)
            for record in records:
                row = record.row
                if not _shown(record):
                    continue
                day = row.occurred_at.date()
                if current is None or current.day != day or len(current.events) >= MAX_EVENTS:
                    if current is not None:
                        yield self._file(current, lookups)
                    part = current.part + 1 if current and current.day == day else 0
                    current = Slice(conversation_id, day, part)
                self._add(current, record, histories)
        if current is not None:
            yield self._file(current, lookups)

    def _add(
        self, piece: Slice, record: ExportedRecord, histories: dict[int, list[ArchivedEvent]]
    ) -> None:
        row = record.row
        content = record.content
        if not piece.events:
            piece.members = [f"U{i}" for i in content.get("audience") or ()]
        conversation = f"C{row.conversation_id}"
        if row.type == CONVERSATION_UPDATED:
            piece.events.append(_visibility_event(piece, record))
            return
        if row.type != MESSAGE_NEW:
            pid, person = _person((content.get("payload") or {}).get("user") or {})
            piece.people.setdefault(pid, person)
            kind = "join" if row.type == "member.joined" else "leave"
            piece.events.append(
                {
                    "type": kind,
                    "participant": pid,
                    "conversation": conversation,
                    "timestamp": _stamp(row.occurred_at),
                }
            )
            return
        event = self._message(piece, histories[int(row.message_id or 0)])
        if record.context:
            event["custom"].append({"name": "eim_context", "value": "true"})
        piece.events.append(event)
        piece.message_ids.add(event["id"])

    def _message(self, piece: Slice, history: list[ArchivedEvent]) -> dict[str, Any]:
        original = history[0]
        message = original.message
        pid, person = _person(message.get("author") or {"id": original.actor_id})
        piece.people.setdefault(pid, person)
        event: dict[str, Any] = {
            "id": str(original.message_id),
            "type": "message",
            "participant": pid,
            "conversation": f"C{original.conversation_id}",
            "timestamp": _stamp(original.occurred_at),
            "body": str(message.get("body", "")),
        }
        edits, body = [], event["body"]
        for later in history[1:]:
            if later.type == MESSAGE_EDITED:
                editor, who = _person(later.message.get("author") or {"id": later.actor_id})
                piece.people.setdefault(editor, who)
                new = str(later.message.get("body", ""))
                edit = {"participant": editor, "timestamp": _stamp(later.occurred_at)}
                edits.append({**edit, "previous": body, "new": new})
                body = new
            elif later.type == MESSAGE_DELETED:
                event["deleted"] = True
        event["body"] = body
        if edits:
            event["edits"] = edits
        reactions = _reactions(history)
        for reaction in reactions:
            for reactor in reaction["participants"]:
                piece.people.setdefault(reactor, {"id": reactor})
        if reactions:
            event["reactions"] = reactions
        custom = [{"name": "eim_archive_seqs", "value": ", ".join(str(e.seq) for e in history)}]
        parent = message.get("parent")
        if parent and str(parent) in piece.message_ids:
            event["parent"] = str(parent)
        elif parent:
            custom.append({"name": "thread_parent", "value": str(parent)})
        attachments = self._attachments(piece, message.get("attachments") or [], custom)
        if attachments:
            event["attachments"] = attachments
        event["custom"] = custom
        return event

    def _attachments(
        self, piece: Slice, attachments: list[dict[str, Any]], custom: list[dict[str, str]]
    ) -> list[dict[str, Any]]:
        listed = []
        for attachment in attachments:
            sha, name = str(attachment.get("sha256", "")), str(attachment.get("filename", ""))
            if self.include_attachments and sha and blob_store().exists(sha):
                zip_name = sha + (f".{name.rsplit('.', 1)[-1]}" if "." in name else "")
                piece.files[zip_name] = sha
                listed.append({"id": zip_name, "display": name, "size": attachment.get("size", 0)})
            else:
                custom.append({"name": "attachment_not_included", "value": f"{name} {sha}"})
        return listed

    def _file(self, piece: Slice, lookups: ArchiveLookups) -> tuple[str, bytes, int]:
        cid = piece.conversation_id
        for member in piece.members:
            piece.people.setdefault(member, {"id": member})
        for pid, person in piece.people.items():
            if "display" not in person:
                username = lookups.usernames(cid, [int(pid[1:])])[0]
                person.update(display=username, account_id=username)
        name = lookups.conversation_name(cid)
        manifest = {
            "version": VERSION,
            "eventcollectionid": f"eim-conversation-{cid}",
            "participants": [piece.people[p] for p in sorted(piece.people)],
            "conversations": [
                {
                    "id": f"C{cid}",
                    "display": f"#{name}" if name else f"direct conversation {cid}",
                    "platform": "eim",
                    "type": "channel" if name else "direct",
                    "participants": piece.members or sorted(piece.people),
                }
            ],
            "events": piece.events,
        }
        return (
            piece.path,
            _rsmf_message(piece, manifest, _zip(manifest, piece.files)),
            len(piece.events),
        )


def _zip(manifest: dict[str, Any], files: dict[str, str]) -> bytes:
    """The rsmf.zip, byte for byte the same for the same content (fixed times, sorted)."""
    buffer = io.BytesIO()
    # Compact: the C encoder (an indented manifest takes the pure-Python one, 5 times slower).
    body = json.dumps(manifest, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("rsmf_manifest.json", _ZIP_TIME), body)
        for zip_name, sha in sorted(files.items()):
            with blob_store().open(sha) as stream:
                archive.writestr(zipfile.ZipInfo(zip_name, _ZIP_TIME), stream.read())
    return buffer.getvalue()


def _rsmf_message(piece: Slice, manifest: dict[str, Any], package: bytes) -> bytes:
    events = manifest["events"]
    stamps = sorted(e["timestamp"] for e in events)
    conversation = manifest["conversations"][0]["display"]
    people = {p["id"]: p.get("display", p["id"]) for p in manifest["participants"]}
    preview = [f"{conversation}, {piece.day.isoformat()} (UTC): {len(events)} events", ""]
    for event in events:
        who = people.get(event.get("participant", ""), "")
        shown = event["type"] in ("message", "disclaimer")
        text = event.get("body", "") if shown else f"[{event['type']}]"
        preview.append(f"{event['timestamp']} {who}: {text}")
    text = base64_lines("\n".join(preview).encode())
    boundary = f"==eim-rsmf-{piece.conversation_id}-{piece.day.isoformat()}-{piece.part}=="
    first = stamps[0] if stamps else ""
    head = (
        f"From: eim archive <archive@{GENERATOR}.invalid>\r\n"
        f"To: {conversation.lstrip('#') or 'conversation'} <conversation-"
        f"{piece.conversation_id}@{GENERATOR}.invalid>\r\n"
        f"Subject: =?utf-8?b?{base64.b64encode(conversation.encode()).decode()}?=\r\n"
        f"Date: {date_header(_first_moment(piece))}\r\n"
        f"Message-ID: <rsmf-{piece.conversation_id}-{piece.day.isoformat()}-{piece.part}"
        f"@{GENERATOR}.invalid>\r\n"
        f"X-RSMF-Version: {VERSION}\r\n"
        f"X-RSMF-Generator: {GENERATOR}\r\n"
        f"X-RSMF-BeginDate: {first}\r\n"
        f"X-RSMF-EndDate: {stamps[-1] if stamps else ''}\r\n"
        f"X-RSMF-EventCount: {len(events)}\r\n"
        f"X-RSMF-EventCollectionID: {manifest['eventcollectionid']}\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
    )
    zipped = base64_lines(package)
    body = (
        f"--{boundary}\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        f"{text}--{boundary}\r\n"
        "Content-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="rsmf.zip"\r\n\r\n'
        f"{zipped}--{boundary}--\r\n"
    )
    return (head + body).encode()


def _first_moment(piece: Slice) -> Any:
    from datetime import UTC, datetime, time

    first = min((e["timestamp"] for e in piece.events), default=None)
    if first:
        return datetime.fromisoformat(first.replace("Z", "+00:00"))
    return datetime.combine(piece.day, time(), UTC)
