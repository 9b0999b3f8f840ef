"""Plain-dict shapes of search results, shared by the services, the selectors and the API."""

from typing import Any

from archive.selectors import author_names
from eim.chat.selectors import direct_conversation_people

from .results import Facets, Order, SearchHit, SearchPage, cursor_encode


def hit_payload(
    hit: SearchHit, *, author_name: str, people: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    d = hit.document
    conversation: dict[str, Any] = {"id": d.conversation_id, "name": d.conversation_name}
    if people is not None:
        conversation["people"] = people  # a direct or group message: who is in it
    return {
        "archive_seq": d.archive_seq,
        "message_id": d.message_id,
        "conversation": conversation,
        "author": {
            "id": d.author_id,
            "username": d.author_username,
            "name": author_name or d.author_username,
        },
        "body": d.body,
        "created_at": d.created_at.isoformat(),
        "occurred_at": d.occurred_at.isoformat(),
        "version_kind": d.version_kind,
        "is_edited": d.is_edited,
        "is_deleted": d.is_deleted,
        "has_attachment": d.has_attachment,
        "highlights": hit.highlights,
    }


def facets_payload(facets: Facets) -> dict[str, Any]:
    """The counts, a direct or group conversation named by its people as in the results."""
    people = direct_conversation_people(
        conversation_ids={c["id"] for c in facets.conversations if not c.get("name")}
    )
    conversations = [
        c | {"people": people[c["id"]]} if c["id"] in people else c for c in facets.conversations
    ]
    return {"authors": facets.authors, "conversations": conversations, "days": facets.days}


def page_payload(page: SearchPage, *, order: Order) -> dict[str, Any]:
    """The API's page: the (capped) count, results, the next cursor, and facets when they
    were asked for."""
    names = author_names(seqs=[hit.document.archive_seq for hit in page.hits])
    people = direct_conversation_people(
        conversation_ids={
            h.document.conversation_id for h in page.hits if not h.document.conversation_name
        }
    )
    payload: dict[str, Any] = {
        "count": page.count,
        "count_exact": page.count_exact,
        "results": [
            hit_payload(
                hit,
                author_name=names.get(hit.document.archive_seq, ""),
                people=people.get(hit.document.conversation_id),
            )
            for hit in page.hits
        ],
        "next": cursor_encode(order, page.next_after) if page.next_after else None,
    }
    if page.facets is not None:
        payload["facets"] = facets_payload(page.facets)
    return payload
