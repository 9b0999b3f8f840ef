"""PDF transcripts (WeasyPrint): one per conversation and UTC day, `pdf/<conversation id>/
<YYYY-MM-DD>[-<n>].pdf` (a new file after MAX_MESSAGES messages of one day).

A readable transcript: a running header (conversation and period) and footer (export id, page
X of Y), each message with its author's name, UTC time and archive seq on its first line and
its text indented under it; edits shown with the text before them, deletions as such with the
text the message had; attachments listed with their SHA-256; thread replies indented and
marked with the message they answer; joins and leaves.

Speed (docs/performance.md, "PDF transcripts"): WeasyPrint's time goes to laying out and
drawing lines of text, then to the boxes around them, so each message is one `<p>` with no
inline element in it (the hanging indent sets the author's line apart, not a bold name), no
tables or flex, two margin boxes a page rather than four, one font stack (Noto, with the CJK
face for Chinese, Japanese and Korean), no hyphenation, and the transcript's own small
user-agent stylesheet (pdf_render.py). Rendering runs in EIM_EXPORT_PDF_WORKERS child
processes (pdf_render.py), one document each at a time, in order. Fonts: Debian's
fonts-noto-core and fonts-noto-cjk (docs/export.md, "Deploying").
"""

import html
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from archive.selectors import MESSAGE_DELETED, MESSAGE_EDITED, MESSAGE_NEW, ArchivedEvent

from .base import ArchiveLookups, ConversationReader, ExportFormat, conversation_records
from .pdf_render import render_all

MAX_MESSAGES = 2000

STYLE = """
@page { size: A4; margin: 22mm 16mm 18mm;
  @top-left { content: string(title) "  ·  " string(period); font-size: 8pt; color: #555;
    width: 100%; }
  @bottom-left { content: "export " string(export) "  ·  page " counter(page) " of "
    counter(pages); font-size: 8pt; color: #555; width: 100%; } }
html { font-family: "Noto Sans", "Noto Sans CJK JP", "Noto Sans CJK SC", sans-serif;
  font-size: 9.5pt; line-height: 1.35; hyphens: manual; }
h1 { font-size: 13pt; margin: 0 0 2mm; string-set: title content(); }
p.period { string-set: period content(); margin: 0; color: #444; }
p.export { string-set: export content(); margin: 0 0 4mm; color: #777; font-size: 8pt; }
p { margin: 0 0 1.6mm; white-space: pre-wrap; overflow-wrap: anywhere; }
p.m, p.r { padding-left: 6mm; text-indent: -6mm; }
p.x { color: #666; font-style: italic; }
p.v { margin-left: 12mm; color: #555; }
p.w { margin-left: 18mm; }
p.d { color: #a01010; }
p.r { margin-left: 6mm; }
p.c { color: #555; }
"""


def _t(value: Any) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text.replace("+00:00", "Z")[:19].replace("T", " ")


@dataclass
class Transcript:
    conversation_id: int
    day: date
    part: int
    blocks: list[str] = field(default_factory=list)
    messages: int = 0

    @property
    def path(self) -> str:
        suffix = f"-{self.part}" if self.part else ""
        return f"pdf/{self.conversation_id}/{self.day.isoformat()}{suffix}.pdf"


def _message_blocks(history: list[ArchivedEvent], *, context: bool = False) -> list[str]:
    original = history[0]
    message = original.message
    author = message.get("author") or {}
    name = html.escape(str(author.get("name") or author.get("username") or original.actor_id))
    parent = message.get("parent")
    css = ("r" if parent else "m") + (" c" if context else "")
    reply = f" ↳ reply to message {parent}" if parent else ""
    marker = " · context" if context else ""
    head = f"{name} · {_t(original.occurred_at)} UTC · seq {original.seq}{reply}{marker}"
    blocks = [f'<p class="{css}">{head}\n{html.escape(str(message.get("body", "")))}</p>']
    under = "v w" if parent else "v"
    for later in history[1:]:
        when = f"{_t(later.occurred_at)} UTC · seq {later.seq}"
        if later.type == MESSAGE_EDITED:
            text = html.escape(str(later.message.get("body", "")))
            blocks.append(f'<p class="{under}">edited {when}:\n{text}</p>')
        elif later.type == MESSAGE_DELETED:
            blocks.append(
                f'<p class="{under} d">deleted {when} (the text above is what it said)</p>'
            )
    for attachment in message.get("attachments") or []:
        blocks.append(
            f'<p class="{under}">attachment {html.escape(str(attachment.get("filename", "")))} '
            f"({attachment.get('size', 0)} bytes) SHA-256 {attachment.get('sha256', '')}</p>"
        )
    return blocks


class PdfFormat(ExportFormat):
    name = "pdf"

    def __init__(self, *, export_id: str = "", workers: int = 0) -> None:
        self.export_id = export_id
        self.workers = workers

    def finish_files(
        self, *, conversation_ids: Iterable[int], read: ConversationReader, lookups: ArchiveLookups
    ) -> Iterator[tuple[str, bytes, int]]:
        documents = (
            document
            for conversation_id in conversation_ids
            for document in self._conversation(conversation_id, read, lookups)
        )
        for (path, messages), pdf in render_all(documents, workers=self.workers):
            yield path, pdf, messages

    def _conversation(
        self, conversation_id: int, read: ConversationReader, lookups: ArchiveLookups
    ) -> Iterator[tuple[tuple[str, int], str]]:
        current: Transcript | None = None
        for records in conversation_records(read, conversation_id):
            histories = lookups.histories(r for r in records if r.row.type == MESSAGE_NEW)
            for record in records:
                row = record.row
                if row.type not in (MESSAGE_NEW, "member.joined", "member.left"):
                    continue
                day = row.occurred_at.date()
                full = current is not None and current.messages >= MAX_MESSAGES
                if current is None or current.day != day or full:
                    if current is not None:
                        yield self._render(current, lookups)
                    part = current.part + 1 if current and current.day == day else 0
                    current = Transcript(conversation_id, day, part)
                if row.type == MESSAGE_NEW:
                    history = histories[int(row.message_id or 0)]
                    current.blocks += _message_blocks(history, context=record.context)
                    current.messages += 1
                else:
                    user = (json.loads(row.canonical).get("payload") or {}).get("user") or {}
                    verb = "joined" if row.type == "member.joined" else "left"
                    who = html.escape(str(user.get("name") or user.get("username", "")))
                    current.blocks.append(
                        f'<p class="x">{who} {verb} · {_t(row.occurred_at)} UTC</p>'
                    )
        if current is not None:
            yield self._render(current, lookups)

    def _render(
        self, transcript: Transcript, lookups: ArchiveLookups
    ) -> tuple[tuple[str, int], str]:
        """((path, messages), the transcript's HTML), rendered by `render_all`."""
        name = lookups.conversation_name(transcript.conversation_id)
        title = f"#{name}" if name else f"direct conversation {transcript.conversation_id}"
        suffix = f", part {transcript.part + 1}" if transcript.part else ""
        document = (
            f"<html><head><meta charset='utf-8'><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>"
            f'<p class="period">{transcript.day.isoformat()} (UTC){suffix}</p>'
            f'<p class="export">{html.escape(self.export_id)}</p>'
            + "".join(transcript.blocks)
            + "</body></html>"
        )
        return (transcript.path, transcript.messages), document
