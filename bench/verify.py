"""Archive verification benchmark: full verification records/s, and a run in steps resumed
after a kill -9.

It uses its own database (created and migrated if missing) and fills it, once, with
`--records` archive records written by direct SQL (COPY): each a `message.new` record with its
outbox event, hashed and chained exactly as the archiver does, and a signed, witnessed
checkpoint every `--checkpoint-every` records (100,000). Then:

1. Full verification in one snapshot (`verify_archive`), `--runs` times: records/s (median
   and spread) and CPU ms per 1,000 records, the verifier's process and its PostgreSQL backend
   apart.
2. The same in steps (`verify_archive_in_steps`, `--step-records`), `--runs` times.
3. Kill -9: `archive_verify --in-steps` in a process of its own, killed (SIGKILL) once its
   second step has committed; then started again, it resumes from its last step. Prints where
   it was killed, from where it resumed, the resumed run's time and its report.

    .venv/bin/python bench/verify.py                      # 1,000,000 records, 3 runs
    .venv/bin/python bench/verify.py --records 100000 --runs 1

Not a test: it takes minutes. See docs/performance.md for the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var" / "bench" / "verify"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eim_bench_verify"
THROWAWAY_SECRET = "bench-only-" + "v" * 40  # the bench processes only; never a real secret
BODY = "Settlement figures for desk {n} are final; please confirm the ops numbers by 4 pm."
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def options_parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--step-records", type=int, default=200_000)
    parser.add_argument("--checkpoint-every", type=int, default=100_000)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--fresh", action="store_true", help="drop and refill the database")
    parser.add_argument("--skip-kill", action="store_true")
    return parser.parse_args(argv)


# ----- database and Django


def key_files() -> tuple[Path, Path]:
    """A throwaway Ed25519 key pair for the bench's checkpoints: (private, public)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private, public = LOG_DIR / "signing-key.pem", LOG_DIR / "public-key.pem"
    if not private.exists():
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        private.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return private, public


def environment(database_url: str) -> dict[str, str]:
    """Production settings (eim.settings.base), pointed at the bench's database."""
    private, public = key_files()
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "eim.settings.base",
        "DATABASE_URL": database_url,
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "EIM_SECRET_KEY": THROWAWAY_SECRET,
        "EIM_DEBUG": "false",
        "EIM_ARCHIVE_SIGNING_KEY_FILE": str(private),
        "EIM_ARCHIVE_PUBLIC_KEY_FILE": str(public),
        "EIM_ARCHIVE_WITNESS_DIR": str(LOG_DIR / "witness"),
        "EIM_ARCHIVE_VERIFY_STATE": str(LOG_DIR / "verify-state.json"),
        "EIM_ARCHIVE_BLOB_ROOT": str(LOG_DIR / "blobs"),
        "EIM_ARCHIVE_CHECKPOINT_MAX_AGE": str(365 * 86400),  # the bench's records are old
        "EIM_LOG_LEVEL": "WARNING",
    }


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
    if fresh:
        for path in (LOG_DIR / "witness").glob("*.json"):
            path.chmod(0o644)
            path.unlink()
        (LOG_DIR / "verify-state.json").unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True
    )


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path[:0] = [str(ROOT)]
    import django

    django.setup()


# ----- filling the archive by direct SQL


def archive_fill(target: int, every: int) -> None:
    """Records up to `target`, with their outbox events, by COPY; a checkpoint per `every`."""
    from archive.models import ArchiveHead, ArchiveRecord
    from archive.services.checkpoints import checkpoint_create

    head, _ = ArchiveHead.objects.get_or_create(pk=1)
    if head.last_seq >= target:
        return
    conversation_id, actor_id, audience = _channel()
    started = time.monotonic()
    prev_hash, seq = head.last_hash, head.last_seq
    while seq < target:
        upto = min(target, (seq // every + 1) * every)
        prev_hash = _copy_chunk(seq + 1, upto, prev_hash, conversation_id, actor_id, audience)
        ArchiveHead.objects.filter(pk=1).update(last_seq=upto, last_hash=prev_hash)
        seq = upto
        checkpoint_create()
        print(f"  filled {seq:,} records ({time.monotonic() - started:.0f} s)", flush=True)
    assert ArchiveRecord.objects.count() == target


def _channel() -> tuple[int, int, list[int]]:
    from accounts.models import User
    from eim.chat.models import Conversation, ConversationKind, Membership

    user, _ = User.objects.get_or_create(username="verifybench")
    conversation, _ = Conversation.objects.get_or_create(
        name="verify-bench", kind=ConversationKind.PUBLIC, defaults={"created_by": user}
    )
    Membership.objects.get_or_create(conversation=conversation, user=user)
    return conversation.pk, user.pk, [user.pk]


def _copy_chunk(
    first: int, last: int, prev_hash: str, conversation_id: int, actor_id: int, audience: list[int]
) -> str:
    from django.db import connection, transaction
    from django.utils import timezone

    from ledger.canonical import canonical_json, chain_hash

    now = timezone.now() - timedelta(days=30)
    events, records = [], []
    for seq in range(first, last + 1):
        event_id = str(uuid.uuid4())
        occurred = (now + timedelta(milliseconds=seq)).isoformat()
        payload = {
            "message": {
                "id": seq,
                "conversation": conversation_id,
                "seq": seq,
                "body": BODY.format(n=seq),
                "client_id": event_id,
            }
        }
        content = {
            "seq": seq, "event_id": event_id, "type": "message.new",
            "conversation": conversation_id, "conversation_seq": seq, "actor": actor_id,
            "occurred_at": occurred, "archived_at": occurred, "audience": audience,
            "message_id": seq, "original_seq": None, "payload": payload,
        }  # fmt: skip
        canonical = canonical_json(content)
        record_hash = chain_hash(prev_hash, canonical)
        events.append((event_id, conversation_id, seq, "message.new", actor_id,
                       json.dumps(payload), json.dumps(audience), occurred, seq))  # fmt: skip
        records.append((seq, event_id, "message.new", conversation_id, seq, None, actor_id,
                        occurred, occurred, canonical, prev_hash, record_hash))  # fmt: skip
        prev_hash = record_hash
    with transaction.atomic(), connection.cursor() as cursor:
        copy_sql = (
            "COPY chat_conversationevent (event_id, conversation_id, seq, type, actor_id, "
            "payload, audience, occurred_at, archived_seq) FROM STDIN"
        )
        with cursor.cursor.copy(copy_sql) as copy:
            for row in events:
                copy.write_row(row)
        copy_sql = (
            "COPY archive_archiverecord (seq, event_id, event_type, conversation_id, message_id, "
            "original_seq, actor_id, occurred_at, archived_at, canonical, prev_hash, hash) "
            "FROM STDIN"
        )
        with cursor.cursor.copy(copy_sql) as copy:
            for row in records:
                copy.write_row(row)
        cursor.execute(
            "UPDATE chat_conversation SET last_seq = %s WHERE id = %s", [last, conversation_id]
        )
    return prev_hash


# ----- measuring


def backend_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measured(run: Callable[[], Any], records: int) -> dict[str, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    cpu, db_cpu, started = own_cpu_seconds(), backend_cpu_seconds(backend), time.perf_counter()
    report = run()
    seconds = time.perf_counter() - started
    if not report.ok or report.records != records:
        raise RuntimeError(f"{report.records} records verified; {report.problems[:5]}")
    return {
        "seconds": seconds,
        "rate": records / seconds,
        "cpu_ms_per_1000": (own_cpu_seconds() - cpu) * 1e6 / records,
        "db_cpu_ms_per_1000": (backend_cpu_seconds(backend) - db_cpu) * 1e6 / records,
    }


def summary(name: str, runs: list[dict[str, float]]) -> None:
    rates = [r["rate"] for r in runs]
    spread = (max(rates) - min(rates)) / statistics.median(rates) * 100
    cpu = statistics.median(r["cpu_ms_per_1000"] for r in runs)
    db_cpu = statistics.median(r["db_cpu_ms_per_1000"] for r in runs)
    print(
        f"{name}: median {statistics.median(rates):,.0f} records/s "
        f"(runs {', '.join(f'{r:,.0f}' for r in rates)}; spread {spread:.1f} %), "
        f"{statistics.median(r['seconds'] for r in runs):.1f} s; CPU per 1,000 records: "
        f"verifier {cpu:.1f} ms, PostgreSQL {db_cpu:.1f} ms",
        flush=True,
    )


def kill_and_resume(env: dict[str, str], step_records: int) -> None:
    from archive.models import VerificationStep

    command = [sys.executable, "manage.py", "archive_verify", "--json", "--in-steps"]
    command += ["--step-records", str(step_records)]
    before = VerificationStep.objects.count()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE)
    while VerificationStep.objects.count() < before + 2:
        if process.poll() is not None:
            raise RuntimeError("the run ended before it could be killed")
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_after = time.perf_counter() - started
    last = VerificationStep.objects.order_by("-pk").first()
    print(
        f"kill -9 after {killed_after:.1f} s, steps committed up to record {last.to_seq:,}",
        flush=True,
    )
    started = time.perf_counter()
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    resumed = time.perf_counter() - started
    report = json.loads(out.stdout)
    steps = list(VerificationStep.objects.filter(run_key=last.run_key).order_by("step"))
    print(
        f"resumed: steps {[(s.from_seq, s.to_seq) for s in steps[2:]]} in {resumed:.1f} s; "
        f"report ok={report['ok']}, records {report['records']:,}, "
        f"checkpoints {report['checkpoints']}; {len(steps)} steps in all",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> None:
    options = options_parse(argv)
    env = environment(options.database_url)
    database_ensure(options.database_url, env, fresh=options.fresh)
    django_setup(env)
    from archive.verification import verify_archive, verify_archive_in_steps

    archive_fill(options.records, options.checkpoint_every)
    vacuum_analyze()
    print(f"{options.records:,} records, {os.cpu_count()} cores", flush=True)
    one = [
        measured(lambda: verify_archive(record_run=False), options.records)
        for _ in range(options.runs)
    ]
    summary("full verification, one snapshot", one)
    steps = [
        measured(
            lambda: verify_archive_in_steps(step_records=options.step_records), options.records
        )
        for _ in range(options.runs)
    ]
    summary(f"full verification in steps of {options.step_records:,}", steps)
    if not options.skip_kill:
        kill_and_resume(env, options.step_records)


def vacuum_analyze() -> None:
    """After the bulk load, so the plans are the ones production gets."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("archive_archiverecord", "chat_conversationevent"):
            cursor.execute(f"VACUUM ANALYZE {table}")


if __name__ == "__main__":
    main()
