"""Plain-dict shapes of search results, shared by the services, the selectors and the API."""

from typing import Any

from archive.selectors import author_names

from .results import Facets, Order, SearchHit, SearchPage, cursor_encode


def hit_payload(hit: SearchHit, *, author_name: str) -> dict[str, Any]:
    d = hit.document
    return {
        "archive_seq": d.archive_seq,
        "message_id": d.message_id,
        "conversation": {"id": d.conversation_id, "name": d.conversation_name},
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
    return {"authors": facets.authors, "conversations": facets.conversations, "days": facets.days}


def page_payload(page: SearchPage, *, order: Order) -> dict[str, Any]:
    """The API's page: the (capped) count, results, the next cursor, and facets when they
    were asked for."""
    names = author_names(seqs=[hit.document.archive_seq for hit in page.hits])
    payload: dict[str, Any] = {
        "count": page.count,
        "count_exact": page.count_exact,
        "results": [
            hit_payload(hit, author_name=names.get(hit.document.archive_seq, ""))
            for hit in page.hits
        ],
        "next": cursor_encode(order, page.next_after) if page.next_after else None,
    }
    if page.facets is not None:
        payload["facets"] = facets_payload(page.facets)
    return payload
