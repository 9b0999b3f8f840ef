"""Who could see a message, and from when to when, worked out from archive records alone.

A record's `audience` says who could see the event when it happened; it is never changed. A
member who joins later may also read what came before (docs/adr/0004): their member.joined
record says from which conversation seq (`history_from_seq`). So who could see a message is
computed from the message's records and its conversation's later member.joined and
member.left records: the members when each version was written, and every member whose
history reached back to the message while a version was the current one.

Records written before joins said where the history starts have no `history_from_seq`:
the history read then gave every member the whole history, so such a join counts from 1.

Everything here is pure: it takes archived events and returns values, so the search indexer
and the compliance view answer the same question the same way.
"""

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from .selectors import (
    MESSAGE_DELETED,
    MESSAGE_NEW,
    VERSION_TYPES,
    ArchivedEvent,
    membership_events,
    message_histories,
)

MEMBER_JOINED = "member.joined"
MEMBER_LEFT = "member.left"
MEMBERSHIP_TYPES = (MEMBER_JOINED, MEMBER_LEFT)


@dataclass(frozen=True, slots=True)
class MembershipPeriod:
    """One stretch of one person's membership of a conversation, as the archive recorded it."""

    user_id: int
    username: str
    joined_seq: int  # conversation seq of the member.joined record
    joined_at: datetime
    history_from_seq: int  # the first conversation seq this membership could read
    left_seq: int | None = None
    left_at: datetime | None = None
    left_reason: str | None = None  # "left" | "removed"


@dataclass(frozen=True, slots=True)
class VersionSpan:
    """A version of a message and how long it was the current one."""

    archive_seq: int
    conversation_seq: int
    occurred_at: datetime
    ended_seq: int | None  # conversation seq of the edit or deletion that replaced it
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Access:
    """One person's access to a message, for one stretch of their membership."""

    user_id: int
    username: str
    # "audience": in the conversation when the message was written; "history": joined later
    # and was given the history; "recorded": a record's audience names them, no join does.
    via: str
    since: datetime
    until: datetime | None  # None: they can still read it
    until_reason: str | None  # "left" | "removed" | "deleted" | None
    joined_at: datetime | None
    version_seqs: tuple[int, ...]  # archive seqs of the versions they could read


def membership_periods(events: Iterable[ArchivedEvent]) -> list[MembershipPeriod]:
    """The membership stretches of one conversation from its member.joined / member.left
    records (in seq order)."""
    open_periods: dict[int, MembershipPeriod] = {}
    periods: list[MembershipPeriod] = []
    for event in events:
        user = event.payload.get("user") or {}
        if "id" not in user:
            continue
        user_id = int(user["id"])
        if event.type == MEMBER_JOINED and user_id not in open_periods:
            history_from = event.payload.get("history_from_seq")
            open_periods[user_id] = MembershipPeriod(
                user_id=user_id,
                username=str(user.get("username", "")),
                joined_seq=event.conversation_seq,
                joined_at=event.occurred_at,
                history_from_seq=int(history_from) if history_from is not None else 1,
            )
        elif event.type == MEMBER_LEFT and user_id in open_periods:
            period = open_periods.pop(user_id)
            periods.append(
                MembershipPeriod(
                    user_id=period.user_id,
                    username=period.username,
                    joined_seq=period.joined_seq,
                    joined_at=period.joined_at,
                    history_from_seq=period.history_from_seq,
                    left_seq=event.conversation_seq,
                    left_at=event.occurred_at,
                    left_reason=str(event.payload.get("reason") or "left"),
                )
            )
    periods.extend(open_periods.values())
    return sorted(periods, key=lambda p: (p.joined_seq, p.user_id))


def version_spans(history: list[ArchivedEvent]) -> list[VersionSpan]:
    """The message's versions (original, edits) and when each stopped being current."""
    versions = [e for e in history if e.type in VERSION_TYPES]
    ends = [e for e in history if e.type in VERSION_TYPES or e.type == MESSAGE_DELETED]
    spans = []
    for version in versions:
        later = [e for e in ends if e.conversation_seq > version.conversation_seq]
        end = min(later, key=lambda e: e.conversation_seq) if later else None
        spans.append(
            VersionSpan(
                archive_seq=version.seq,
                conversation_seq=version.conversation_seq,
                occurred_at=version.occurred_at,
                ended_seq=end.conversation_seq if end else None,
                ended_at=end.occurred_at if end else None,
            )
        )
    return spans


def _could_read(period: MembershipPeriod, span: VersionSpan, message_seq: int) -> bool:
    """A membership could read a version if its history reaches back to the message and it
    overlapped the time the version was current."""
    reaches = period.history_from_seq <= message_seq
    joined_in_time = span.ended_seq is None or period.joined_seq < span.ended_seq
    stayed_long_enough = period.left_seq is None or period.left_seq > span.conversation_seq
    return reaches and joined_in_time and stayed_long_enough


def _message_seq(history: list[ArchivedEvent]) -> int:
    first = next((e for e in history if e.type == MESSAGE_NEW), None)
    versions = [e for e in history if e.type in VERSION_TYPES]
    return (first or versions[0]).conversation_seq


def version_readers(
    history: list[ArchivedEvent], periods: Iterable[MembershipPeriod]
) -> dict[int, tuple[int, ...]]:
    """Archive seq of each version -> ids of everyone who could read it: its recorded
    audience, and every membership whose history reached it while it was current."""
    versions = {e.seq: e for e in history if e.type in VERSION_TYPES}
    if not versions:
        return {}
    message_seq = _message_seq(history)
    # Members who joined before a version was written are in its recorded audience (or had
    # left, or lack the history): only later joins can add a reader. Sorted by join, so a
    # message of a channel with thousands of joins looks only at the joins after it.
    later = sorted(periods, key=lambda p: p.joined_seq)
    joins = [p.joined_seq for p in later]
    readers: dict[int, tuple[int, ...]] = {}
    for span in version_spans(history):
        ids = set(versions[span.archive_seq].audience)
        candidates = later[bisect_right(joins, span.conversation_seq) :]
        ids.update(p.user_id for p in candidates if _could_read(p, span, message_seq))
        readers[span.archive_seq] = tuple(sorted(ids))
    return readers


def message_access(
    history: list[ArchivedEvent],
    periods: Iterable[MembershipPeriod],
    usernames: Mapping[int, str] | None = None,
) -> list[Access]:
    """Everyone who could read the message, one entry per stretch of membership, in the
    order their access began."""
    spans = version_spans(history)
    if not spans:
        return []
    message_seq = _message_seq(history)
    written_at = spans[0].occurred_at
    deletion = next((e for e in history if e.type == MESSAGE_DELETED), None)
    accesses: list[Access] = []
    for period in periods:
        seen = tuple(s.archive_seq for s in spans if _could_read(period, s, message_seq))
        if seen:
            accesses.append(_access(period, seen, message_seq, written_at, deletion))
    accesses += _recorded_only(history, spans, accesses, usernames or {})
    return sorted(accesses, key=lambda a: (a.since, a.username, a.user_id))


def _access(
    period: MembershipPeriod,
    seen: tuple[int, ...],
    message_seq: int,
    written_at: datetime,
    deletion: ArchivedEvent | None,
) -> Access:
    present = period.joined_seq < message_seq
    until, reason = period.left_at, period.left_reason
    if deletion is not None and (
        period.left_seq is None or deletion.conversation_seq < period.left_seq
    ):
        until, reason = deletion.occurred_at, "deleted"
    return Access(
        user_id=period.user_id,
        username=period.username,
        via="audience" if present else "history",
        since=written_at if present else period.joined_at,
        until=until,
        until_reason=reason,
        joined_at=period.joined_at,
        version_seqs=seen,
    )


def _recorded_only(
    history: list[ArchivedEvent],
    spans: list[VersionSpan],
    accesses: list[Access],
    usernames: Mapping[int, str],
) -> list[Access]:
    """People a version's audience names for whom no membership record accounts: the record
    is the evidence, so they are listed, never dropped."""
    known = {a.user_id for a in accesses}
    versions = {e.seq: e for e in history if e.type in VERSION_TYPES}
    extra: dict[int, list[VersionSpan]] = {}
    for span in spans:
        for user_id in versions[span.archive_seq].audience:
            if user_id not in known:
                extra.setdefault(user_id, []).append(span)
    return [
        Access(
            user_id=user_id,
            username=usernames.get(user_id, ""),
            via="recorded",
            since=seen[0].occurred_at,
            until=None,
            until_reason=None,
            joined_at=None,
            version_seqs=tuple(s.archive_seq for s in seen),
        )
        for user_id, seen in extra.items()
    ]


@dataclass(frozen=True, slots=True)
class MessageExposure:
    message_id: int
    conversation_id: int
    message_seq: int  # the message's conversation seq
    written_at: datetime
    versions: list[VersionSpan]
    access: list[Access]


def message_exposure(*, message_id: int) -> MessageExposure | None:
    """Who could read an archived message, with times; None if the archive has no message
    with that id. Read from the records only, which never change: a later join adds to the
    answer because it adds a record, not because anything is rewritten."""
    history = message_histories(message_ids=[message_id]).get(message_id, [])
    spans = version_spans(history)
    if not spans:
        return None
    conversation_id = history[0].conversation_id
    events = membership_events(conversation_ids=[conversation_id]).get(conversation_id, [])
    periods = membership_periods(events)
    usernames = {p.user_id: p.username for p in periods}
    return MessageExposure(
        message_id=message_id,
        conversation_id=conversation_id,
        message_seq=_message_seq(history),
        written_at=spans[0].occurred_at,
        versions=spans,
        access=message_access(history, periods, usernames),
    )
