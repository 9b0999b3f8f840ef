"""What information barriers cost: the send path with 50 policies in force, and the preview
of a policy over 100,000 channel memberships.

    .venv/bin/python bench/barriers.py                 # 3 runs of each
    .venv/bin/python bench/barriers.py --sends 3000 --fresh

1. Sends. One author in a channel of ten, 50 policies in force (each between two groups of 20
   people; the author is in one of them, nobody in the channel is barred, so every check runs
   to the end). Each run times what the barriers add, alone: the send statement with and
   without the barrier column, interleaved so that the machine's load falls on both alike,
   and the barrier generation (read by a send whose text has an @); the mention check with
   the facts in memory, as the send makes it, and the one query it made before; loading the
   facts (the first mention after a change, in each process); then N whole sends without and
   with an @mention, for scale.
2. Preview. 1,000 channels of 100 members (100,000 memberships, written with bulk_create:
   this measures the preview, not the writes) of people drawn at random from two segments of
   1,000 people each, so nearly every channel violates (the worst case); times the
   preview (`violations`, every violating conversation with its members and counts) and the
   aggregate query alone.

Uses its own database (`eim_bench_barriers`, created and migrated if missing; `--fresh` drops
it first) on PostgreSQL at 127.0.0.1, and the Redis of REDIS_URL for the rate limiter's keys.
No Celery task is published. Prints the median and spread of three runs and CPU ms per send.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eim_bench_barriers"
RUNS = 3


def database_ensure(database_url: str, env: dict[str, str], *, fresh: bool) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if fresh:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True
    )


def quantiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


def timings(call: Callable[[int], object], n: int) -> tuple[list[float], float]:
    """Wall time of each call, and the process's CPU seconds for all of them."""
    samples = []
    cpu = time.process_time()
    for i in range(n):
        started = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - started)
    return samples, time.process_time() - cpu


def spread(label: str, values: list[float], unit: str) -> None:
    print(
        f"  {label}: median {statistics.median(values):.3f} {unit} "
        f"(runs: {', '.join(f'{v:.3f}' for v in values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument(
        "--checks-only",
        action="store_true",
        help="the added costs only: no whole sends, no preview",
    )
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
    from django.conf import settings

    from eim.chat.services import events

    settings.EIM_SEND_RATE = "100000000/1"
    events._after_commit_hooks.clear()  # no Celery task is published
    sends(options.sends, skip_sends=options.checks_only)
    if not options.checks_only:
        preview()


def _world(tag: str):  # type: ignore[no-untyped-def]
    from accounts.models import Role
    from accounts.services.groups import group_create, group_members_add
    from eim.chat.services.conversations import conversation_create_channel, membership_invite
    from tests.factories import UserFactory

    admin = UserFactory(username=f"admin-{tag}", roles=[Role.ADMINISTRATOR])
    author = UserFactory(username=f"author-{tag}")
    members = [UserFactory(username=f"m{i}-{tag}") for i in range(9)]
    groups = [group_create(actor=None, display_name=f"g{i}-{tag}", via="bench") for i in range(100)]
    people = _people("p", 2000, tag)
    for i, group in enumerate(groups):
        group_members_add(
            actor=None, group=group, user_ids=[p.pk for p in people[i * 20 : i * 20 + 20]]
        )
    group_members_add(actor=None, group=groups[0], user_ids=[author.pk], via="bench")
    channel = conversation_create_channel(creator=author, name=f"bench-{tag}")
    membership_invite(actor=author, conversation_id=channel.pk, user_ids=[m.pk for m in members])
    return admin, author, members, groups, channel


def _people(prefix: str, n: int, tag: str) -> list:  # type: ignore[type-arg]
    """Many people at once (bulk_create): they only need to exist, in groups."""
    from accounts.models import User

    User.objects.bulk_create(
        [User(username=f"{prefix}{i}-{tag}", password="!") for i in range(n)],  # noqa: S106
        batch_size=1000,
    )
    return list(
        User.objects.filter(username__startswith=prefix, username__endswith=f"-{tag}").order_by(
            "pk"
        )
    )


def _policies_in_force(admin, groups, tag: str) -> list[int]:  # type: ignore[no-untyped-def]
    from eim.chat.barriers.services import (
        barrier_policy_activate,
        barrier_policy_create,
        barrier_policy_preview,
    )

    ids = []
    for i in range(50):
        a, b = groups[2 * i], groups[2 * i + 1]
        version = barrier_policy_create(
            actor=admin, name=f"wall {i} {tag}", segment_a=a.pk, segment_b=b.pk
        )
        barrier_policy_preview(actor=admin, policy_id=version.policy_id)
        barrier_policy_activate(
            actor=admin, policy_id=version.policy_id, version=1, channels="read_only"
        )
        ids.append(version.policy_id)
    return ids


def _sends(author, channel, body: str, n: int) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """End to end: (p50 ms, p99 ms, CPU ms per send)."""
    from eim.chat.services.messages import message_send

    def one(i: int) -> None:
        message_send(
            author=author, conversation_id=channel.pk, body=f"{body} {i}", client_id=uuid.uuid4()
        )

    samples, cpu = timings(one, n)
    return (*quantiles(samples), cpu * 1000 / n)


def _statement_variants(channel, n: int) -> tuple[list[float], list[float], list[float]]:  # type: ignore[no-untyped-def]
    """The send statement without the barrier column, with it, and with it and the barrier
    generation (a message with an @), interleaved so that the machine's load falls on all
    alike (each rolled back)."""
    from django.db import connection, transaction

    head = "UPDATE chat_conversation SET last_seq = last_seq + 1 WHERE id = %s RETURNING "
    statements = (
        head + "last_seq, archived_at",
        head + "last_seq, archived_at, barrier_restricted",
        head + "last_seq, archived_at, barrier_restricted, chat_barrier_generation()",
    )
    samples: tuple[list[float], list[float], list[float]] = ([], [], [])
    for _ in range(n):
        for sql, kept in zip(statements, samples, strict=True):
            with transaction.atomic(), connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute(sql, [channel.pk])
                cursor.fetchone()
                kept.append(time.perf_counter() - started)
                transaction.set_rollback(True)
    return samples


def _mention_checks(author, members, n: int) -> tuple[list[float], float]:  # type: ignore[no-untyped-def]
    """The check as the send makes it: with the generation its statement read, the facts of
    which this process holds after the first check."""
    from eim.chat.barriers.models import BarrierGeneration
    from eim.chat.barriers.rules import barrier_mentioning

    names = [members[0].username]
    generation = BarrierGeneration.objects.get(pk=1).value
    barrier_mentioning(user_id=author.pk, usernames=names, generation=generation)
    return timings(
        lambda i: barrier_mentioning(user_id=author.pk, usernames=names, generation=generation), n
    )


def _mention_checks_query(author, members, n: int) -> tuple[list[float], float]:  # type: ignore[no-untyped-def]
    """The check as it was before the facts were kept in memory (one query; still the path
    without a generation), for comparison under the same load."""
    from eim.chat.barriers.rules import barrier_mentioning

    names = [members[0].username]
    return timings(lambda i: barrier_mentioning(user_id=author.pk, usernames=names), n)


def _facts_loads(n: int) -> tuple[list[float], float]:
    """Loading the facts, as the first mention after a change does in each process."""
    from eim.chat.barriers.rules import _mention_facts_load

    return timings(lambda i: _mention_facts_load(), n)


def sends(n: int, *, skip_sends: bool = False) -> None:
    from eim.chat.barriers.services import barrier_policy_remove

    print(f"Send path with 50 policies in force, {n:,} of each per run, {RUNS} runs")
    results: dict[str, list[float]] = {}

    def keep(key: str, value: float) -> None:
        results.setdefault(key, []).append(value)

    for _ in range(RUNS):
        tag = uuid.uuid4().hex[:6]
        admin, author, members, groups, channel = _world(tag)
        policies = _policies_in_force(admin, groups, tag)
        without, with_column, with_generation = _statement_variants(channel, n)
        keep("statement p99 without the column", quantiles(without)[1])
        keep("statement p99 with the column", quantiles(with_column)[1])
        keep("statement p99 with the column and the generation", quantiles(with_generation)[1])
        keep(
            "ADDED p99: the barrier column (send without a mention)",
            quantiles(with_column)[1] - quantiles(without)[1],
        )
        keep(
            "ADDED p99: the generation read (send with an @)",
            quantiles(with_generation)[1] - quantiles(with_column)[1],
        )
        before, before_cpu = _mention_checks_query(author, members, n)
        checks, cpu = _mention_checks(author, members, n)
        loads, load_cpu = _facts_loads(max(10, n // 40))
        keep("ADDED p50: the mention check (send with a mention)", quantiles(checks)[0])
        keep("ADDED p99: the mention check (send with a mention)", quantiles(checks)[1])
        keep("mention check CPU ms per send", cpu * 1000 / n)
        keep("one-query mention check (before) p50", quantiles(before)[0])
        keep("one-query mention check (before) p99", quantiles(before)[1])
        keep("one-query mention check (before) CPU ms per send", before_cpu * 1000 / n)
        keep("facts load (first mention after a change) p50", quantiles(loads)[0])
        keep("facts load (first mention after a change) p99", quantiles(loads)[1])
        keep("facts load CPU ms", load_cpu * 1000 / max(10, n // 40))
        keep("load average (1 min) during the run", os.getloadavg()[0])
        if skip_sends:
            for policy_id in policies:
                barrier_policy_remove(actor=admin, policy_id=policy_id)
            continue
        for label, body in (
            ("plain", "line for the desk"),
            ("mention", f"cc @{members[0].username}"),
        ):
            p50, p99, cpu_ms = _sends(author, channel, body, n)
            keep(f"send {label} p50", p50)
            keep(f"send {label} p99", p99)
            keep(f"send {label} CPU ms per send", cpu_ms)
        for policy_id in policies:
            barrier_policy_remove(actor=admin, policy_id=policy_id)
    for key in sorted(results):
        spread(key, results[key], "" if key.startswith("load") else "ms")


def preview() -> None:
    from accounts.models import GroupMembership
    from accounts.services.groups import group_create
    from eim.chat.barriers.violations import violating_conversation_ids, violations
    from eim.chat.models import Conversation, Membership
    from tests.factories import UserFactory

    tag = uuid.uuid4().hex[:6]
    creator = UserFactory(username=f"creator-{tag}")
    people = _people("q", 2000, tag)
    a = group_create(actor=None, display_name=f"A-{tag}", via="bench")
    b = group_create(actor=None, display_name=f"B-{tag}", via="bench")
    GroupMembership.objects.bulk_create(
        [GroupMembership(group=a, user=p) for p in people[:1000]]
        + [GroupMembership(group=b, user=p) for p in people[1000:]],
        batch_size=5000,
    )
    channels = Conversation.objects.bulk_create(
        [Conversation(kind="public", name=f"c{i}-{tag}", created_by=creator) for i in range(1000)]
    )
    rows = []
    for i, channel in enumerate(channels):
        # 100 people drawn from both segments: nearly every channel violates (the worst case).
        chosen = random.Random(i).sample(people, 100)
        rows += [Membership(conversation=channel, user=p) for p in chosen]
    Membership.objects.bulk_create(rows, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE chat_membership")
        cursor.execute("ANALYZE accounts_groupmembership")
    print(f"Preview over {Membership.objects.count():,} memberships, {RUNS} runs")
    full, ids_only = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        found = violations(segment_a=a.pk, segment_b=b.pk)
        full.append(time.perf_counter() - started)
        started = time.perf_counter()
        violating_conversation_ids(segment_a=a.pk, segment_b=b.pk)
        ids_only.append(time.perf_counter() - started)
    involved = found.counts["memberships_a"] + found.counts["memberships_b"]
    print(
        f"  {found.counts['conversations']:,} violating channels, {involved:,} memberships involved"
    )
    spread("preview (listing, members, counts)", full, "s")
    spread("the aggregate query alone", ids_only, "s")
    memberships = Membership.objects.count()
    print(f"  rows/s per core (preview): {memberships / statistics.median(full):,.0f}")


if __name__ == "__main__":
    main()
