"""What one WebSocket handshake costs Daphne, from a bare ASGI app up to eim's chat socket.

Each app (bench/handshake_apps.py, and eim.asgi itself) runs in a fresh Daphne; N clients
connect (C in flight), each waits for `hello`, sends `sync`, waits for `sync.done`, and stays
open until all are in, as after a restart. Reported per run: Daphne's CPU per handshake (the
figure that travels between machines), the wall time, handshake → sync.done p50/p99 and the
load average; then the median and spread of the runs.

    .venv/bin/python bench/handshake.py --apps bare,channels_session,eim,eim_session

`eim` signs in with a Bearer token (the API's clients, the benchmarks), `eim_session` with
the session cookie and Origin of a browser.

Profiles: `--py-spy DIR` records each eim run with py-spy (if installed; every thread, CPU
only) as a flame graph; `--profile` writes cProfile stats of the Daphne process's event loop
thread, by its CPU time (bench/daphne_cpu_profile.py), to var/bench/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chat  # bench/chat.py: the population, the servers' environment

APPS = {
    "bare": "bench.handshake_apps:bare",
    "channels_plain": "bench.handshake_apps:channels_plain",
    "channels_session": "bench.handshake_apps:channels_session",
    "channels_bearer": "bench.handshake_apps:channels_bearer",
    "eim": "eim.asgi:application",
    "eim_session": "eim.asgi:application",  # a browser's handshake: cookie and Origin
}
SESSION_APPS = {"channels_session", "eim_session"}
EIM_APPS = {"eim", "eim_session"}


@dataclass(frozen=True)
class Credential:
    token: str
    session_key: str


@dataclass
class Run:
    cpu_ms: float
    wall: float
    p50: float
    p99: float
    connected: int
    load: float


user_ids: list[int] = []


def credentials_prepare(handshakes: int, conversations: int) -> list[Credential]:
    """bench/chat.py's population (fresh tokens), and a signed-in session for each person."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils.module_loading import import_string

    from accounts.models import User

    options = chat.options_parse(
        ["--clients", str(handshakes), "--conversations", str(conversations)]
    )
    clients = chat.population_prepare(options)
    store_class = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    users = User.objects.in_bulk([c.user_id for c in clients])
    result = []
    user_ids.extend(c.user_id for c in clients)
    for client in clients:
        user = users[client.user_id]
        store = store_class()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        result.append(Credential(token=client.token, session_key=str(store.session_key)))
    return result


def daphne_start(app: str, env: dict[str, str], *, profile: Path | None) -> tuple[Any, int]:
    port = chat.free_port()
    chat.LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = chat.LOG_DIR / f"handshake-{port}.log"
    daphne = [sys.executable, "-m", "daphne"]
    if profile is not None:  # the event loop's CPU by function (not its wall time)
        daphne = [sys.executable, str(Path(__file__).resolve().parent / "daphne_cpu_profile.py")]
        daphne.append(str(profile))
    command = [*daphne, *chat.DAPHNE_OPTIONS, "-b", "127.0.0.1", "-p", str(port), app]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=chat.ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Daphne exited; see {log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return process, port
        time.sleep(0.2)
    raise RuntimeError(f"Daphne did not listen; see {log}")


async def handshakes_run(
    url: str, credentials: list[Credential], *, session: bool, concurrency: int, origin: str
) -> tuple[list[float], list[Any]]:
    gate = asyncio.Semaphore(concurrency)
    seconds: list[float] = []
    sockets: list[Any] = []

    async def one(credential: Credential) -> None:
        headers = (
            {"Cookie": f"sessionid={credential.session_key}", "Origin": origin}
            if session
            else {"Authorization": f"Bearer {credential.token}"}
        )
        async with gate:
            started = time.perf_counter()
            with contextlib.suppress(OSError, TimeoutError, websockets.WebSocketException):
                ws = await websockets.connect(
                    url,
                    additional_headers=headers,
                    compression=None,
                    ping_interval=None,
                    open_timeout=60,
                    max_size=2**22,
                )
                sockets.append(ws)
                await _expect(ws, "hello")
                await ws.send('{"type": "sync", "cursors": {}}')
                await _expect(ws, "sync.done")
                seconds.append(time.perf_counter() - started)

    await asyncio.gather(*(one(c) for c in credentials))
    return seconds, sockets


async def _expect(ws: Any, kind: str) -> None:
    async with asyncio.timeout(60):
        while True:
            raw = await ws.recv()
            if f'"type": "{kind}"' in raw or f'"type":"{kind}"' in raw:
                return


async def sockets_close(sockets: list[Any]) -> None:
    async def close(ws: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 10)

    await asyncio.gather(*(close(ws) for ws in sockets))


def run_once(
    app: str, credentials: list[Credential], options: argparse.Namespace, index: int
) -> Run:
    env = chat.server_environment(
        options.database_url, options.redis_url, {}, prefix=options.prefix
    )
    chat.presence_prepare(user_ids, options.presence)
    from django.db import connections

    connections.close_all()
    profile = None
    if options.profile and app in EIM_APPS:
        profile = chat.LOG_DIR / f"handshake-{app}-{index}.prof"
    process, port = daphne_start(APPS[app], env, profile=profile)
    spy = None
    try:
        time.sleep(1.0)  # start-up's own CPU is not a handshake's
        if options.py_spy and app in EIM_APPS and shutil.which("py-spy"):
            svg = Path(options.py_spy) / f"handshake-{app}-{index}.txt"
            spy = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--pid",
                    str(process.pid),
                    "--threads",
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--output",
                    str(svg),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)
        before = chat._process_ticks(process.pid)
        started = time.perf_counter()
        seconds, _sockets = asyncio.run(
            _measured(f"ws://127.0.0.1:{port}/ws/", credentials, app, options, port)
        )
        wall = time.perf_counter() - started
        after = chat._process_ticks(process.pid)
        load = os.getloadavg()[0]
    finally:
        if spy is not None:
            spy.send_signal(2)
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(30)
        # SIGINT lets cProfile write its stats on the way out; otherwise there is nothing to
        # wait for (a graceful stop waits for every open socket's application).
        process.send_signal(2 if profile is not None else 9)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    hz = os.sysconf("SC_CLK_TCK")
    done = len(seconds)
    ms = sorted(s * 1000 for s in seconds) or [0.0]
    return Run(
        cpu_ms=(after - before) * 1000 / hz / max(done, 1),
        wall=wall,
        p50=ms[len(ms) // 2],
        p99=ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        connected=done,
        load=load,
    )


async def _measured(
    url: str, credentials: list[Credential], app: str, options: argparse.Namespace, port: int
) -> tuple[list[float], list[Any]]:
    seconds, sockets = await handshakes_run(
        url,
        credentials,
        session=app in SESSION_APPS,
        concurrency=options.concurrency,
        origin=f"http://127.0.0.1:{port}",
    )
    await asyncio.sleep(0.5)  # the last frames' writes end; the sockets stay open
    return seconds, sockets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--apps", default="bare,channels_plain,channels_session,channels_bearer,eim"
    )
    parser.add_argument("--handshakes", type=int, default=1000)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--presence",
        choices=["restart", "cold"],
        default="restart",
        help="restart: everyone still online by the old process's sockets; cold: nobody",
    )
    parser.add_argument("--database-url", default=chat.DATABASE_URL)
    parser.add_argument("--redis-url", default=chat.REDIS_URL)
    parser.add_argument("--profile", action="store_true", help="cProfile the eim runs")
    parser.add_argument("--py-spy", default="", help="py-spy raw samples of eim runs to DIR")
    options = parser.parse_args()
    options.prefix = "eimhandshake"
    chat.database_ensure(options.database_url, options.redis_url)
    chat.django_setup(options.database_url, options.redis_url)
    credentials = credentials_prepare(options.handshakes, options.conversations)
    from django.db import connections

    connections.close_all()
    print(
        f"code {chat.code_version()}; {options.handshakes} handshakes, "
        f"{options.concurrency} in flight, {options.runs} runs, presence {options.presence}",
        flush=True,
    )
    for app in options.apps.split(","):
        runs = []
        for index in range(options.runs):
            run = run_once(app, credentials, options, index)
            runs.append(run)
            print(
                f"  {app:17} run {index + 1}: {run.cpu_ms:6.2f} CPU ms/handshake, "
                f"{run.connected} in {run.wall:5.1f} s ({run.connected / run.wall:4.0f}/s), "
                f"p50 {run.p50:6.0f} ms, p99 {run.p99:6.0f} ms, load {run.load:4.1f}",
                flush=True,
            )
        cpu = [r.cpu_ms for r in runs]
        print(
            f"{app:19} median {statistics.median(cpu):.2f} CPU ms/handshake "
            f"({min(cpu):.2f}-{max(cpu):.2f})",
            flush=True,
        )
    chat.redis_cleanup(options.redis_url, options.prefix, celery_queue=True)


if __name__ == "__main__":
    main()
