"""What a join that gives a channel's history costs the search index, and what the exposure
view costs, on a large channel.

A member who joins a channel whose history is shown could read every earlier message, so the
indexer rebuilds the documents of every message written before the join, with the joiner in
their audience (docs/search.md, "Who could see it"). This measures that step, the same join
in a channel whose history is hidden, the exposure view of one message, and a participant:
search for the joiner.

    .venv/bin/python bench/exposure.py                     # 20,000 messages, 50 members
    .venv/bin/python bench/exposure.py --messages 100000 --fresh

Uses its own database (`eim_bench_exposure`, created and migrated if missing; `--fresh`
drops it first) on PostgreSQL at 127.0.0.1. The archive and index are fed in-process; no
Celery task is published.
"""

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eim_bench_exposure"


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


def timed(label: str, call):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.3f} s")
    return result, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--members", type=int, default=50)
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
    run(options.messages, options.members)


def run(message_count: int, member_count: int) -> None:
    from django.conf import settings

    from archive.exposure import message_exposure
    from archive.services import archiving
    from archive.services.archiving import archive_pending
    from compliance.search.backends.postgres import PostgresBackend
    from compliance.search.indexing import index_pending
    from compliance.search.query import parse_query
    from compliance.search.results import Order, Scope
    from eim.chat.models import Message
    from eim.chat.services import events
    from eim.chat.services.conversations import (
        conversation_create_channel,
        membership_invite,
        membership_join,
    )
    from eim.chat.services.messages import message_send
    from tests.factories import UserFactory

    settings.EIM_SEND_RATE = "100000000/1"
    events._after_commit_hooks.clear()  # no Celery task is published
    archiving._after_archive_hooks.clear()
    tag = uuid.uuid4().hex[:6]
    backend = PostgresBackend()
    backend.ensure_ready()
    written: list[int] = []
    index_records = backend.index_records

    def counting(batch):  # type: ignore[no-untyped-def]
        written.append(len(batch.documents))
        index_records(batch)

    backend.index_records = counting  # type: ignore[method-assign]
    owner = UserFactory(username=f"owner-{tag}")
    members = [UserFactory(username=f"m{i}-{tag}") for i in range(member_count)]
    shown = conversation_create_channel(creator=owner, name=f"shown-{tag}")
    hidden = conversation_create_channel(creator=owner, name=f"hidden-{tag}", history_visible=False)
    for channel in (shown, hidden):
        membership_invite(actor=owner, conversation_id=channel.pk, user_ids=[m.pk for m in members])

    def fill() -> None:
        for i in range(message_count):
            for channel in (shown, hidden):
                message_send(
                    author=owner,
                    conversation_id=channel.pk,
                    body=f"quarterly numbers line {i} for the desk",
                    client_id=uuid.uuid4(),
                )

    timed(f"send {message_count:,} messages into each of two channels", fill)
    timed("archive them", lambda: archive_pending(max_batches=10**6))
    timed("index them", lambda: index_pending(backend=backend, max_batches=10**6))
    # Autovacuum is off on the development machines: without statistics the planner guesses,
    # and a search for someone who appears nowhere scans the whole table.
    timed("VACUUM (ANALYZE) the search and archive tables", tables_analyze)

    for label, channel in (("history shown", shown), ("history hidden", hidden)):
        joiner = UserFactory(username=f"joiner-{label.split()[1]}-{tag}")
        membership_join(user=joiner, conversation_id=channel.pk)
        archive_pending()
        written.clear()
        indexed, _ = timed(
            f"index the join ({label})", lambda: index_pending(backend=backend, max_batches=10**6)
        )
        print(f"    {indexed} archive record(s) read, {sum(written):,} search rows rewritten")
        query = parse_query(f"participant:{joiner.username}")
        page, _ = timed(
            f"participant:{joiner.username} ({label}), first page",
            lambda q=query: backend.search(q, scope=Scope.everything(), order=Order.NEWEST),
        )
        print(f"    count {page.count:,} (exact: {page.count_exact})")
    first = Message.objects.filter(conversation=shown).order_by("seq").first()
    assert first is not None
    exposure, _ = timed(
        "exposure of the channel's first message", lambda: message_exposure(message_id=first.pk)
    )
    print(f"    {len(exposure.access) if exposure else 0} people")


def tables_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("compliance_search_entry", "archive_archiverecord", "chat_membership"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


if __name__ == "__main__":
    main()
