"""/healthz: the state of the database, the broker and the channel layer.

Anyone (a load balancer) gets the status alone: `{"status": "ok"}` with HTTP 200, or
`{"status": "unavailable"}` with 503. The details (each check, and the sections apps add: the
archive's size and backlog, the search index's lag) go only to a request that sends
`Authorization: Bearer <EIM_HEALTH_TOKEN>`; they tell an outsider too much.
"""

import asyncio
import hmac
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import DEFAULT_CHANNEL_LAYER, BaseChannelLayer, channel_layers
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    from eim.celery import app

    with app.connection_for_write() as conn:
        # Retry once at once: a probe that waits between retries answers too late to be useful.
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)


PROBE_TIMEOUT_SECONDS = 2.0


async def _round_trip() -> None:
    # A private instance of the configured layer, closed afterwards: on the server's own
    # instance every probe would leave its channel subscribed (the pub/sub layer keeps a
    # subscription per channel until a receive on it is cancelled).
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    try:
        channel = await layer.new_channel("healthz.")
        await layer.send(channel, {"type": "healthz.ping"})
        reply = await layer.receive(channel)
        if reply.get("type") != "healthz.ping":
            raise RuntimeError("channel layer returned the wrong message")
    finally:
        await _layer_close(layer)


async def _layer_close(layer: BaseChannelLayer) -> None:
    # channels_redis.core's flush() would delete every key of the layer: close its pools.
    close_pools = getattr(layer, "close_pools", None)
    await (close_pools() if close_pools is not None else layer.flush())


async def _round_trip_with_timeout() -> None:
    await asyncio.wait_for(_round_trip(), timeout=PROBE_TIMEOUT_SECONDS)


def _channel_layer() -> None:
    async_to_sync(_round_trip_with_timeout)()


# Apps that depend on eim add informational sections here (the archive: lag and backlog).
_sections: dict[str, Callable[[], dict[str, Any]]] = {}


def health_section(name: str, report: Callable[[], dict[str, Any]]) -> None:
    _sections[name] = report


def _section(report: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return report()
    except Exception as exc:  # a failing report must not hide the checks
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def _check(probe: Callable[[], None]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _operator(request: HttpRequest) -> bool:
    """Whether the request carries the health token (compared in constant time)."""
    token = settings.EIM_HEALTH_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _check(_database),
        "broker": _check(_broker),
        "channel_layer": _check(_channel_layer),
    }
    healthy = all(c["ok"] for c in checks.values())
    status = 200 if healthy else 503
    answer: dict[str, Any] = {"status": "ok" if healthy else "unavailable"}
    if not _operator(request):
        return JsonResponse(answer, status=status)
    sections = (
        {name: _section(report) for name, report in _sections.items()}
        if checks["database"]["ok"]
        else {}
    )
    return JsonResponse({**answer, "checks": checks, **sections}, status=status)
