"""The shared base of the export formats (one module per format, as Mattermost's exporters).

The runner reads the job's archive records in seq order, a chunk at a time, and hands each
chunk to every format the job asked for. A format answers with what the chunk adds: bytes
appended to one of its concatenated files (JSON Lines, CSV), whole files of their own (one
EML per message), and counts. A format keeps no state between chunks beyond caches of what
the archive says up to the job's checkpoint, so the output does not depend on where a run
was interrupted: a resumed export is byte-identical to an uninterrupted one.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from archive import selectors as archive_selectors
from archive.selectors import ArchivedEvent, RecordRow


class ExportedRecord:
    """An archive record; its canonical content is parsed when a format first asks."""

    __slots__ = ("_content", "context", "listed", "row")

    def __init__(self, row: RecordRow, *, context: bool = False, listed: bool = True) -> None:
        self.row = row
        # Exported as context around a hit; not listed: a version that "only the latest
        # version" leaves out, passed along only so that message formats place the message.
        self.context = context
        self.listed = listed
        self._content: dict[str, Any] | None = None

    @classmethod
    def of(cls, row: RecordRow, context: bool = False, listed: bool = True) -> "ExportedRecord":
        return cls(row, context=context, listed=listed)

    @property
    def content(self) -> dict[str, Any]:
        if self._content is None:
            self._content = parsed(self.row.canonical)
        return self._content

    @property
    def payload(self) -> dict[str, Any]:
        payload = self.content.get("payload")
        return payload if isinstance(payload, dict) else {}

    @property
    def message(self) -> dict[str, Any]:
        message = self.payload.get("message")
        return message if isinstance(message, dict) else {}

    @property
    def audience(self) -> list[int]:
        return [int(i) for i in self.content.get("audience") or ()]


def parsed(text: bytes) -> Any:
    """A record's canonical JSON (its UTF-8 bytes), the values `json.loads` reads from it, in
    half its time (`json` was a quarter of a CSV export's CPU).

    orjson reads the text, and its values are kept when orjson writes them back (keys sorted)
    as the very text: `json` reads that text as those values too. A text orjson reads
    otherwise (an integer past 64 bits, which it makes a float, written back with a point) or
    not at all (NaN, an escaped lone surrogate), or that is not written as orjson writes (any
    text but canonical JSON) is read by `json` (tested)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    if orjson.dumps(value, option=orjson.OPT_SORT_KEYS) != text:
        return json.loads(text)
    return value


@dataclass
class ChunkOutput:
    appends: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class ArchiveLookups:
    """Names as the archive recorded them up to the job's checkpoint, cached per run."""

    def __init__(self, *, tree_size: int, latest_only: bool = False) -> None:
        self.tree_size = tree_size
        self.latest_only = latest_only
        self._names: dict[int, str] = {}
        self._usernames: dict[int, dict[int, str]] = {}

    def conversation_name(self, conversation_id: int) -> str:
        if conversation_id not in self._names:
            self._names.update(
                archive_selectors.conversation_names(
                    conversation_ids=[conversation_id], up_to_seq=self.tree_size
                )
            )
        return self._names[conversation_id]

    def usernames(self, conversation_id: int, user_ids: Iterable[int]) -> list[str]:
        if conversation_id not in self._usernames:
            self._usernames[conversation_id] = archive_selectors.member_usernames(
                conversation_ids=[conversation_id], up_to_seq=self.tree_size
            )
        known = self._usernames[conversation_id]
        return [known.get(i, f"user-{i}") for i in user_ids]

    def histories(
        self, created: Iterable[ExportedRecord], *, reactions: bool = False
    ) -> dict[int, list[ArchivedEvent]]:
        """Every record of each of these messages (given by their creation records, already
        read): versions, deletion, attachments, and reactions if asked, up to the checkpoint,
        in seq order; under "only the latest version", the latest version first and no
        version it superseded. Only the records after the creation are read again."""
        anchors = {int(r.row.message_id or 0): r for r in created}
        later = [*LATER_TYPES, *(REACTION_TYPES if reactions else ())]
        found = archive_selectors.later_records(
            message_ids=anchors, types=later, up_to_seq=self.tree_size
        )
        kept = {}
        for mid, record in anchors.items():
            first = archive_selectors.archived_event_of(record.row, record.content)
            kept[mid] = [first, *found.get(mid, ())]
        if self.latest_only:
            kept = {mid: _latest_version(events) for mid, events in kept.items()}
        return kept


LATER_TYPES = (
    archive_selectors.MESSAGE_EDITED,
    archive_selectors.MESSAGE_DELETED,
    archive_selectors.ATTACHMENT_ADDED,
)
REACTION_TYPES = ("reaction.added", "reaction.removed")


def _latest_version(history: list[ArchivedEvent]) -> list[ArchivedEvent]:
    versions = [e for e in history if e.type in archive_selectors.VERSION_TYPES]
    if not versions:
        return history
    return [versions[-1], *(e for e in history if e.type not in archive_selectors.VERSION_TYPES)]


class ExportFormat:
    """One format: its name, the concatenated files it writes, and what a chunk adds."""

    name: str = ""
    #: The files of the export folder that chunks append to (assembled from the parts).
    appended: tuple[str, ...] = ()
    #: Numbers its documents on from the steps before (`begin`): its steps are written one
    #: after another, never in parallel processes.
    numbers_across_steps: bool = False
    #: Its `finish_files` may be written by the step processes, a few conversations each
    #: (each conversation's files depend on that conversation's records alone).
    files_in_step_processes: bool = False

    def head(self) -> ChunkOutput:
        """Written once, before the first record (a CSV's header)."""
        return ChunkOutput()

    def begin(self, counts: dict[str, int]) -> None:
        """Called before each chunk with the job's counts as committed before it (a format
        that numbers its documents across chunks starts from there)."""

    def chunk(self, records: list[ExportedRecord], lookups: ArchiveLookups) -> ChunkOutput:
        return ChunkOutput()

    def finish_files(
        self,
        *,
        conversation_ids: Iterable[int],
        read: "ConversationReader",
        lookups: ArchiveLookups,
    ) -> Iterator[tuple[str, bytes, int]]:
        """Files written after the record steps, conversation by conversation: (path, bytes,
        items). For formats that group a conversation's messages (RSMF, PDF)."""
        return iter(())


#: read(conversation_id, after_seq, limit): the job's next records of one conversation.
ConversationReader = Callable[[int, int, int], list[ExportedRecord]]

#: Records read at a time by the formats that go conversation by conversation.
CONVERSATION_BATCH = 2000


def conversation_records(
    read: ConversationReader, conversation_id: int
) -> Iterator[list[ExportedRecord]]:
    """The job's records of one conversation, a batch at a time, in seq order."""
    after = 0
    while batch := read(conversation_id, after, CONVERSATION_BATCH):
        yield batch
        after = batch[-1].row.seq
