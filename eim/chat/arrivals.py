"""A new socket's arrival (credentials, conversations, presence), batched across sockets.

After a restart hundreds of sockets arrive within milliseconds of each other. One at a
time, each made its own thread hop and its own statements (token check, cursors, presence
lock and upsert). Here they are batched (batches.py): one thread hop, one token query, one
cursors query and one presence transaction for all the sockets of a batch.

Each socket's credentials are still judged on their own (the tokens of a batch are read in
one query; a refused handshake writes nothing), and a batch never hides a failure: if the
batch's shared statements fail, each socket's arrival is made again alone, and a socket
whose own arrival fails gets the error.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from accounts.models import User

from . import selectors
from .auth import Authenticated, Presented, handshake_authenticate, handshakes_authenticate
from .batches import database_batches
from .models import PresenceStatus
from .services import presence
from .sign_in import SignIn

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Arrival:
    """What a new socket's arrival found: who it is, and their conversations
    ({conversation id: (joined seq, last seq)})."""

    sign_in: SignIn
    user: User
    joined: dict[int, tuple[int, int]]


def _arrived(authenticated: Authenticated, joined: dict[int, tuple[int, int]]) -> Arrival:
    user = authenticated.user
    sign_in = SignIn(user.pk, authenticated.token_digest, authenticated.session_key)
    return Arrival(sign_in=sign_in, user=user, joined=joined)


def _arrival_alone(authenticated: Authenticated, channel_name: str) -> Arrival:
    user = authenticated.user
    joined = selectors.conversation_cursors_for_user(user_id=user.pk)
    presence.presence_session_set(
        user=user, channel_name=channel_name, status=PresenceStatus.ONLINE
    )
    return _arrived(authenticated, joined)


def arrivals_record(
    arriving: list[tuple[Presented, str]],
) -> list[Arrival | Exception | None]:
    """Arriving sockets ([(what the handshake presented, channel name)]), in one database
    call: each one's credentials checked (None where they name no active user), then the
    users' conversations read and their presence recorded online for all of them at once.
    Each socket's outcome is its own: an Exception in its place is its failure."""
    results: list[Arrival | Exception | None] = [None] * len(arriving)
    signed_in = [
        (index, authenticated, arriving[index][1])
        for index, authenticated in enumerate(_credentials_checked(arriving, results))
        if authenticated is not None
    ]
    if not signed_in:
        return results
    try:
        cursors = selectors.conversation_cursors_for_users(
            user_ids=[authenticated.user.pk for _index, authenticated, _channel in signed_in]
        )
        presence.presence_sessions_online(
            sessions=[(authenticated.user, channel) for _index, authenticated, channel in signed_in]
        )
    except Exception:
        logger.exception("a batch of %d arrivals failed; each is made alone", len(signed_in))
        for index, authenticated, channel_name in signed_in:
            try:
                results[index] = _arrival_alone(authenticated, channel_name)
            except Exception as error:
                results[index] = error
        return results
    for index, authenticated, _channel_name in signed_in:
        results[index] = _arrived(authenticated, cursors[authenticated.user.pk])
    return results


def _credentials_checked(
    arriving: list[tuple[Presented, str]], results: list[Arrival | Exception | None]
) -> list[Authenticated | None]:
    """Every handshake's credentials, the tokens in one query; if that fails, each alone, and
    a handshake whose own check fails gets its error in `results`."""
    try:
        return handshakes_authenticate([presented for presented, _channel in arriving])
    except Exception:
        logger.exception(
            "a batch of %d credential checks failed; each is made alone", len(arriving)
        )
    checked: list[Authenticated | None] = []
    for index, (presented, _channel_name) in enumerate(arriving):
        try:
            checked.append(handshake_authenticate(presented))
        except Exception as error:
            checked.append(None)
            results[index] = error
    return checked


def _arrivals_recorded(arriving: list[tuple[Presented, str]]) -> list[Arrival | Exception | None]:
    return arrivals_record(arriving)  # looked up at each call: tests replace it


async def socket_arrive(
    *,
    presented: Presented,
    channel_name: str,
    then: Callable[[Arrival | None], Awaitable[None]],
) -> Arrival | None:
    """This socket's arrival, batched with the others of the moment (None if its
    credentials name no active user). `then` runs with it before what its batch announces
    goes out. Raises the socket's own failure."""
    batches = database_batches("arrivals", _arrivals_recorded)
    return await batches.call((presented, channel_name), then)
