"""SCIM provisioning as an identity provider drives it, over HTTP against a real Daphne.

Each run makes a fresh provider-bound SCIM token, then:

1. **Initial push**: POSTs `--users` people (default 10,000) in Okta's shape with `--clients`
   concurrent keep-alive connections (IdPs push with a few threads) and reports users/s, the
   request latencies and the CPU per user created of Daphne, PostgreSQL's backends and this
   benchmark's own clients.
2. **Big group**: creates a group and PATCHes all of them into it in one request (the
   10,000-member figure; target <= 5 s).
3. **Deprovision -> socket closed**: for `--sockets` of them, opens a chat socket with an API
   token, sends Entra ID's `{"op": "Replace", "path": "active", "value": "False"}` and times
   from the request to the socket's close (code 4403; target p99 <= 1 s).

Three runs by default; prints each run and the median and spread across runs.

    .venv/bin/python bench/scim.py                       # 10,000 users, 3 runs
    .venv/bin/python bench/scim.py --users 2000 --runs 1 --clients 8

Needs PostgreSQL and Redis on 127.0.0.1 (database `eim_bench_scim`, Redis db 12).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import secrets
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from access import closed, process_cpu_ms, socket_open, spread
from chat import (
    database_ensure,
    django_setup,
    percentiles,
    server_environment,
    server_start,
    server_stop,
    server_wait_healthy,
)

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eim_bench_scim"
REDIS_URL = "redis://127.0.0.1:6379/12"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CLOSE_ACCESS_ENDED = 4403


@dataclass
class Run:
    users_per_s: float
    create_ms: dict[str, float]
    daphne_cpu_ms_per_user: float
    postgres_cpu_ms_per_user: float
    client_cpu_ms_per_user: float
    group_patch_s: float
    close_ms: dict[str, float]
    codes: set[int | None]


def options_parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="people pushed per run")
    parser.add_argument("--clients", type=int, default=4, help="concurrent connections")
    parser.add_argument("--servers", type=int, default=1, help="Daphne processes (round-robin)")
    parser.add_argument("--sockets", type=int, default=100, help="deprovisions timed per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--json", action="store_true", help="print one JSON summary")
    return parser.parse_args()


class Connection:
    """One keep-alive HTTP connection speaking SCIM with a bearer token."""

    def __init__(self, port: int, secret: str) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/scim+json",
        }

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        payload = json.dumps(body).encode() if body is not None else None
        self.http.request(method, f"/scim/v2{path}", body=payload, headers=self.headers)
        response = self.http.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None


def provider_token(tag: str) -> str:
    from accounts.models import IdentityProvider, IdentityProviderKind
    from accounts.scim.services.tokens import scim_token_create
    from accounts.services.identities import identity_provider_create

    provider = IdentityProvider.objects.filter(slug="bench-okta").first()
    if provider is None:
        provider = identity_provider_create(
            actor=None,
            slug="bench-okta",
            kind=IdentityProviderKind.OIDC,
            name="Bench Okta",
            issuer="https://bench.okta.example",
            jit_provisioning=False,
        )
    return scim_token_create(name=f"bench-{tag}", provider=provider)[1]


def okta_user(tag: str, n: int) -> dict[str, Any]:
    user_name = f"p{n}-{tag}@bench.example"
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": f"P{n}", "familyName": "Bench"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"P{n} Bench",
        "externalId": f"00u{tag}{n}",
        "active": True,
    }


def push(
    ports: list[int], secret: str, tag: str, count: int, clients: int
) -> tuple[list[str], list[float]]:
    def worker(offset: int) -> list[tuple[str, float]]:
        conn = Connection(ports[offset % len(ports)], secret)
        done = []
        for n in range(offset, count, clients):
            started = time.perf_counter()
            status, body = conn.call("POST", "/Users", okta_user(tag, n))
            if status != 201:
                raise RuntimeError(f"POST /Users answered {status}: {body}")
            done.append((body["id"], (time.perf_counter() - started) * 1000))
        return done

    with ThreadPoolExecutor(clients) as pool:
        results = [item for part in pool.map(worker, range(clients)) for item in part]
    return [user_id for user_id, _ in results], [ms for _, ms in results]


def group_patch(port: int, secret: str, tag: str, user_ids: list[str]) -> float:
    conn = Connection(port, secret)
    status, group = conn.call("POST", "/Groups", {"schemas": [GROUP], "displayName": f"All {tag}"})
    if status != 201:
        raise RuntimeError(f"POST /Groups answered {status}: {group}")
    body = {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in user_ids]}],
    }
    started = time.perf_counter()
    status, answer = conn.call("PATCH", f"/Groups/{group['id']}", body)
    elapsed = time.perf_counter() - started
    if status != 204:
        raise RuntimeError(f"PATCH /Groups answered {status}: {answer}")
    return elapsed


async def deprovisions(
    ports: list[int], secret: str, user_ids: list[str]
) -> tuple[list[float], set[int | None]]:
    """Sockets on the first server; the PATCH through the last (another process when there
    are several: the close crosses the channel layer)."""
    from accounts.models import User
    from accounts.services import api_token_create

    people = await asyncio.to_thread(lambda: list(User.objects.filter(pk__in=user_ids)))
    tokens = await asyncio.to_thread(lambda: [api_token_create(user=u) for u in people])
    url = f"ws://127.0.0.1:{ports[0]}/ws/"
    conn = Connection(ports[-1], secret)
    body = {
        "schemas": [PATCH],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    latencies, codes = [], set()
    for user, token in zip(people, tokens, strict=True):
        ws = await socket_open(url, token)
        waiting = asyncio.create_task(closed(ws))
        started = time.perf_counter()
        status, answer = await asyncio.to_thread(conn.call, "PATCH", f"/Users/{user.pk}", body)
        if status != 200:
            raise RuntimeError(f"PATCH /Users answered {status}: {answer}")
        codes.add(await asyncio.wait_for(waiting, timeout=30))
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies, codes


def postgres_backends_cpu_ms(*, own: bool = False) -> dict[int, float]:
    """CPU so far of each PostgreSQL backend serving the bench database, this process's own
    only if `own` (the servers' pooled connections live through a run; a backend that ends
    mid-run is missed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND (%s OR pid <> pg_backend_pid())",
            [own],
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            found[pid] = process_cpu_ms(pid)
    return found


def postgres_cpu_ms_since(before: dict[int, float], *, own: bool = False) -> float:
    now = postgres_backends_cpu_ms(own=own)
    return sum(ms - before.get(pid, 0.0) for pid, ms in now.items())


def run_once(ports: list[int], pids: list[int], options: argparse.Namespace) -> Run:
    tag = secrets.token_hex(3)
    secret = provider_token(tag)
    cpu_before = sum(process_cpu_ms(pid) for pid in pids)
    postgres_before = postgres_backends_cpu_ms()
    started, client_before = time.perf_counter(), time.process_time()
    user_ids, create_ms = push(ports, secret, tag, options.users, options.clients)
    elapsed = time.perf_counter() - started
    client_per_user = (time.process_time() - client_before) * 1000 / options.users
    cpu_per_user = (sum(process_cpu_ms(pid) for pid in pids) - cpu_before) / options.users
    postgres_per_user = postgres_cpu_ms_since(postgres_before) / options.users
    patch_s = group_patch(ports[0], secret, tag, user_ids)
    close_ms, codes = asyncio.run(deprovisions(ports, secret, user_ids[: options.sockets]))
    return Run(
        users_per_s=options.users / elapsed,
        create_ms=percentiles(create_ms),
        daphne_cpu_ms_per_user=cpu_per_user,
        postgres_cpu_ms_per_user=postgres_per_user,
        client_cpu_ms_per_user=client_per_user,
        group_patch_s=patch_s,
        close_ms=percentiles(close_ms),
        codes=codes,
    )


def main() -> None:
    options = options_parse()
    database_ensure(options.database_url, options.redis_url)
    django_setup(options.database_url, options.redis_url)
    extra = {"EIM_SCIM_RATE": "1000000/1"}  # the per-token limit must not shape the push
    env = server_environment(options.database_url, options.redis_url, extra)
    servers = [server_start(env) for _ in range(options.servers)]
    runs: list[Run] = []
    try:
        for server in servers:
            server_wait_healthy(server)
        ports, pids = [s.port for s in servers], [s.process.pid for s in servers]
        for _ in range(options.runs):
            runs.append(run_once(ports, pids, options))
    finally:
        for server in servers:
            server_stop(server)
    report(runs, options)


def _median_spread(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), spread(values)


def report(runs: list[Run], options: argparse.Namespace) -> None:
    rate = _median_spread([r.users_per_s for r in runs])
    patch = _median_spread([r.group_patch_s for r in runs])
    close = _median_spread([r.close_ms["p99"] for r in runs])
    cpu = statistics.median(r.daphne_cpu_ms_per_user for r in runs)
    postgres = statistics.median(r.postgres_cpu_ms_per_user for r in runs)
    client = statistics.median(r.client_cpu_ms_per_user for r in runs)
    if options.json:
        print(
            json.dumps(
                {
                    "runs": [r.__dict__ | {"codes": sorted(c for c in r.codes if c)} for r in runs],
                    "users_per_s": rate,
                    "group_patch_s": patch,
                    "close_p99_ms": close,
                    "daphne_cpu_ms_per_user": cpu,
                    "postgres_cpu_ms_per_user": postgres,
                    "client_cpu_ms_per_user": client,
                }
            )
        )
        return
    print(
        f"SCIM: {options.users} users pushed by {options.clients} clients to "
        f"{options.servers} Daphne, {len(runs)} runs"
    )
    for i, r in enumerate(runs, 1):
        print(
            f"  run {i}: {r.users_per_s:.0f} users/s (POST p50 {r.create_ms['p50']:.1f} ms, "
            f"p99 {r.create_ms['p99']:.1f} ms; CPU per user: Daphne "
            f"{r.daphne_cpu_ms_per_user:.2f} ms, PostgreSQL {r.postgres_cpu_ms_per_user:.2f} ms, "
            f"this client {r.client_cpu_ms_per_user:.2f} ms);"
            f" {options.users}-member PATCH {r.group_patch_s:.2f} s; deprovision -> socket "
            f"closed p50 {r.close_ms['p50']:.0f} ms, p99 {r.close_ms['p99']:.0f} ms "
            f"(codes {sorted(c for c in r.codes if c)})"
        )
    print(
        f"  median of runs: {rate[0]:.0f} users/s (spread {rate[1]:.0f} %), "
        f"group PATCH {patch[0]:.2f} s (spread {patch[1]:.0f} %), "
        f"socket closed p99 {close[0]:.0f} ms (spread {close[1]:.0f} %), "
        f"CPU per user created: Daphne {cpu:.2f} ms, PostgreSQL {postgres:.2f} ms "
        f"({1000 / (cpu + postgres):.0f} users/s per core of server and database), "
        f"this client {client:.2f} ms (with it: {1000 / (cpu + postgres + client):.0f}/s a core)"
    )


if __name__ == "__main__":
    main()
