"""The administrator's console at scale: people search over 100,000 users (target p99
<= 100 ms), and what reading the workspace settings costs the send path.

    .venv/bin/python bench/console.py                  # 100,000 users
    .venv/bin/python bench/console.py --users 20000 --fresh

Uses its own database (`eim_bench_console`, created and migrated if missing; `--fresh` drops
it first) on PostgreSQL at 127.0.0.1. Three runs of every query shape; each run's p50 and p99,
then the median and spread of the three.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eim_bench_console"
RUNS = 3
REPEAT = 40  # each query shape, per run


def database_ensure(database_url: str, env: dict[str, str], *, fresh: bool) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if fresh:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True
    )


def seed(user_count: int) -> None:
    """Users with roles, groups, identities and sign-ins, written in bulk (test data)."""
    from datetime import timedelta

    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.utils import timezone

    from accounts.models import (
        ExternalIdentity,
        Group,
        GroupMembership,
        GroupSource,
        IdentityProvider,
        Role,
        RoleGrant,
        User,
    )

    if User.objects.count() >= user_count:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # autovacuum is off on the development machines
        return
    rng = random.Random(7)
    now = timezone.now()
    password = make_password("bench-password-1")
    first = ["Ada", "Bob", "Carol", "Dan", "Eve", "Femi", "Gus", "Hana", "Ivo", "Jun"]
    last = ["Smith", "Okafor", "Chen", "Garcia", "Novak", "Ito", "Khan", "Larsen", "Moreau"]

    def seen(last_login):  # type: ignore[no-untyped-def]
        """A socket or an API token since the sign-in, for half the people; some never sign
        in through the web but use a token."""
        if last_login is None:
            return None if rng.random() < 0.8 else now - timedelta(days=rng.randint(0, 200))
        if rng.random() < 0.5:
            return last_login
        return last_login + (now - last_login) * rng.random()

    sign_ins = [
        None if rng.random() < 0.3 else now - timedelta(days=rng.randint(0, 200))
        for _ in range(user_count)
    ]
    users = [
        User(
            username=f"user{n:06d}",
            first_name=rng.choice(first),
            last_name=rng.choice(last),
            display_name="",
            email=f"user{n:06d}@bank.example",
            password=password,
            is_active=rng.random() > 0.05,
            last_login=sign_ins[n],
            last_seen_at=seen(sign_ins[n]),
        )
        for n in range(user_count)
    ]
    User.objects.bulk_create(users, batch_size=5000)
    ids = list(User.objects.values_list("pk", flat=True))
    grants = [RoleGrant(user_id=i, role=Role.EMPLOYEE) for i in ids]
    grants += [RoleGrant(user_id=i, role=Role.AUDITOR) for i in ids[:20]]
    RoleGrant.objects.bulk_create(grants, batch_size=5000)
    providers = [
        IdentityProvider.objects.create(slug=s, kind="oidc", name=s, issuer=f"https://{s}")
        for s in ("okta", "entra")
    ]
    ExternalIdentity.objects.bulk_create(
        [
            ExternalIdentity(user_id=i, provider=providers[i % 2], issuer="x", subject=str(i))
            for i in ids
            if i % 5
        ],
        batch_size=5000,
    )
    groups = [
        Group.objects.create(display_name=f"Desk {g}", source=GroupSource.LOCAL) for g in range(200)
    ]
    GroupMembership.objects.bulk_create(
        [GroupMembership(group=groups[rng.randrange(200)], user_id=i) for i in ids], batch_size=5000
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def shapes() -> dict[str, dict]:  # type: ignore[type-arg]
    from accounts.models import Group, IdentityProvider

    group = Group.objects.order_by("pk").values_list("pk", flat=True)[7]
    provider = IdentityProvider.objects.get(slug="entra").pk
    return {
        "first page": {},
        "deep page": {"after": "user091234"},
        "name, common": {"q": "smith"},
        "name, rare": {"q": "user09123"},
        "name, none": {"q": "zzzz"},
        "role, rare": {"role": "auditor"},
        "group": {"group": group},
        "provider + active": {"provider": provider, "active": "yes"},
        "local accounts": {"provider": 0},
        "never signed in": {"seen": "never"},
        "seen in 7 days + group": {"seen": "7d", "group": group},
        "name + role + not seen 90d": {"q": "chen", "role": "employee", "seen": "90d+"},
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_search() -> None:
    from console.selectors.people import PeopleFilter, people_search

    queries = shapes()
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in queries}
    overall: list[float] = []
    cpu_total, calls = 0.0, 0
    for _run in range(RUNS):
        run_all: list[float] = []
        for name, filters in queries.items():
            times = []
            for _ in range(REPEAT):
                cpu, wall = time.process_time(), time.perf_counter()
                people_search(filters=PeopleFilter(**filters))
                times.append((time.perf_counter() - wall) * 1000)
                cpu_total += time.process_time() - cpu
                calls += 1
            results[name].append((pct(times, 0.5), pct(times, 0.99)))
            run_all += times
        overall.append(pct(run_all, 0.99))
    print(f"people search, {RUNS} runs x {REPEAT} of each shape (ms: p50 / p99, median of runs)")
    for name, runs in results.items():
        p50 = statistics.median(r[0] for r in runs)
        p99s = [r[1] for r in runs]
        print(
            f"  {name:28} {p50:7.2f} / {statistics.median(p99s):7.2f}"
            f"   (p99 spread {min(p99s):.2f}-{max(p99s):.2f})"
        )
    print(
        f"  all shapes p99: median {statistics.median(overall):.2f} ms, "
        f"spread {min(overall):.2f}-{max(overall):.2f} ms"
    )
    print(f"  application CPU per search: {cpu_total / calls * 1000:.2f} ms")
    print(f"  load average after: {os.getloadavg()}")


def bench_settings() -> None:
    from django.conf import settings

    from accounts.workspace import selectors

    selectors.workspace_settings()
    n = 1_000_000
    hits = []
    for _run in range(RUNS):
        started = time.process_time()
        for _ in range(n):
            selectors.workspace_settings()
        hits.append((time.process_time() - started) / n * 1e9)
    misses = []
    for _run in range(RUNS):
        samples = []
        for _ in range(200):
            selectors._cached.fresh_until = 0  # type: ignore[union-attr]
            started = time.perf_counter()
            selectors.workspace_settings()
            samples.append((time.perf_counter() - started) * 1000)
        misses.append(pct(samples, 0.5))
    period = settings.EIM_WORKSPACE_SETTINGS_CHECK_SECONDS
    print(f"workspace settings selector, {RUNS} runs")
    print(
        f"  cached read: median {statistics.median(hits):.0f} ns CPU per call "
        f"(spread {min(hits):.0f}-{max(hits):.0f})"
    )
    print(
        f"  version check (once per {period:g} s per process): "
        f"median {statistics.median(misses):.3f} ms"
        f" (spread {min(misses):.3f}-{max(misses):.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--fresh", action="store_true")
    options = parser.parse_args()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "eim.settings.test",
        "DATABASE_URL": options.database_url,
    }
    database_ensure(options.database_url, env, fresh=options.fresh)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    started = time.perf_counter()
    seed(options.users)
    print(f"{options.users} users ready in {time.perf_counter() - started:.1f} s")
    print(f"load average before: {os.getloadavg()}")
    bench_search()
    bench_settings()


if __name__ == "__main__":
    main()
