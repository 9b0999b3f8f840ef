"""Database calls of many sockets at once: those that come while a batch is in its thread.

After a restart hundreds of sockets arrive, and sync, within milliseconds of each other.
One at a time, each call is its own thread hop and its own statements. A `DatabaseBatches`
runs one function over a list of the sockets' inputs instead: the calls that come while a
batch is in its database thread wait and go together in the next (as a database groups
commits), so a lone call goes at once, in a batch of one, and a storm's calls share hops
and statements (docs/performance.md, "Coming back after a restart", session 8).

The function returns each input's own outcome, an Exception standing for its failure; if
the whole call fails, every caller of that batch gets the error. Nothing is dropped: a
caller gives up only by being cancelled, and its batch still ends in its thread.
"""

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from .db_threads import in_db_thread
from .services.events import GroupMessage, broadcasts_deferred, group_send_all

T = TypeVar("T")
R = TypeVar("R")

# At most this many calls in one batch (the admission gate usually keeps it lower).
BATCH_LIMIT = 64


@dataclass
class _Waiting(Generic[T, R]):
    item: T
    result: "asyncio.Future[R]"
    # Set once the caller's `then` has run (or it gave up): its batch's broadcasts wait for
    # it, so that a new socket joins its groups before its own `online` goes out.
    done: "asyncio.Future[None]"


def _retrieved(future: "asyncio.Future[R]") -> None:
    if not future.cancelled():
        future.exception()  # a socket that left no longer reads its failure


async def _nothing(_result: object) -> None:
    return None


class DatabaseBatches(Generic[T, R]):
    """Batches of calls to `record` (run in a database thread, its broadcasts collected and
    sent once every caller of the batch has run its `then`); one batch in its thread at a
    time per event loop."""

    def __init__(self, record: Callable[[list[T]], list[R | Exception]]) -> None:
        self._record = record
        self._waiting: list[_Waiting[T, R]] = []
        self._running = False
        self._tasks: set[asyncio.Future[None]] = set()

    async def call(self, item: T, then: Callable[[R], Awaitable[None]] = _nothing) -> R:
        """`record`'s outcome for `item` (its own failure raised). `then` runs with it before
        what the batch broadcasts goes out."""
        loop = asyncio.get_running_loop()
        waiting: _Waiting[T, R] = _Waiting(item, loop.create_future(), loop.create_future())
        waiting.result.add_done_callback(_retrieved)
        self._waiting.append(waiting)
        if not self._running:
            self._running = True
            # Next turn of the loop: the calls made in this one go in the same batch.
            loop.call_soon(self._start)
        try:
            result = await asyncio.shield(waiting.result)
            await then(result)
            return result
        finally:
            if not waiting.done.done():
                waiting.done.set_result(None)

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

    async def _run(self, batch: list[_Waiting[T, R]]) -> None:
        broadcasts: list[GroupMessage] = []
        results: list[R | Exception]
        try:
            results = await in_db_thread(self._recorded)([w.item for w in batch], broadcasts)
        except Exception as error:  # the call itself failed: every caller of it hears so
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
        await asyncio.gather(*(waiting.done for waiting in batch))
        await group_send_all(broadcasts)

    def _recorded(self, items: list[T], broadcasts: list[GroupMessage]) -> list[R | Exception]:
        with broadcasts_deferred(broadcasts):
            return self._record(items)


_per_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]]" = (
    weakref.WeakKeyDictionary()
)


def database_batches(
    name: str, record: Callable[[list[T]], list[R | Exception]]
) -> "DatabaseBatches[T, R]":
    """The running loop's batches of `record` (one per Daphne process and name; a test run
    makes one per test)."""
    batches = _per_loop.setdefault(asyncio.get_running_loop(), {})
    if name not in batches:
        batches[name] = DatabaseBatches(record)
    return cast("DatabaseBatches[T, R]", batches[name])
