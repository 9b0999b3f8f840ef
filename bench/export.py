"""Evidence export: messages/s per format, CPU ms per message, peak memory, and the offline
verifier's speed, on an archive of `--messages` messages (100,000 by default: the whole run
takes a few minutes on the 2-core development machine; the issue's 1M is `--messages 1000000`).

    .venv/bin/python bench/export.py                       # 100,000 messages, 3 runs a format
    .venv/bin/python bench/export.py --messages 20000 --runs 1 --formats jsonl,csv

Uses its own database (`eim_export_bench`, created and migrated if missing; `--fresh` drops it
first) and writes exports under var/bench-exports/. Messages are bulk-written to the outbox
as `message_send` writes them, then archived and signed in-process. Each export runs in a
fresh child process (`--one`), so its peak RSS is its own: the run step (every record, its
inclusion proof and the format's files), then the manifest, the signing and the zip.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eim_export_bench"
EXPORT_ROOT = ROOT / "var" / "bench-exports"
KEY_FILE = ROOT / "var" / "bench-export-signing-key.pem"
BODY = "quarterly numbers line {n} for the desk: ACME 4.2% guidance, call me — 株式 {n}"


def database_ensure(database_url: str, env: dict[str, str], *, fresh: bool) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if fresh:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True
    )


def environment(database_url: str) -> dict[str, str]:
    if not KEY_FILE.exists():
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(KEY_FILE)], check=True
        )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "eim.settings.test",
        "DATABASE_URL": database_url,
        "EIM_ARCHIVE_SIGNING_KEY_FILE": str(KEY_FILE),
        "EIM_EXPORT_ROOT": str(EXPORT_ROOT),
        "EIM_ARCHIVE_WITNESS_DIR": str(ROOT / "var" / "bench-export-witness"),
        "PYTHONPATH": str(ROOT),
    }


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    from ledger import signing

    settings.EIM_ARCHIVE_PUBLIC_KEY = signing.public_key_pem(signing.signing_key().public_key())


def archive_fill(count: int, channels: int) -> list[int]:
    """`count` messages over `channels` channels of 5 members, archived and signed; reruns
    reuse what is there."""
    from django.db import transaction
    from django.utils import timezone

    from archive.services.archiving import archive_pending
    from archive.services.checkpoints import checkpoint_create
    from eim.chat.models import Conversation, ConversationEvent, EventType, Membership, Message
    from eim.chat.payloads import message_payload
    from eim.chat.services import events
    from eim.chat.services.conversations import conversation_create_channel, membership_invite
    from tests.factories import UserFactory

    events._after_commit_hooks.clear()
    have = Message.objects.count()
    if have >= count:
        return list(Conversation.objects.order_by("pk").values_list("pk", flat=True))
    tag = uuid.uuid4().hex[:6]
    people = [UserFactory(username=f"p{i}-{tag}") for i in range(5)]
    ids = []
    for c in range(channels):
        channel = conversation_create_channel(creator=people[0], name=f"desk-{c}-{tag}")
        membership_invite(
            actor=people[0], conversation_id=channel.pk, user_ids=[p.pk for p in people[1:]]
        )
        ids.append(channel.pk)
    share = -(-(count - have) // channels)
    for k, cid in enumerate(ids):
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().get(pk=cid)
            audience = sorted(
                Membership.objects.filter(conversation=conversation).values_list("user", flat=True)
            )
            first = conversation.last_seq + 1
            messages = Message.objects.bulk_create(
                [
                    Message(
                        conversation=conversation,
                        author=people[i % 5],
                        body=BODY.format(n=first + i),
                        client_id=uuid.uuid4(),
                        seq=first + i,
                    )
                    for i in range(share)
                ],
                batch_size=2000,
            )
            now = timezone.now()
            ConversationEvent.objects.bulk_create(
                [
                    ConversationEvent(
                        conversation=conversation,
                        seq=m.seq,
                        type=EventType.MESSAGE_NEW,
                        actor_id=m.author_id,
                        payload={"message": message_payload(m)},
                        audience=audience,
                        occurred_at=now,
                    )
                    for m in messages
                ],
                batch_size=2000,
            )
            conversation.last_seq = first + share - 1
            conversation.save(update_fields=["last_seq"])
        print(f"  wrote {share:,} messages into channel {k + 1}/{channels}", flush=True)
    started = time.perf_counter()
    archive_pending(max_batches=10**7)
    print(f"  archived in {time.perf_counter() - started:.1f} s", flush=True)
    checkpoint_create()
    return list(Conversation.objects.order_by("pk").values_list("pk", flat=True))


def _cpu() -> float:
    """CPU seconds of this process and of its children that ended (PDF rendering)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def one(fmt: str, conversation_ids: list[int]) -> dict[str, float]:
    """One export of `fmt` in this (fresh) process: its timings and peak memory."""
    from django.utils import timezone

    from accounts.models import User
    from compliance.export import runner, services
    from compliance.export.models import ExportJob

    maker = User.objects.order_by("pk").first()
    job = ExportJob.objects.create(
        created_by=maker,
        created_at=timezone.now(),
        state="queued",
        scope={"query": "", "message_ids": [], "conversation_ids": conversation_ids},
        options={"formats": [fmt], "since": None, "until": None, "include_attachments": False},
    )
    cpu, wall = _cpu(), time.perf_counter()
    runner.export_run(job_id=str(job.pk))
    run_wall, run_cpu = time.perf_counter() - wall, _cpu() - cpu
    sign_started = time.perf_counter()
    services.export_sign(job_id=str(job.pk))
    sign = time.perf_counter() - sign_started
    package_started = time.perf_counter()
    services.export_package(job_id=str(job.pk))
    package = time.perf_counter() - package_started
    job.refresh_from_db()
    messages = int(job.counts.get("messages", 0))
    return {
        "job": str(job.pk),
        "records": job.done,
        "messages": messages,
        "run_s": run_wall,
        "cpu_ms_per_message": 1000 * run_cpu / max(messages, 1),
        "messages_per_s": messages / run_wall,
        "sign_s": sign,
        "package_s": package,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):,.1f} (min {min(values):,.1f}, max {max(values):,.1f})"
    )


def spread2(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default="jsonl,csv,eml,rsmf,dat,pdf")
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument(
        "--conversations", type=int, default=0, help="export only the first N channels"
    )
    parser.add_argument("--seed-only", action="store_true", help="fill the archive and stop")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    options = parser.parse_args()
    env = environment(options.database_url)
    if options.one:
        django_setup(env)
        fmt, ids = options.one.split(":")
        print(json.dumps(one(fmt, [int(i) for i in ids.split(",")])))
        return
    database_ensure(options.database_url, env, fresh=options.fresh)
    django_setup(env)
    print(f"archive of {options.messages:,} messages in {options.channels} channels", flush=True)
    ids = archive_fill(options.messages, options.channels)
    if options.seed_only:
        return
    ids = ids[: options.conversations] if options.conversations else ids
    results = {}
    for fmt in options.formats.split(","):
        runs = []
        for _ in range(options.runs):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--database-url",
                    options.database_url,
                    "--one",
                    f"{fmt}:{','.join(map(str, ids))}",
                ],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        results[fmt] = runs
        print(
            f"{fmt:6} {runs[0]['messages']:,} messages, {runs[0]['records']:,} records: "
            f"msg/s {spread([r['messages_per_s'] for r in runs])}; "
            f"CPU ms/msg {spread2([r['cpu_ms_per_message'] for r in runs])}; "
            f"peak RSS MB {spread([r['peak_rss_mb'] for r in runs])}; "
            f"sign {statistics.median([r['sign_s'] for r in runs]):.2f} s, "
            f"zip {statistics.median([r['package_s'] for r in runs]):.1f} s; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    if "jsonl" in results:
        folder = EXPORT_ROOT / results["jsonl"][0]["job"] / "export"
        key = ROOT / "var" / "bench-export-public.pem"
        subprocess.run(
            ["openssl", "pkey", "-in", str(KEY_FILE), "-pubout", "-out", str(key)], check=True
        )
        times = []
        for _ in range(options.runs):
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    str(folder / "verify_export.py"),
                    str(folder),
                    "--public-key",
                    str(key),
                ],
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - started)
        records = results["jsonl"][0]["records"]
        print(
            f"verify_export.py on the JSON Lines export ({records:,} records): "
            f"{spread(times)} s, {records / statistics.median(times):,.0f} records/s"
        )


if __name__ == "__main__":
    main()
