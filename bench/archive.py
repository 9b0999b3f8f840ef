"""Archive benchmark: lag at an offered send rate, and how fast the archiver drains a backlog.

It uses its own database (created and migrated if missing) and its own redis-server (channel
layer, cache and Celery broker), starts real `celery worker` / `celery beat` processes, and
stops every process it started on exit.

1. Lag: producer processes send through `message_send` on a fixed schedule (open loop: a late
   send never delays the next one) at `--rate` msg/s for `--duration` s, with the first
   `--workers` count of worker instances and beat running as in production. For every record:
   `archived_at - occurred_at` as the record states it, and the moment its commit became visible
   (a watcher polls the archive head every 10 ms) minus `occurred_at`.
2. Drain: with no worker running, a backlog of `--backlog` pending `message.new` events is
   written straight into the outbox (the same payload `message_send` writes, bulk-inserted so
   it takes seconds, not minutes); then N worker instances start, each pool process gets one
   wake-up, and the bench times the drain: total records/s, and the steady rate between 10 %
   and 90 % done (the sustained throughput). Once for each N in `--workers`.

    .venv/bin/python bench/archive.py                       # 100 msg/s, 30 s; 20,000; 1 and 2
    .venv/bin/python bench/archive.py --rate 200 --workers 1,2,4 --profile

See docs/performance.md for the figures.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var" / "bench" / "archive"
CELERY = ROOT / ".venv" / "bin" / "celery"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eim_bench_archive"
THROWAWAY_SECRET = "bench-only-" + "y" * 40  # the bench processes only; never a real secret
BODY = "Settlement figures for desk {n} are final; please confirm the @ops numbers by 4 pm."
USER_PREFIX = "archbench"
RUN_TAG = time.strftime("%Y%m%d-%H%M%S")
LAG_TARGET_P99 = 1.0  # seconds
DEFAULT_QUEUE_CONCURRENCY = 1  # the default queue's worker, as deploy/Procfile runs it
DRAIN_TARGET = 1000.0  # records/s


# ----- options


@dataclass(frozen=True)
class Options:
    rate: float
    duration: float
    producers: int
    threads: int
    workers: list[int]
    concurrency: int
    backlog: int
    database_url: str
    worker_env: dict[str, str]
    fresh: bool
    profile: bool
    skip_lag: bool
    skip_drain: bool
    wait_quiet: float
    shared_queue: bool
    retries: int


def options_parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--rate", type=float, default=100.0, help="offered msg/s in the lag run")
    add("--duration", type=float, default=30.0, help="seconds of the lag run")
    add("--producers", type=int, default=2, help="producer processes")
    add("--threads", type=int, default=4, help="sending threads per producer (one user each)")
    add("--workers", default="1,2", help="worker instances; a comma list drains once each")
    add("--concurrency", type=int, default=2, help="prefork pool processes per worker")
    add("--backlog", type=int, default=20_000, help="pending events to drain")
    add("--database-url", default=DATABASE_URL)
    add("--worker-env", action="append", default=[], help="NAME=VALUE for the workers")
    add("--fresh", action="store_true", help="drop and recreate the bench database first")
    add("--profile", action="store_true", help="py-spy the first drain's workers")
    add("--skip-lag", action="store_true")
    add("--skip-drain", action="store_true")
    add("--wait-quiet", type=float, default=60.0, help="max s to wait for an idle machine")
    add(
        "--shared-queue",
        action="store_true",
        help="workers serve both queues (archive and celery, search indexing among the "
        "latter) instead of the production layout: archive workers, plus one default worker",
    )
    add("--retries", type=int, default=2, help="repeats of a run that others disturbed")
    args = parser.parse_args(argv)
    return Options(
        rate=args.rate,
        duration=args.duration,
        producers=args.producers,
        threads=args.threads,
        workers=[int(n) for n in args.workers.split(",")],
        concurrency=args.concurrency,
        backlog=args.backlog,
        database_url=args.database_url,
        worker_env=dict(item.split("=", 1) for item in args.worker_env),
        fresh=args.fresh,
        profile=args.profile,
        skip_lag=args.skip_lag,
        skip_drain=args.skip_drain,
        wait_quiet=args.wait_quiet,
        shared_queue=args.shared_queue,
        retries=args.retries,
    )


# ----- database, Redis, Django


def database_ensure(database_url: str, env: dict[str, str], *, fresh: bool) -> None:
    """Create the bench database if it is missing (or --fresh), then migrate it."""
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def redis_running() -> Iterator[str]:
    """A redis-server of the benchmark's own: channel layer, cache and Celery broker."""
    port = free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / "redis.log").open("wb") as log:
        process = subprocess.Popen(
            [
                *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(LOG_DIR)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 10
        while not port_open(port):
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def signing_key_file() -> Path:
    """A throwaway Ed25519 key for the bench's checkpoints."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = LOG_DIR / "signing-key.pem"
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return path


def environment(options: Options, redis_url: str) -> dict[str, str]:
    """Production settings (eim.settings.base), pointed at the bench's database and Redis."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "eim.settings.base",
        "DATABASE_URL": options.database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "EIM_CHANNEL_PREFIX": "eimarchbench",
        "EIM_CACHE_PREFIX": "eimarchbench",
        "EIM_SECRET_KEY": THROWAWAY_SECRET,
        "EIM_DEBUG": "false",
        # The bench connects as the superuser that makes its database (docs/database-roles.md).
        "EIM_ALLOW_PRIVILEGED_DATABASE_ROLE": "true",
        "EIM_SEND_RATE": "1000000/1",  # the per-user limit must not shape the offered load
        "EIM_ARCHIVE_SIGNING_KEY_FILE": str(signing_key_file()),
        "EIM_ARCHIVE_BLOB_ROOT": str(LOG_DIR / "blobs"),
        "EIM_MEDIA_ROOT": str(LOG_DIR / "media"),
        "EIM_LOG_LEVEL": "WARNING",
    }


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path[:0] = [str(ROOT), str(LOG_DIR)]
    import django

    django.setup()


# ----- people and channels


@dataclass(frozen=True)
class Sender:
    user_id: int
    conversation_id: int


def senders_ensure(count: int) -> list[Sender]:
    """One user and one channel (with a reader) per sending thread; reruns reuse them."""
    from django.db import connections

    from accounts.models import Role, RoleGrant, User
    from eim.chat.models import Conversation
    from eim.chat.services.conversations import conversation_create_channel, membership_invite

    senders = []
    for n in range(count):
        author, reader = (
            User.objects.get_or_create(
                username=f"{USER_PREFIX}-{role}{n:03d}", defaults={"display_name": f"Bench {n}"}
            )[0]
            for role in ("author", "reader")
        )
        for user in (author, reader):  # load-test people, written like bench/chat.py's
            RoleGrant.objects.get_or_create(user=user, role=Role.EMPLOYEE)
        channel = Conversation.objects.filter(name=f"{USER_PREFIX}-{n:03d}").first()
        if channel is None:
            channel = conversation_create_channel(creator=author, name=f"{USER_PREFIX}-{n:03d}")
            membership_invite(actor=author, conversation_id=channel.pk, user_ids=[reader.pk])
        senders.append(Sender(user_id=author.pk, conversation_id=channel.pk))
    connections.close_all()
    return senders


# ----- Celery processes


@dataclass
class Celery:
    """Worker instances (and beat) of one phase; their logs go to var/bench/archive/."""

    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = LOG_DIR / f"{RUN_TAG}-{name}.log"  # kept per run: the task timings are in there
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(CELERY), "-A", "eim", *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the bench, which stops them in order
            )
        self.processes.append(process)
        self.logs.append(log)
        return process

    def worker(self, name: str, concurrency: int, queue: str) -> subprocess.Popen[bytes]:
        return self._spawn(
            name,
            [
                *("worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--pool=prefork"),
                *("-Q", queue, "-n", f"{name}@%h"),
            ],
        )

    def beat(self) -> None:
        self._spawn("beat", ["beat", "--loglevel=INFO", "-s", str(LOG_DIR / "beat-schedule")])

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        workers = [log for log in self.logs if not log.name.endswith("-beat.log")]
        while time.monotonic() < deadline:
            if all(" ready." in log.read_text(errors="replace") for log in workers):
                return
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"a Celery process exited; see {LOG_DIR}")
            time.sleep(0.1)
        raise RuntimeError(f"workers not ready after {timeout} s; see {LOG_DIR}")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()


@contextlib.contextmanager
def celery_running(
    env: dict[str, str],
    workers: int,
    concurrency: int,
    *,
    beat: bool,
    tag: str,
    shared_queue: bool,
    default_queue: bool = True,
) -> Iterator[Celery]:
    """`workers` instances on the archive queue and, if `default_queue`, one more on the
    default queue (search indexing and the rest), as deploy/Procfile runs them; with
    `shared_queue`, the `workers` instances serve both queues and no other is started."""
    celery = Celery(env=env)
    try:
        for n in range(workers):
            queues = "archive,celery" if shared_queue else "archive"
            celery.worker(f"{tag}-w{n}", concurrency, queue=queues)
        if default_queue and not shared_queue:
            celery.worker(f"{tag}-default", DEFAULT_QUEUE_CONCURRENCY, queue="celery")
        if beat:
            celery.beat()
        celery.wait_ready()
        yield celery
    finally:
        celery.stop()


def pool_pids(worker_pid: int) -> list[int]:
    path = Path(f"/proc/{worker_pid}/task/{worker_pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


# ----- figures


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": ordered[-1]}


def ms(stats: dict[str, float]) -> str:
    return ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in stats.items())


def pending_count() -> int:
    from eim.chat.models import ConversationEvent

    return ConversationEvent.objects.filter(archived_seq__isnull=True).count()


def head_seq() -> int:
    from archive.models import ArchiveHead

    return ArchiveHead.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0


def wait_drained(timeout: float) -> float:
    """Seconds until nothing is pending (polled every 50 ms)."""
    started = time.monotonic()
    while pending_count():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{pending_count()} events still pending after {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def index_behind() -> int:
    """Archive records the search index has not reached yet."""
    from compliance.search.indexing import index_status

    return int(index_status()["lag_records"])


CHURNED_TABLES = (
    "chat_conversationevent",  # every event is updated once (archived_seq), never HOT
    "chat_conversation",  # last_seq
    "archive_archivehead",
    "compliance_searchindexstate",
)


def vacuum() -> None:
    """What autovacuum would do in production. This machine's PostgreSQL runs with autovacuum
    off (a CI setting): without it the outbox's dead tuples pile up and the sweeper's
    pending-summary query slows from milliseconds to seconds."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(CHURNED_TABLES)}")


def pipeline_settle(env: dict[str, str], options: Options) -> None:
    """Archive anything pending, let the search index catch up and vacuum, so a run starts
    from the steady state (an earlier or interrupted run may have left work behind)."""
    from archive.tasks import archive_pending_task

    vacuum()
    if not pending_count() and not index_behind():
        return
    started = time.monotonic()
    with celery_running(
        env, 1, options.concurrency, beat=True, tag="settle", shared_queue=options.shared_queue
    ):
        archive_pending_task.delay()
        wait_drained(timeout=300)
        while index_behind():
            if time.monotonic() - started > 900:
                raise RuntimeError(f"the search index is still {index_behind()} records behind")
            time.sleep(0.5)
    vacuum()
    print(f"  (settled: archive and search index caught up in {time.monotonic() - started:.0f} s)")


# ----- the lag run


@dataclass(frozen=True)
class ProducerPlan:
    env: dict[str, str]
    senders: list[Sender]
    slots: list[list[float]]  # per sender: offsets (s) from the start time


@dataclass
class ProducerResult:
    sent: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    ack_seconds: list[float] = field(default_factory=list)
    late_seconds: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0


def producer_process(plan: ProducerPlan, conn: Connection) -> None:
    """One producer: a thread per sender, each sending on its own schedule."""
    django_setup(plan.env)
    from django.db import connections

    from accounts.models import User
    from eim.chat.services.messages import message_send

    authors = User.objects.in_bulk([s.user_id for s in plan.senders])
    connections.close_all()
    result = ProducerResult()
    lock = threading.Lock()

    def send_all(sender: Sender, slots: list[float], start: float) -> None:
        author = authors[sender.user_id]
        for n, offset in enumerate(slots):
            late = time.time() - (start + offset)
            if late < 0:
                time.sleep(-late)
            began = time.perf_counter()
            try:
                message_send(
                    author=author,
                    conversation_id=sender.conversation_id,
                    body=BODY.format(n=n),
                    client_id=uuid.uuid4(),
                )
            except Exception as exc:  # counted and reported, never fatal to the run
                with lock:
                    result.errors[type(exc).__name__] += 1
                continue
            with lock:
                result.sent += 1
                result.ack_seconds.append(time.perf_counter() - began)
                result.late_seconds.append(max(late, 0.0))
        connections.close_all()

    conn.send("ready")
    start = conn.recv()
    cpu_started = time.process_time()
    threads = [
        threading.Thread(target=send_all, args=(sender, slots, start))
        for sender, slots in zip(plan.senders, plan.slots, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.2)  # the last wake-up is published from a timer thread
    result.cpu_seconds = time.process_time() - cpu_started
    conn.send(result)


class HeadWatcher:
    """Polls the archive head every 10 ms: when each record's commit became visible.
    (`read` polls another position instead: bench/scan_lag.py watches the scan state.)"""

    def __init__(self, read: Callable[[], int] | None = None) -> None:
        self.read = read or head_seq
        self.times: list[float] = []
        self.seqs: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from django.db import connection

        while not self._stop.is_set():
            seq = self.read()
            if not self.seqs or seq > self.seqs[-1]:
                self.times.append(time.time())
                self.seqs.append(seq)
            time.sleep(0.01)
        connection.close()

    def __enter__(self) -> HeadWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def visible_at(self, seq: int) -> float | None:
        index = bisect.bisect_left(self.seqs, seq)
        return self.times[index] if index < len(self.times) else None


def schedule(options: Options, senders: list[Sender]) -> list[list[float]]:
    """Message i at i / rate seconds, round-robin over the senders."""
    slots: list[list[float]] = [[] for _ in senders]
    for i in range(int(options.rate * options.duration)):
        slots[i % len(senders)].append(i / options.rate)
    return slots


def producers_run(
    options: Options, env: dict[str, str], senders: list[Sender]
) -> tuple[ProducerResult, float]:
    """Run the producers; returns their merged result and the wall time of the run."""
    context = multiprocessing.get_context("spawn")
    slots = schedule(options, senders)
    per = options.threads
    pipes, processes = [], []
    for p in range(options.producers):
        plan = ProducerPlan(
            env=env, senders=senders[p * per : (p + 1) * per], slots=slots[p * per : (p + 1) * per]
        )
        parent, child = context.Pipe()
        process = context.Process(target=producer_process, args=(plan, child), daemon=True)
        process.start()
        pipes.append(parent)
        processes.append(process)
    for pipe in pipes:
        if pipe.recv() != "ready":
            raise RuntimeError("a producer did not start")
    start = time.time() + 0.5
    for pipe in pipes:
        pipe.send(start)
    merged = ProducerResult()
    for pipe in pipes:
        result: ProducerResult = pipe.recv()
        merged.sent += result.sent
        merged.errors.update(result.errors)
        merged.ack_seconds += result.ack_seconds
        merged.late_seconds += result.late_seconds
        merged.cpu_seconds += result.cpu_seconds
    wall = time.time() - start
    for process in processes:
        process.join(timeout=10)
    return merged, wall


@dataclass
class LagReport:
    label: str
    index_behind: int
    offered: float
    achieved: float
    sent: int
    errors: dict[str, int]
    ack: dict[str, float]
    late: dict[str, float]
    records: int
    lag_stamped: dict[str, float]
    lag_visible: dict[str, float]
    drained_after: float
    cpu: dict[str, float]


def lag_measure(
    options: Options, env: dict[str, str], senders: list[Sender], *, label: str
) -> LagReport:
    from archive.models import ArchiveRecord

    before, index_before = head_seq(), index_behind()
    with (
        celery_running(
            env,
            options.workers[0],
            options.concurrency,
            beat=True,
            tag="lag-" + label.split()[0],
            shared_queue=options.shared_queue,
        ),
        HeadWatcher() as watcher,
    ):
        cpu_before = cpu_snapshot()
        result, wall = producers_run(options, env, senders)
        drained_after = wait_drained(timeout=120)
        cpu_after = cpu_snapshot()
        time.sleep(0.05)
    cpu = cpu_use(cpu_before, cpu_after, urlsplit(options.database_url).path[1:])
    # The producers have exited by now: they measure their own CPU.
    cpu["producers"] = round(100 * result.cpu_seconds / (cpu_after.at - cpu_before.at), 1)
    cpu["ms per message"] = round(
        sum(v for k, v in cpu.items() if k in OURS)
        / 100
        * (cpu_after.at - cpu_before.at)
        * 1000
        / max(result.sent, 1),
        1,
    )
    rows = (
        ArchiveRecord.objects.filter(seq__gt=before, event_type="message.new")
        .order_by("seq")
        .values_list("seq", "occurred_at", "archived_at")
    )
    stamped, visible = [], []
    for seq, occurred_at, archived_at in rows:
        stamped.append((archived_at - occurred_at).total_seconds())
        seen = watcher.visible_at(seq)
        if seen is not None:
            visible.append(seen - occurred_at.timestamp())
    return LagReport(
        label=label,
        index_behind=index_before,
        offered=options.rate,
        achieved=result.sent / wall,
        sent=result.sent,
        errors=dict(result.errors),
        ack=percentiles(result.ack_seconds),
        late=percentiles(result.late_seconds),
        records=len(stamped),
        lag_stamped=percentiles(stamped),
        lag_visible=percentiles(visible),
        drained_after=drained_after,
        cpu=cpu,
    )


# ----- the drain run


def backlog_create(count: int, senders: list[Sender]) -> None:
    """`count` pending message.new events, as message_send writes them, in bulk."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import User
    from eim.chat.models import Conversation, ConversationEvent, EventType, Membership, Message
    from eim.chat.payloads import message_payload

    authors = User.objects.in_bulk([s.user_id for s in senders])
    share = -(-count // len(senders))
    for k, sender in enumerate(senders):
        n = min(share, count - k * share)
        if n <= 0:
            break
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().get(pk=sender.conversation_id)
            audience = sorted(
                Membership.objects.filter(conversation=conversation).values_list("user", flat=True)
            )
            first = conversation.last_seq + 1
            messages = Message.objects.bulk_create(
                [
                    Message(
                        conversation=conversation,
                        author=authors[sender.user_id],
                        body=BODY.format(n=first + i),
                        client_id=uuid.uuid4(),
                        seq=first + i,
                    )
                    for i in range(n)
                ],
                batch_size=1000,
            )
            now = timezone.now()
            ConversationEvent.objects.bulk_create(
                [
                    ConversationEvent(
                        conversation=conversation,
                        seq=message.seq,
                        type=EventType.MESSAGE_NEW,
                        actor_id=sender.user_id,
                        payload={"message": message_payload(message)},
                        audience=audience,
                        occurred_at=now,
                    )
                    for message in messages
                ],
                batch_size=1000,
            )
            conversation.last_seq = first + n - 1
            conversation.save(update_fields=["last_seq"])


@dataclass
class DrainReport:
    workers: int
    processes: int
    records: int
    seconds: float
    rate: float
    steady_rate: float
    profile: list[tuple[str, float]]
    cpu: dict[str, float]


def drain_measure(
    options: Options, env: dict[str, str], senders: list[Sender], workers: int, *, profile: bool
) -> DrainReport:
    from archive.tasks import archive_pending_task

    if pending_count():
        raise RuntimeError("events are pending before the drain; run the lag phase's drain first")
    made = time.monotonic()
    backlog_create(options.backlog, senders)
    print(f"  backlog of {options.backlog} events written in {time.monotonic() - made:.1f} s")
    before = head_seq()
    # The default queue's worker is left out: the drain measures the archive alone, and the
    # search index is left --backlog records behind (with --shared-queue the archive workers
    # index too, as they drain).
    with celery_running(
        env,
        workers,
        options.concurrency,
        beat=False,
        tag=f"drain{workers}",
        shared_queue=options.shared_queue,
        default_queue=False,
    ) as c:
        spy = py_spy_start(c.processes) if profile else None
        samples: list[tuple[float, int]] = []
        cpu_before = cpu_snapshot()
        started = time.monotonic()
        for _ in range(workers * options.concurrency):
            archive_pending_task.delay()
        while (left := pending_count()) > 0:
            samples.append((time.monotonic() - started, options.backlog - left))
            if time.monotonic() - started > 300:
                raise RuntimeError(f"{left} events still pending after 300 s")
            time.sleep(0.05)
        seconds = time.monotonic() - started
        cpu = cpu_use(cpu_before, cpu_snapshot(), urlsplit(options.database_url).path[1:])
        hot = py_spy_stop(spy) if spy else []
    records = head_seq() - before
    return DrainReport(
        workers=workers,
        processes=workers * options.concurrency,
        records=records,
        seconds=seconds,
        rate=records / seconds,
        steady_rate=steady(samples, options.backlog),
        profile=hot,
        cpu=cpu,
    )


def steady(samples: list[tuple[float, int]], total: int) -> float:
    """records/s between 10 % and 90 % done: the sustained rate, without start-up and tail."""
    low = next((s for s in samples if s[1] >= 0.1 * total), None)
    high = next((s for s in samples if s[1] >= 0.9 * total), None)
    if low is None or high is None or high[0] <= low[0]:
        return 0.0
    return (high[1] - low[1]) / (high[0] - low[0])


# ----- profiling the workers


@dataclass
class Spy:
    process: subprocess.Popen[bytes]
    output: Path


def py_spy_start(celery: list[subprocess.Popen[bytes]]) -> Spy:
    output = LOG_DIR / "drain-profile.txt"
    binary = Path(sys.executable).with_name("py-spy")
    process = subprocess.Popen(
        [
            *(str(binary), "record", "--pid", str(celery[0].pid), "--subprocesses", "--idle"),
            *("--rate", "200", "--format", "raw", "--output", str(output)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(1.0)  # py-spy attaches to every process first
    return Spy(process=process, output=output)


FRAME = re.compile(r"^(?P<function>.+) \((?P<file>[^:()]+):(?P<line>\d+)\)$")
STEP_FILES = ("archive/tasks.py", "archive/services/archiving.py")


def py_spy_stop(spy: Spy) -> list[tuple[str, float]]:
    """Where archive_pending_task spends its time, by the statement of the archive code that
    was running (the deepest frame in archive/tasks.py or archiving.py): % of its samples."""
    spy.process.send_signal(signal.SIGINT)
    spy.process.wait(timeout=60)
    steps: Counter[str] = Counter()
    for line in spy.output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [FRAME.match(frame) for frame in stack.split(";")]
        if not any(f and f["function"] == "archive_pending_task" for f in frames):
            continue
        steps[step_of(frames)] += int(count)
    total = sum(steps.values())
    return [(step, 100 * n / total) for step, n in steps.most_common(12)] if total else []


def step_of(frames: list[re.Match[str] | None]) -> str:
    deepest = max(
        (i for i, f in enumerate(frames) if f and f["file"].endswith(STEP_FILES)), default=None
    )
    if deepest is None:
        return "celery"
    frame = frames[deepest]
    assert frame is not None
    callee = frames[deepest + 1] if deepest + 1 < len(frames) else None
    if callee and callee["function"].startswith("ContextDecorator"):  # @transaction.atomic
        below = frames[deepest + 2] if deepest + 2 < len(frames) else None
        return f"transaction {below['function'] if below else 'begin/commit'}"
    source = (ROOT / frame["file"]).read_text().splitlines()[int(frame["line"]) - 1].strip()
    return f"{frame['file'].rsplit('/', 1)[1]}:{frame['line']} {source[:70]}"


# ----- CPU: what else ran on the machine


@dataclass(frozen=True)
class CpuSnapshot:
    at: float
    busy: int
    total: int
    processes: dict[int, tuple[str, int, int, int]]  # pid -> (command, ppid, ticks, reaped)


def cpu_snapshot() -> CpuSnapshot:
    fields = [int(v) for v in Path("/proc/stat").read_text().split()[1:11]]
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_text().replace("\0", " ").strip()
            own, reaped = int(stat[11]) + int(stat[12]), int(stat[13]) + int(stat[14])
            processes[int(entry.name)] = (command, int(stat[1]), own, reaped)
    idle = fields[3] + fields[4]
    return CpuSnapshot(time.monotonic(), sum(fields) - idle, sum(fields), processes)


def cpu_category(pid: int, command: str, ours: set[int], database: str) -> str:
    if pid == os.getpid():
        return "bench"
    if pid in ours:
        markers = (("-default", "default worker"), ("worker", "workers"), ("beat", "beat"))
        for marker, name in (*markers, ("redis", "redis")):
            if marker in command:
                return name
        return "producers" if "multiprocessing" in command else "bench"
    if command.startswith("postgres: "):
        helper = " postgres " not in command  # checkpointer, walwriter, autovacuum, ...
        return "postgres" if helper or database in command else "others"
    return "postgres" if "bin/postgres" in command else "others"


def cpu_use(before: CpuSnapshot, after: CpuSnapshot, database: str) -> dict[str, float]:
    """% of one core by component over the window; `machine` is % of all cores busy.

    The postmaster's reaped children count as PostgreSQL: with CONN_MAX_AGE 0 a task's backend
    exits within the window (a concurrent run's exited backends land there too).
    """
    ours, changed = {os.getpid()}, True
    while changed:
        children = {pid for pid, (_, ppid, *_) in after.processes.items() if ppid in ours}
        changed = not children <= ours
        ours |= children
    hz, wall = os.sysconf("SC_CLK_TCK"), after.at - before.at
    use: Counter[str] = Counter()
    for pid, (command, _, own, reaped) in after.processes.items():
        was = before.processes.get(pid, (command, 0, 0, 0))
        name = cpu_category(pid, command, ours, database)
        ticks = own - was[2] + (reaped - was[3] if "bin/postgres" in command else 0)
        use[name] += 100 * ticks / hz / wall
    use["machine"] = 100 * (after.busy - before.busy) / max(after.total - before.total, 1)
    return {name: round(value, 1) for name, value in use.items()}


OURS = ("producers", "workers", "default worker", "beat", "postgres", "redis", "bench")


def cpu_line(use: dict[str, float]) -> str:
    shares = ", ".join(f"{name} {use.get(name, 0.0):.0f}" for name in (*OURS, "others"))
    per = f"; {use['ms per message']} ms CPU per message" if "ms per message" in use else ""
    return f"% of one core: {shares}; machine {use['machine']:.0f}% busy{per}"


def machine_quiet_wait(limit: float, threshold: float = 20.0) -> float:
    """Wait (at most `limit` s) until the machine is below `threshold` % busy; the last %."""
    deadline = time.monotonic() + limit
    while True:
        before = cpu_snapshot()
        time.sleep(2.0)
        after = cpu_snapshot()
        busy = 100 * (after.busy - before.busy) / max(after.total - before.total, 1)
        if busy < threshold or time.monotonic() > deadline:
            return busy


# ----- report


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    return f"{os.cpu_count()} cores ({model})"


def versions() -> str:
    import celery
    import django
    import kombu
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    redis_version = re.search(r"v=(\S+)", redis)
    return (
        f"Python {sys.version.split()[0]}, Django {django.__version__}, Celery {celery.__version__}"
        f", kombu {kombu.__version__}, PostgreSQL {postgres}, "
        f"Redis {redis_version.group(1) if redis_version else '?'}"
    )


def code_version() -> str:
    git = lambda *args: subprocess.run(  # noqa: E731
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = git("status", "--porcelain", "--", "eim", "accounts", "archive", "compliance")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else "")


def settings_line(options: Options) -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return (
        f"EIM_ARCHIVE_BATCH {settings.EIM_ARCHIVE_BATCH}, EIM_ARCHIVE_SWEEP_AFTER "
        f"{settings.EIM_ARCHIVE_SWEEP_AFTER} s, CONN_MAX_AGE {db.get('CONN_MAX_AGE')}, "
        f"prefork concurrency {options.concurrency}, prefetch "
        f"{settings.CELERY_WORKER_PREFETCH_MULTIPLIER}, acks_late {settings.CELERY_TASK_ACKS_LATE}"
        + (", one shared queue for every task" if options.shared_queue else "")
        + (f", worker env {options.worker_env}" if options.worker_env else "")
    )


def lag_print(report: LagReport, options: Options) -> None:
    verdict = "met" if report.lag_visible["p99"] <= LAG_TARGET_P99 else "MISSED"
    print(
        f"lag run, {report.label} (search index {report.index_behind} records behind at the "
        f"start): offered {report.offered:.0f} msg/s for {options.duration:.0f} s from "
        f"{options.producers} processes x {options.threads} threads, {options.workers[0]} worker "
        f"x {options.concurrency} + beat\n"
        f"  sent {report.sent} (achieved {report.achieved:.1f} msg/s), errors {report.errors}\n"
        f"  send call (commit acknowledged): {ms(report.ack)}\n"
        f"  schedule lateness: {ms(report.late)}\n"
        f"  lag occurred_at -> archived_at (stamped), {report.records} records: "
        f"{ms(report.lag_stamped)}\n"
        f"  lag occurred_at -> record committed (seen), {report.records} records: "
        f"{ms(report.lag_visible)}\n"
        f"  archive drained {report.drained_after:.2f} s after the last send\n"
        f"  cpu: {cpu_line(report.cpu)}\n"
        f"  target p99 <= {LAG_TARGET_P99:.0f} s: {verdict}",
        flush=True,
    )


def drain_print(report: DrainReport) -> None:
    verdict = "met" if report.rate >= DRAIN_TARGET else "MISSED"
    print(
        f"drain with {report.workers} worker(s) x {report.processes // report.workers} "
        f"processes: {report.records} records in {report.seconds:.2f} s = {report.rate:.0f} "
        f"records/s (steady 10-90 %: {report.steady_rate:.0f} records/s); "
        f"target >= {DRAIN_TARGET:.0f}/s: {verdict}\n  cpu: {cpu_line(report.cpu)}",
        flush=True,
    )
    if report.profile:
        print("  where archive_pending spends its time (inclusive % of its samples):")
        for name, share in report.profile:
            print(f"    {share:5.1f} %  {name}")


# ----- main


DISTURBED = 25.0  # % of one core used by other processes during a run


Report = TypeVar("Report", LagReport, DrainReport)


def least_disturbed(runs: int, measure: Callable[[], Report]) -> Report:
    """Measure up to `runs` times, until a run is undisturbed; keep the least disturbed."""
    reports: list[Report] = []
    for _ in range(runs):
        reports.append(measure())
        others = reports[-1].cpu.get("others", 0.0)
        if others <= DISTURBED:
            break
        print(f"  (disturbed: others used {others:.0f}% of a core; measuring again)")
    return min(reports, key=lambda r: r.cpu.get("others", 0.0))


def main(argv: Sequence[str] | None = None) -> None:
    options = options_parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanups on SIGTERM too
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with redis_running() as redis_url:
        env = environment(options, redis_url)
        database_ensure(options.database_url, env, fresh=options.fresh)
        django_setup(env)
        worker_env = {**env, **options.worker_env}
        print(f"code {code_version()}; {machine()}\n{versions()}\n{settings_line(options)}")
        senders = senders_ensure(options.producers * options.threads)
        runs = 1 + options.retries

        def quiet() -> None:
            pipeline_settle(worker_env, options)
            print(f"machine {machine_quiet_wait(options.wait_quiet):.0f}% busy before the run")

        def lag(label: str) -> LagReport:
            return lag_measure(options, worker_env, senders, label=label)

        def drain(workers: int) -> DrainReport:
            quiet()
            return drain_measure(options, worker_env, senders, workers, profile=False)

        if not options.skip_lag:
            quiet()
            lag_print(least_disturbed(runs, lambda: lag("steady state")), options)
        if not options.skip_drain:
            for workers in options.workers:
                drain_print(least_disturbed(runs, lambda workers=workers: drain(workers)))
        if not options.skip_lag and not options.skip_drain:
            # Straight after a drain the search index has --backlog records to catch up on.
            lag_print(lag("while the search index catches up on the drained backlog"), options)
        if options.profile:
            quiet()
            print("profiled drain (py-spy attached to every worker process: slower):")
            report = drain_measure(options, worker_env, senders, options.workers[0], profile=True)
            drain_print(report)


if __name__ == "__main__":
    main()
