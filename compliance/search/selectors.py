"""Search for employees: their own conversations, current text only. Nothing is audited
(it shows only what the user can already read in the chat)."""

from typing import Any

from accounts.models import User
from eim.chat.barriers.selectors import conversations_searchable
from eim.chat.selectors import conversation_cursors_for_user, history_archive_starts_for_user

from ..errors import ComplianceError, ComplianceErrorCode
from .backends import search_backend
from .paging import search_request_check
from .payloads import page_payload
from .results import Scope


def employee_search(
    *,
    user: User,
    query: str,
    order: str = "newest",
    cursor: str | None = None,
    limit: int = 50,
    facets: bool = False,
) -> dict[str, Any]:
    """The current version of messages not deleted, in conversations the user is in now,
    from where their membership's history starts (as the chat's history read).

    The membership scope is the first clause of every backend query; the user's query only
    narrows it, so counts, facets and highlights never reach another conversation.
    """
    if not user.is_active:
        raise ComplianceError(ComplianceErrorCode.FORBIDDEN, "this account is deactivated")
    request = search_request_check(query=query, order=order, cursor=cursor, limit=limit)
    # Never a conversation the user could not be in now: information barriers (docs/barriers.md).
    scope = Scope.member_of(
        conversations_searchable(conversation_ids=conversation_cursors_for_user(user_id=user.pk)),
        history_starts=history_archive_starts_for_user(user_id=user.pk),
    )
    page = search_backend().search(
        request.tree,
        scope=scope,
        order=request.order,
        after=request.after,
        limit=request.limit,
        facets=facets,
    )
    return page_payload(page, order=request.order)
