"""Evidence export: messages/s per format, CPU ms per message, peak memory, and the offline
verifier's speed, on an archive of `--messages` messages (100,000 by default: the whole run
takes a few minutes on the 2-core development machine; the issue's 1M is `--messages 1000000`).

    .venv/bin/python bench/export.py                       # 100,000 messages, 3 runs a format
    .venv/bin/python bench/export.py --messages 20000 --runs 1 --formats jsonl,csv

Uses its own database (`eim_export_bench`, created and migrated if missing; `--fresh` drops it
first; seed once, then reuse it) and writes exports under var/bench-exports/. Messages, their
archived outbox events and their chained archive records are written by COPY (a million in
about 2 minutes of CPU), then signed, and the archive's block roots kept (as the first
export would keep them). `EIM_EXPORT_WORKERS` (the environment) sets the
processes that write an export's steps; `--profile PREFIX` writes a cProfile of each run.
Each export runs in a fresh child process (`--one`), so its peak RSS is its own: the run step
(every record, its inclusion proof and the format's files), then the manifest, the signing
and the zip; the step processes' peak is reported apart.
"""

import argparse
import cProfile
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eim_export_bench"
EXPORT_ROOT = ROOT / "var" / "bench-exports"
KEY_FILE = ROOT / "var" / "bench-export-signing-key.pem"
NUMBER = "4815162342"
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
    reuse what is there. The channels and their members go through the services; the
    messages are written by COPY, each with its outbox event already archived and its archive
    record chained as `archive_batch` chains it (the same content, canonical JSON and hash),
    so that a million take about a minute rather than an hour."""
    from django.db import connection, transaction

    from archive.models import ArchiveHead
    from archive.services.archiving import archive_pending
    from archive.services.checkpoints import checkpoint_create
    from eim.chat.models import Conversation, Membership, Message
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
    archive_pending(max_batches=10**7)
    share = -(-(count - have) // channels)
    started = time.perf_counter()
    for k, cid in enumerate(ids):
        with transaction.atomic():
            head = ArchiveHead.objects.select_for_update().get(pk=1)
            conversation = Conversation.objects.select_for_update().get(pk=cid)
            audience = sorted(
                Membership.objects.filter(conversation=conversation).values_list("user", flat=True)
            )
            head.last_seq, head.last_hash = _copy_messages(
                connection, conversation, people, audience, share, head.last_seq, head.last_hash
            )
            head.save(update_fields=["last_seq", "last_hash"])
            conversation.last_seq += share
            conversation.save(update_fields=["last_seq"])
        print(f"  wrote and archived {share:,} messages in channel {k + 1}/{channels}", flush=True)
    print(f"  {time.perf_counter() - started:.1f} s", flush=True)
    checkpoint_create()
    return list(Conversation.objects.order_by("pk").values_list("pk", flat=True))


def _copy_messages(
    connection, conversation, people, audience, share, seq, prev_hash
) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """COPY `share` messages of `conversation` with their archived events and their chained
    archive records after (seq, prev_hash); returns the archive's new (seq, hash)."""
    from django.utils import timezone

    from archive.services.archiving import record_content
    from eim.chat.models import EventType, Message
    from eim.chat.payloads import message_payload
    from ledger.canonical import canonical_json, chain_hash

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('chat_message', 'id'), "
            "(SELECT COALESCE(MAX(id), 1) FROM chat_message) + %s)",
            [share],
        )
        first_id = int(cursor.fetchone()[0]) - share + 1
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('chat_conversationevent', 'id'), "
            "(SELECT COALESCE(MAX(id), 1) FROM chat_conversationevent) + %s)",
            [share],
        )
        first_event = int(cursor.fetchone()[0]) - share + 1
    raw = connection.connection.cursor()
    now = timezone.now()
    # Each author's payload made once by message_payload, then varied per message (the body's
    # number renders to the same HTML with another number).
    templates = {
        p.pk: message_payload(
            Message(
                pk=0,
                conversation_id=conversation.pk,
                author=p,
                body=BODY.format(n=NUMBER),
                client_id=uuid.UUID(int=0),
                seq=0,
                created_at=now,
            )
        )
        for p in people
    }
    messages, events, records = [], [], []
    for i in range(share):
        author, number = people[i % 5], conversation.last_seq + 1 + i
        client_id, event_id = uuid.uuid4(), uuid.uuid4()
        message = {
            **templates[author.pk],
            "id": first_id + i,
            "seq": number,
            "client_id": str(client_id),
            "body": BODY.format(n=number),
            "html": templates[author.pk]["html"].replace(NUMBER, str(number)),
        }
        payload = {"message": message}
        seq += 1
        event = SimpleNamespace(
            event_id=event_id,
            conversation_id=conversation.pk,
            seq=number,
            type=EventType.MESSAGE_NEW,
            actor_id=author.pk,
            payload=payload,
            audience=audience,
            occurred_at=now,
        )
        canonical = canonical_json(
            record_content(
                seq=seq, event=event, archived_at=now, message_id=message["id"], original_seq=None
            )
        )
        record_hash = chain_hash(prev_hash, canonical)
        messages.append(
            (message["id"], message["body"], client_id, number, now, author.pk, conversation.pk)
        )
        events.append(
            (
                first_event + i,
                event_id,
                number,
                event.type,
                canonical_json(payload),
                canonical_json(audience),
                now,
                author.pk,
                conversation.pk,
                seq,
            )
        )
        records.append(
            (
                seq,
                event_id,
                event.type,
                conversation.pk,
                message["id"],
                author.pk,
                now,
                now,
                canonical,
                prev_hash,
                record_hash,
            )
        )
        prev_hash = record_hash
    copies = (
        (
            "chat_message (id, body, client_id, seq, created_at, author_id, conversation_id)",
            messages,
        ),
        (
            "chat_conversationevent (id, event_id, seq, type, payload, audience, occurred_at, "
            "actor_id, conversation_id, archived_seq)",
            events,
        ),
        (
            "archive_archiverecord (seq, event_id, event_type, conversation_id, message_id, "
            "actor_id, occurred_at, archived_at, canonical, prev_hash, hash)",
            records,
        ),
    )
    for target, rows in copies:
        with raw.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return seq, prev_hash


def _cpu() -> float:
    """CPU seconds of this process and of its children that ended (PDF rendering)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


class BackendCPU:
    """CPU seconds of the PostgreSQL backends serving this run (the export's and its step
    processes': the run's own application name, PGAPPNAME), sampled from /proc every
    `every` seconds by a thread on a connection of its own (left out). A backend that ends
    loses at most its last interval; the server must be on this machine (else 0)."""

    def __init__(self, every: float = 0.25) -> None:
        import threading

        from django.db import connection

        db = connection.settings_dict
        self._dsn = {
            "dbname": db["NAME"],
            "user": db["USER"],
            "password": db["PASSWORD"],
            "host": db["HOST"],
            "port": db["PORT"],
        }
        self._every = every
        self._seen: dict[int, tuple[float, float]] = {}  # pid: (first, last)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @staticmethod
    def _ticks(pid: int) -> float | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _sample(self, conn: object, first: bool) -> None:
        rows = conn.execute(  # type: ignore[attr-defined]
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = current_setting('application_name') "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
        for (pid,) in rows:
            ticks = self._ticks(pid)
            if ticks is not None:
                start = self._seen.get(pid, (ticks if first else 0.0, 0.0))[0]
                self._seen[pid] = (start, ticks)

    def _watch(self) -> None:
        import psycopg

        with psycopg.connect(**self._dsn, autocommit=True) as conn:
            self._sample(conn, True)
            self._ready.set()
            while not self._stop.wait(self._every):
                self._sample(conn, False)
            self._sample(conn, False)

    def __enter__(self) -> "BackendCPU":
        import threading

        self._ready = threading.Event()
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float:
        return sum(last - first for first, last in self._seen.values())


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
    backends = BackendCPU()
    with backends:
        cpu, wall = _cpu(), time.perf_counter()
        profile = os.environ.get("EIM_BENCH_PROFILE")
        if profile:  # where the run step's time goes, for docs/performance.md
            cProfile.runctx(
                "runner.export_run(job_id=str(job.pk))",
                globals(),
                locals(),
                f"{profile}-{fmt}.prof",
            )
        else:
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
        "pg_cpu_ms_per_message": 1000 * backends.seconds / max(messages, 1),
        "messages_per_s": messages / run_wall,
        "sign_s": sign,
        "package_s": package,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def statistics_gather() -> None:
    """ANALYZE the database, as autovacuum does after a bulk load: the export's window reads
    are planned from the statistics (without them, on a server with autovacuum off, each
    window of a dense scope was read by the wrong index and sorted on disk: 7 of the 10 µs
    of PostgreSQL's CPU a CSV record cost)."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"statistics gathered: {time.perf_counter() - started:.1f} s", flush=True)


def roots_keep() -> None:
    """Keep the archive's block roots as the first export after the seeding would, so that
    every run measured is a later export's (docs/export.md, "Kept block roots")."""
    from archive import proofs

    started = time.perf_counter()
    size = proofs.newest_checkpoint_size()
    if size:
        proofs.checkpoint_prover(tree_size=size)
        print(f"block roots of checkpoint {size:,} kept: {time.perf_counter() - started:.1f} s")


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
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="profile each run step (cProfile) into PREFIX-<format>.prof, in the worker only",
    )
    parser.add_argument(
        "--verify-runs",
        type=int,
        help="runs of verify_export.py on the JSON Lines export (default: --runs; 0: none)",
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    options = parser.parse_args()
    env = environment(options.database_url)
    if options.profile:
        env = {**env, "EIM_BENCH_PROFILE": str(Path(options.profile).resolve())}
    if options.one:
        django_setup(env)
        fmt, ids = options.one.split(":")
        print(json.dumps(one(fmt, [int(i) for i in ids.split(",")])))
        return
    database_ensure(options.database_url, env, fresh=options.fresh)
    django_setup(env)
    print(f"archive of {options.messages:,} messages in {options.channels} channels", flush=True)
    ids = archive_fill(options.messages, options.channels)
    statistics_gather()
    roots_keep()
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
                env={**env, "PGAPPNAME": f"export-bench-{uuid.uuid4().hex[:12]}"},
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
            f"CPU ms/msg {spread2([r['cpu_ms_per_message'] for r in runs])}, "
            f"PostgreSQL's {spread2([r['pg_cpu_ms_per_message'] for r in runs])}; "
            f"peak RSS MB {spread([r['peak_rss_mb'] for r in runs])}; "
            f"children's peak RSS MB {spread([r['children_peak_rss_mb'] for r in runs])}; "
            f"sign {statistics.median([r['sign_s'] for r in runs]):.2f} s, "
            f"zip {statistics.median([r['package_s'] for r in runs]):.1f} s; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    verify_runs = options.runs if options.verify_runs is None else options.verify_runs
    if "jsonl" in results and verify_runs:
        folder = EXPORT_ROOT / results["jsonl"][0]["job"] / "export"
        key = ROOT / "var" / "bench-export-public.pem"
        subprocess.run(
            ["openssl", "pkey", "-in", str(KEY_FILE), "-pubout", "-out", str(key)], check=True
        )
        times = []
        for _ in range(verify_runs):
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
