"""Archive records to search documents: one per message version, keyed by archive_seq.

A message's versions are its `message.new` record (the original) and each `message.edited`
record. A deletion adds no document: it sets `is_deleted` on every version, so the text a
deleted message had stays findable (the contract in `query.compile_postgres`). Message-wide
flags are computed from the message's whole archived history, so building the documents of
a message twice, or in any order, gives the same documents.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from archive.exposure import MembershipPeriod, version_readers
from archive.selectors import (
    ATTACHMENT_ADDED,
    MESSAGE_DELETED,
    MESSAGE_EDITED,
    MESSAGE_NEW,
    MESSAGE_TYPES,
    VERSION_TYPES,
    ArchivedEvent,
)


class ReviewFacts(Protocol):
    """A message's scanning and review, as compliance.review.selectors.review_facts says."""

    flagged: bool
    policies: set[str]
    states: set[str]


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """One row of the search table / one document of the search index."""

    archive_seq: int
    message_id: int
    version_kind: str  # "original" | "edit"
    conversation_id: int
    conversation_name: str
    author_id: int
    author_username: str
    audience_ids: tuple[int, ...]
    audience_usernames: tuple[str, ...]
    occurred_at: datetime
    created_at: datetime
    body: str
    is_edited: bool = False
    is_deleted: bool = False
    has_attachment: bool = False
    is_flagged: bool = False
    policies: tuple[str, ...] = ()
    review_states: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IndexBatch:
    """What one indexing step writes: whole messages, and conversations renamed."""

    documents: list[SearchDocument] = field(default_factory=list)
    # conversation id -> its new channel name, applied to every row of the conversation
    renamed: dict[int, str] = field(default_factory=dict)


def message_documents(
    history: list[ArchivedEvent],
    *,
    conversation_name: str,
    usernames: Mapping[int, str],
    periods: Iterable[MembershipPeriod] = (),
    review: ReviewFacts | None = None,
) -> list[SearchDocument]:
    """The documents of one message from all its archive records (in seq order).

    A version's audience is everyone who could read it (archive.exposure): its recorded
    audience, and the members of `periods` (the conversation's memberships) who joined later
    and were given the history while it was current.
    """
    versions = [e for e in history if e.type in VERSION_TYPES]
    if not versions:
        return []
    readers = version_readers(history, periods)
    first = next((e for e in versions if e.type == MESSAGE_NEW), versions[0]).message
    author = first.get("author") or {}
    types = {e.type for e in history}
    attached = any(e.message.get("attachments") for e in versions)
    has_attachment = ATTACHMENT_ADDED in types or attached
    return [
        SearchDocument(
            archive_seq=event.seq,
            message_id=int(event.message_id or first["id"]),
            version_kind="original" if event.type == MESSAGE_NEW else "edit",
            conversation_id=event.conversation_id,
            conversation_name=conversation_name,
            author_id=int(author.get("id") or event.actor_id or 0),
            author_username=str(author.get("username", "")).lower(),
            audience_ids=readers[event.seq],
            audience_usernames=tuple(
                sorted({usernames[i] for i in readers[event.seq] if i in usernames})
            ),
            occurred_at=event.occurred_at,
            created_at=_created_at(first, default=event.occurred_at),
            body=str(event.message.get("body", "")),
            is_edited=MESSAGE_EDITED in types,
            is_deleted=MESSAGE_DELETED in types,
            has_attachment=has_attachment,
            is_flagged=bool(review and review.flagged),
            policies=tuple(sorted(review.policies)) if review else (),
            review_states=tuple(sorted(review.states)) if review else (),
        )
        for event in versions
    ]


def _created_at(message: Mapping[str, object], *, default: datetime) -> datetime:
    value = message.get("created_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else default


def touched_message_ids(events: Iterable[ArchivedEvent]) -> set[int]:
    return {e.message_id for e in events if e.message_id is not None and e.type in MESSAGE_TYPES}


def history_grants(events: Iterable[ArchivedEvent]) -> list[ArchivedEvent]:
    """The member.joined records that gave the joiner earlier messages to read: each widens
    the audience of the messages written before it in its conversation."""
    return [
        e
        for e in events
        if e.type == "member.joined"
        and int(e.payload.get("history_from_seq") or 1) < e.conversation_seq
    ]
