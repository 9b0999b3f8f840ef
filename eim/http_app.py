"""Django's ASGI application, with SCIM's requests served in one thread hop instead of three.

Django's ASGI handler crosses from the event loop to a worker thread three times for a
synchronous view: for `request_started`, for the middleware and view, and for the response's
`close()` (`request_finished`). An identity provider's initial push is thousands of small
POSTs one after another, and each hop costs the server CPU (a task, a future, a wake-up of
the loop; docs/performance.md, "SCIM provisioning"). A /scim/ request runs all three in one
call, in the same order and the same thread, through the same middleware (a synchronous copy
of the chain): `request_started`, the chain, `close()`; then the answer is sent. Only where
`request_finished` falls moves: before the bytes go out instead of after, which SCIM's
fully built JSON answers cannot tell.

Django also gives each request a thread of its own (`ThreadSensitiveContext`: one thread
made and ended per request, about 0.2 ms of CPU), so that its several hops share one thread.
With a single hop nothing needs sharing: /scim/ requests run on a small pool of reused
threads (SCIM_THREADS, as a WSGI server's), which also bounds the database connections a
push can hold from the pool.

Not done for a streaming response (none on /scim/): it is closed after sending, as Django
does. A client that disconnects mid-request is not listened for: the view runs to its end
either way (a synchronous view cannot be cancelled), and the answer then goes nowhere.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import HttpResponseBase
from django.urls import set_script_prefix

ONE_HOP_PREFIX = "/scim/"
# Requests served at once per process; more wait their turn (identity providers push with a
# few connections, and back off on latency).
SCIM_THREADS = 8


class _SyncChain(BaseHandler):
    """The same middleware, loaded for a synchronous caller: no hop inside."""

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware(is_async=False)


class HttpApplication(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._sync_chain = _SyncChain()
        self._threads = ThreadPoolExecutor(SCIM_THREADS, thread_name_prefix="scim")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(ONE_HOP_PREFIX):
            await self._one_hop(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _one_hop(self, scope: dict[str, Any], receive: Any, send: Any) -> None:

        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        try:
            response = await sync_to_async(
                self._respond, thread_sensitive=False, executor=self._threads
            )(scope, body_file)
            await self.send_response(response, send)
            if response.streaming:
                await sync_to_async(
                    response.close, thread_sensitive=False, executor=self._threads
                )()
        finally:
            body_file.close()

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """What `ASGIHandler.handle` does across its three hops, in one."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response: HttpResponseBase
        if request is None:
            assert error_response is not None  # create_request answers one or the other
            response = error_response
        else:
            response = self._sync_chain.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
        if not response.streaming:
            response.close()  # request_finished, as after sending
        return response
