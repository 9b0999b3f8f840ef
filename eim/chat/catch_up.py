"""A socket's catch-up read (at `sync`, each periodic re-check, `ping`), batched across sockets.

After a restart every socket that came back sends `sync` within moments of the others. Each
read checks the socket's sign-in, reads its user's conversations and the first page of
every conversation it is behind in. Batched (batches.py), the sockets of a batch share one
thread hop, one query for their API tokens' standing, one for their cursors and one for
their pages; a browser session's sign-in is still checked alone. A socket whose sign-in no
longer holds gets its AccessLostError, and no page, as before; if the shared queries fail,
each socket's read is made again alone.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from accounts.selectors import token_sign_ins_ended

from . import selectors
from .batches import database_batches
from .sign_in import SignIn

logger = logging.getLogger(__name__)

# {conversation id: (joined seq, last seq)}, and the first page of each one behind.
CatchUp = tuple[dict[int, tuple[int, int]], dict[int, list[Any]]]


@dataclass(frozen=True)
class CatchUpAsk:
    """What a socket asks: its sign-in to check (None: not this time), its user, the cursor
    it holds in each conversation, and the page size."""

    sign_in: SignIn | None
    user_id: int
    cursors: dict[int, int]
    page: int


def _ranges(ask: CatchUpAsk, joined: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """Each conversation behind: (cursor, up to a page past it]; one not in the cursors yet
    from its join."""
    ranges = {}
    for conversation_id, (joined_seq, last_seq) in joined.items():
        cursor = ask.cursors.get(conversation_id, joined_seq - 1)
        if last_seq > cursor:
            ranges[conversation_id] = (cursor, min(last_seq, cursor + ask.page))
    return ranges


def catch_up_read(ask: CatchUpAsk) -> CatchUp:
    """One socket's catch-up, alone: the sign-in checked, the cursors, the pages."""
    if ask.sign_in is not None:
        ask.sign_in.require()
    joined = selectors.conversation_cursors_for_user(user_id=ask.user_id)
    return joined, selectors.events_in_ranges(ranges=_ranges(ask, joined))


def _sign_ins_checked(asks: list[CatchUpAsk], results: list[CatchUp | Exception | None]) -> None:
    """Every ask's sign-in; a failure (AccessLostError, or any) in its place in `results`.
    Tokens that still hold are found in one query; the rest are checked one by one, which
    also names why a token no longer holds."""
    tokens = {
        ask.sign_in.token_digest: ask.sign_in.user_id
        for ask in asks
        if ask.sign_in is not None and ask.sign_in.token_digest is not None
    }
    ended = token_sign_ins_ended(token_users=tokens) if tokens else {}
    for index, ask in enumerate(asks):
        sign_in = ask.sign_in
        if sign_in is None or (
            sign_in.token_digest is not None and sign_in.token_digest not in ended
        ):
            continue
        try:
            sign_in.require()
        except Exception as error:
            results[index] = error


def _pages_of(
    asks: Iterable[tuple[int, CatchUpAsk]], cursors: dict[int, dict[int, tuple[int, int]]]
) -> dict[int, dict[int, list[Any]]]:
    """Every ask's pages ({index: {conversation: events}}, only conversations with some) from
    one query for all the asks' ranges."""
    ranges = {index: _ranges(ask, cursors[ask.user_id]) for index, ask in asks}
    found = selectors.events_in_range_set(
        ranges={(c, a, b) for one in ranges.values() for c, (a, b) in one.items()}
    )
    pages: dict[int, dict[int, list[Any]]] = {}
    for index, one in ranges.items():
        pages[index] = {}
        for c, (a, b) in one.items():
            events = [event for event in found.get(c, ()) if a < event.seq <= b]
            if events:
                pages[index][c] = events
    return pages


def catch_up_reads(asks: list[CatchUpAsk]) -> list[CatchUp | Exception]:
    """Many sockets' catch-ups in one database call, each outcome its own (an Exception in
    its place is its failure)."""
    results: list[CatchUp | Exception | None] = [None] * len(asks)
    try:
        _sign_ins_checked(asks, results)
        going = [(index, ask) for index, ask in enumerate(asks) if results[index] is None]
        cursors = selectors.conversation_cursors_for_users(
            user_ids=sorted({ask.user_id for _index, ask in going})
        )
        pages = _pages_of(going, cursors)
    except Exception:
        logger.exception("a batch of %d catch-ups failed; each is read alone", len(asks))
        return [_alone(ask) for ask in asks]
    for index, ask in going:
        results[index] = (dict(cursors[ask.user_id]), pages[index])
    return cast("list[CatchUp | Exception]", results)  # every place is filled now


def _alone(ask: CatchUpAsk) -> CatchUp | Exception:
    try:
        return catch_up_read(ask)
    except Exception as error:
        return error


def _catch_ups_read(asks: list[CatchUpAsk]) -> list[CatchUp | Exception]:
    return catch_up_reads(asks)  # looked up at each call: tests replace it


async def socket_catch_up(ask: CatchUpAsk) -> CatchUp:
    """This socket's catch-up, batched with the others of the moment; raises its own
    failure (AccessLostError if its sign-in no longer holds)."""
    return await database_batches("catch-up", _catch_ups_read).call(ask)
