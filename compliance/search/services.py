"""Compliance search, version history and context: compliance officers only, all audited.

Each function checks the caller's role first (a refusal changes and records nothing), then
reads and records its AuditEvent in one transaction: no result leaves without its audit.
"""

from typing import Any

from django.db import transaction

from accounts.models import User
from archive import selectors as archive_selectors
from archive.exposure import Access, membership_periods, message_exposure, version_readers
from archive.selectors import MESSAGE_DELETED, MESSAGE_EDITED, MESSAGE_NEW, ArchivedEvent
from audit.models import AuditEventType
from audit.services import audit_event_record

from ..access import require_compliance_officer
from ..errors import ComplianceError, ComplianceErrorCode
from .backends import search_backend
from .paging import search_request_check
from .payloads import page_payload
from .query import print_query
from .results import Scope

MAX_CONTEXT = 50
_KINDS = {MESSAGE_NEW: "original", MESSAGE_EDITED: "edit", MESSAGE_DELETED: "deleted"}


def compliance_search(
    *,
    user: User,
    query: str,
    order: str = "newest",
    cursor: str | None = None,
    limit: int = 50,
    facets: bool = False,
) -> dict[str, Any]:
    """Every version of every message, edited and deleted ones included; facets if asked.

    Facets read every match (seconds for a common word in a large archive), so they are
    computed only when asked for. The count stops at COUNT_CAP (`count_exact` false then),
    and the audit records it as the page reported it.

    A query that cannot be read is refused (ComplianceError with its position) before
    anything runs, and is not audited: nothing was searched and nothing was shown.
    """
    require_compliance_officer(user=user)
    request = search_request_check(query=query, order=order, cursor=cursor, limit=limit)
    backend = search_backend()
    with transaction.atomic():
        page = backend.search(
            request.tree,
            scope=Scope.everything(),
            order=request.order,
            after=request.after,
            limit=request.limit,
            facets=facets,
        )
        audit_event_record(
            actor=user,
            event_type=AuditEventType.SEARCH_RUN,
            details={
                "query": request.text,
                "canonical": print_query(request.tree),
                "order": request.order.value,
                "cursor": cursor or None,
                "limit": request.limit,
                "result_count": page.count,
                "result_count_exact": page.count_exact,
                "backend": backend.name,
            },
        )
        return page_payload(page, order=request.order)


def _author(event: ArchivedEvent) -> dict[str, Any]:
    author = event.message.get("author") or {}
    return {
        "id": author.get("id", event.actor_id),
        "username": author.get("username", ""),
        "name": author.get("name") or author.get("username", ""),
    }


def _version_payload(
    event: ArchivedEvent, *, text: ArchivedEvent, readers: dict[int, tuple[int, ...]]
) -> dict[str, Any]:
    """One version; `text` is the record whose body it shows (a deletion shows the last).
    `audience` is what the record says; `readers`, everyone who could read that version
    (later joiners given the history included; archive.exposure)."""
    return {
        "archive_seq": event.seq,
        "message_id": event.message_id,
        "version_kind": _KINDS[event.type],
        "author": _author(text),
        "actor_id": event.actor_id,
        "body": str(text.message.get("body", "")),
        "created_at": text.message.get("created_at"),
        "occurred_at": event.occurred_at.isoformat(),
        "audience": list(event.audience),
        "readers": list(readers.get(event.seq, event.audience)),
        "is_deleted": event.type == MESSAGE_DELETED,
    }


def _versions(
    history: list[ArchivedEvent],
    *,
    up_to: int | None = None,
    readers: dict[int, tuple[int, ...]] | None = None,
) -> list[dict[str, Any]]:
    versions, text = [], None
    for event in history:
        if event.type not in _KINDS or (up_to is not None and event.seq > up_to):
            continue
        if event.type != MESSAGE_DELETED:
            text = event
        versions.append(_version_payload(event, text=text or event, readers=readers or {}))
    return versions


def _readers(history: list[ArchivedEvent]) -> dict[int, tuple[int, ...]]:
    """Who could read each version, from the conversation's membership records."""
    if not history:
        return {}
    cid = history[0].conversation_id
    records = archive_selectors.membership_events(conversation_ids=[cid]).get(cid, [])
    return version_readers(history, membership_periods(records))


def message_versions(*, user: User, message_id: int) -> dict[str, Any]:
    """A message's every version from the archive: the original, each edit, the deletion."""
    require_compliance_officer(user=user)
    history = archive_selectors.message_histories(message_ids=[message_id]).get(message_id, [])
    versions = _versions(history, readers=_readers(history))
    if not versions:
        raise ComplianceError(ComplianceErrorCode.NOT_FOUND, "no archived message with that id")
    conversation_id = history[0].conversation_id
    name = archive_selectors.conversation_names(conversation_ids=[conversation_id])[conversation_id]
    with transaction.atomic():
        audit_event_record(
            actor=user,
            event_type=AuditEventType.VERSION_HISTORY_VIEWED,
            details={"message_id": message_id, "version_count": len(versions)},
        )
    return {
        "message_id": message_id,
        "conversation": {"id": conversation_id, "name": name},
        "versions": versions,
    }


def _as_of(histories: dict[int, list[ArchivedEvent]], seq: int) -> list[dict[str, Any]]:
    """Each message as it stood at archive record `seq` (its latest version by then)."""
    shown = []
    for history in histories.values():
        versions = _versions(history, up_to=seq)
        if versions:
            shown.append(versions[-1])
    return sorted(shown, key=lambda v: v["archive_seq"])


def record_context(
    *, user: User, archive_seq: int, before: int = 5, after: int = 5
) -> dict[str, Any]:
    """The messages around an archived message record, in its conversation, as they stood
    at that record's moment (later edits and deletions not applied)."""
    require_compliance_officer(user=user)
    before, after = max(0, min(before, MAX_CONTEXT)), max(0, min(after, MAX_CONTEXT))
    record = archive_selectors.archived_event(seq=archive_seq)
    if record is None or record.type not in _KINDS or record.message_id is None:
        raise ComplianceError(ComplianceErrorCode.NOT_FOUND, "no archived message record there")
    cid = record.conversation_id
    earlier = [
        e
        for e in archive_selectors.conversation_message_events(
            conversation_id=cid, before_seq=archive_seq, limit=before + 1
        )
        if e.message_id != record.message_id
    ]
    earlier = earlier[len(earlier) - before :] if before else []
    later = archive_selectors.conversation_message_events(
        conversation_id=cid, after_seq=archive_seq, limit=after
    )
    ids = [e.message_id for e in earlier + later if e.message_id] + [record.message_id]
    histories = archive_selectors.message_histories(message_ids=ids)
    own = histories.pop(record.message_id)
    earlier_ids = {e.message_id for e in earlier}
    with transaction.atomic():
        audit_event_record(
            actor=user,
            event_type=AuditEventType.CONTEXT_VIEWED,
            details={"archive_seq": archive_seq, "before": before, "after": after},
        )
    return {
        "conversation": {
            "id": cid,
            "name": archive_selectors.conversation_names(conversation_ids=[cid])[cid],
        },
        "record": _versions(own, up_to=archive_seq)[-1],
        "before": _as_of({m: h for m, h in histories.items() if m in earlier_ids}, archive_seq),
        "after": [_versions(histories[e.message_id])[0] for e in later if e.message_id],
    }


def _access_payload(access: Access) -> dict[str, Any]:
    return {
        "user": {"id": access.user_id, "username": access.username},
        "via": access.via,
        "since": access.since.isoformat(),
        "until": access.until.isoformat() if access.until else None,
        "until_reason": access.until_reason,
        "joined_at": access.joined_at.isoformat() if access.joined_at else None,
        "version_seqs": list(access.version_seqs),
    }


def message_exposure_view(*, user: User, message_id: int) -> dict[str, Any]:
    """Everyone who could read an archived message, each with from when and until when:
    the members when it was written, members who joined later and were given the history,
    until they left, were removed, or the message was deleted. From the archive alone."""
    require_compliance_officer(user=user)
    exposure = message_exposure(message_id=message_id)
    if exposure is None:
        raise ComplianceError(ComplianceErrorCode.NOT_FOUND, "no archived message with that id")
    cid = exposure.conversation_id
    with transaction.atomic():
        audit_event_record(
            actor=user,
            event_type=AuditEventType.EXPOSURE_VIEWED,
            details={"message_id": message_id, "people_count": len(exposure.access)},
        )
    return {
        "message_id": message_id,
        "conversation": {
            "id": cid,
            "name": archive_selectors.conversation_names(conversation_ids=[cid])[cid],
        },
        "written_at": exposure.written_at.isoformat(),
        "versions": [
            {
                "archive_seq": v.archive_seq,
                "occurred_at": v.occurred_at.isoformat(),
                "replaced_at": v.ended_at.isoformat() if v.ended_at else None,
            }
            for v in exposure.versions
        ],
        "people": [_access_payload(a) for a in exposure.access],
    }
