"""A new socket's arrival (credentials, conversations, presence), batched across sockets.

After a restart hundreds of sockets arrive within milliseconds of each other. One at a
time, each made its own thread hop and its own statements (token check, cursors, presence
lock and upsert). Here the arrivals that come while a batch is in its database thread wait
and go together in the next one (as a database groups commits): one thread hop, one
cursors query and one presence transaction for all of them. A lone socket goes at once, in
a batch of one (docs/performance.md, "Coming back after a restart", session 8).

Each socket's credentials are still judged on their own (the tokens of a batch are read in
one query; a refused handshake writes nothing), and a batch never hides a failure: if the
batch's shared statements fail, each socket's arrival is made again alone, and a socket
whose own arrival fails gets the error.
"""

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from accounts.models import User

from . import selectors
from .auth import Authenticated, Presented, handshake_authenticate, handshakes_authenticate
from .db_threads import in_db_thread
from .models import PresenceStatus
from .services import presence
from .services.events import GroupMessage, broadcasts_deferred, group_send_all
from .sign_in import SignIn

logger = logging.getLogger(__name__)

# At most this many sockets in one batch (the admission gate usually keeps it lower).
BATCH_LIMIT = 64


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


def _arrivals_record_deferring(
    arriving: list[tuple[Presented, str]], broadcasts: list[GroupMessage]
) -> list[Arrival | Exception | None]:
    with broadcasts_deferred(broadcasts):
        return arrivals_record(arriving)


@dataclass
class _Waiting:
    presented: Presented
    channel_name: str
    result: "asyncio.Future[Arrival | None]"
    # Set once the socket has joined its groups (or gave up): its batch's presence
    # announcements wait for it, so that a new socket hears its own `online` once.
    joined: "asyncio.Future[None]"


def _retrieved(future: "asyncio.Future[Arrival | None]") -> None:
    if not future.cancelled():
        future.exception()  # a socket that left no longer reads its failure


class ArrivalBatches:
    """The arrivals of one event loop (one Daphne process): one batch in its database thread
    at a time; the sockets that arrive meanwhile make the next."""

    def __init__(self) -> None:
        self._waiting: list[_Waiting] = []
        self._running = False
        self._tasks: set[asyncio.Future[None]] = set()

    async def arrive(
        self,
        *,
        presented: Presented,
        channel_name: str,
        then: Callable[[Arrival | None], Awaitable[None]],
    ) -> Arrival | None:
        """This socket's arrival (None if its credentials name no active user). `then` runs
        with it before what its batch announces goes out. Raises the socket's own failure."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(presented, channel_name, loop.create_future(), loop.create_future())
        waiting.result.add_done_callback(_retrieved)
        self._waiting.append(waiting)
        if not self._running:
            self._running = True
            # Next turn of the loop: the sockets admitted in this one go in the same batch.
            loop.call_soon(self._start)
        try:
            arrival = await asyncio.shield(waiting.result)
            await then(arrival)
            return arrival
        finally:
            if not waiting.joined.done():
                waiting.joined.set_result(None)

    def _next(self) -> None:
        if self._waiting:
            asyncio.get_running_loop().call_soon(self._start)
        else:
            self._running = False

    def _start(self) -> None:
        batch = self._waiting[:BATCH_LIMIT]
        del self._waiting[:BATCH_LIMIT]
        task = asyncio.ensure_future(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[_Waiting]) -> None:
        broadcasts: list[GroupMessage] = []
        try:
            results = await in_db_thread(_arrivals_record_deferring)(
                [(waiting.presented, waiting.channel_name) for waiting in batch], broadcasts
            )
        except Exception as error:  # the call itself failed: every socket of it hears so
            results = [error] * len(batch)
        except BaseException:
            for waiting in batch:
                waiting.result.cancel()
            raise
        finally:
            self._next()
        for waiting, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                waiting.result.set_exception(result)
            else:
                waiting.result.set_result(result)
        await asyncio.gather(*(waiting.joined for waiting in batch))
        await group_send_all(broadcasts)


_batches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ArrivalBatches]" = (
    weakref.WeakKeyDictionary()
)


def arrival_batches() -> ArrivalBatches:
    """The running loop's batches (one per Daphne process; a test run makes one per test)."""
    loop = asyncio.get_running_loop()
    batches = _batches.get(loop)
    if batches is None:
        batches = _batches[loop] = ArrivalBatches()
    return batches
