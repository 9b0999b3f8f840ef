"""Where a SCIM user creation's time goes, in one process (no HTTP server): statements per
POST /Users, statements and milliseconds under the audit head's lock (from the `FOR UPDATE`
of the audit head to the commit), and a cProfile of the request through Django's handler.

    .venv/bin/python bench/scim_profile.py --users 300            # counts and timings
    .venv/bin/python bench/scim_profile.py --users 300 --profile  # and the top functions

Uses the database of bench/scim.py (`eim_bench_scim`, created and migrated if missing).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat import database_ensure, django_setup
from scim import (
    DATABASE_URL,
    REDIS_URL,
    okta_user,
    postgres_backends_cpu_ms,
    postgres_cpu_ms_since,
    provider_token,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    options = parser.parse_args()
    database_ensure(options.database_url, options.redis_url)
    django_setup(options.database_url, options.redis_url)

    import json

    from django.db import connection, transaction
    from django.test import Client

    tag = secrets.token_hex(3)
    secret = provider_token(tag)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_HOST="127.0.0.1")
    statements: list[str] = []
    lock: dict[str, float] = {}
    sections: list[float] = []
    locked_statements: list[int] = []

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append(sql)
        if "audit_audithead" in sql and "FOR UPDATE" in sql and "at" not in lock:
            lock["at"] = time.perf_counter()
            lock["index"] = len(statements)
            transaction.on_commit(committed)
        return execute(sql, params, many, context)

    def committed() -> None:
        sections.append(time.perf_counter() - lock.pop("at"))
        locked_statements.append(len(statements) - int(lock.pop("index")) + 1)

    def post(n: int) -> None:
        response = client.post(
            "/scim/v2/Users", json.dumps(okta_user(tag, n)), content_type="application/scim+json"
        )
        assert response.status_code == 201, response.content

    post(0)  # warm: imports, caches, the rate counter's client
    per_request: list[int] = []
    postgres_before = postgres_backends_cpu_ms(own=True)  # the pool's sessions
    cpu0, wall0 = time.process_time(), time.perf_counter()
    # CPU time, not wall: on a shared machine the waits would swamp what Python spends.
    profiler = cProfile.Profile(time.process_time) if options.profile else None
    with connection.execute_wrapper(wrapper):
        for n in range(1, options.users + 1):
            before = len(statements)
            if profiler is not None:
                profiler.enable()
            post(n)
            if profiler is not None:
                profiler.disable()
            per_request.append(len(statements) - before)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    backend_ms = postgres_cpu_ms_since(postgres_before, own=True)
    count = options.users
    print(
        f"users: {count}   wall {wall / count * 1000:.2f} ms/user   "
        f"CPU {cpu / count * 1000:.2f} ms/user (this process: Django + psycopg), "
        f"PostgreSQL {backend_ms / count:.2f} ms/user"
    )
    print(
        f"statements per POST /Users: median {statistics.median(per_request)} "
        f"(min {min(per_request)}, max {max(per_request)}); under the audit lock: median "
        f"{statistics.median(locked_statements)}"
    )
    ms = sorted(s * 1000 for s in sections)
    print(
        f"audit lock held: median {statistics.median(ms):.2f} ms, p90 "
        f"{ms[int(len(ms) * 0.9)]:.2f} ms -> ceiling {1000 / statistics.median(ms):.0f} "
        "creations/s whatever the number of servers"
    )
    last = statements[-per_request[-1] :]
    print("statements of the last request:")
    for sql in last:
        print("   ", " ".join(sql.split())[:150])
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
