"""The archive under faults, with real Celery workers on a private Redis broker.

Whatever happens to the workers, the broker or a producer, every acknowledged (committed)
message ends up archived exactly once, nothing rolled back is ever archived, the archive
sequence stays gapless and `archive_verify` finds the archive intact.

Each test starts its own redis-server on a free port as the Celery broker (so killing,
flushing or restarting it never touches the Redis the rest of the suite uses), points this
process's Celery app at it (the wake-ups published after each commit), and runs
`celery worker` / `celery beat` processes on the test database.
"""

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from accounts.models import User
from archive.models import ArchiveHead, ArchiveRecord
from eim.celery import app as celery_app
from eim.chat.errors import ChatError
from eim.chat.models import Conversation, ConversationEvent, Message
from eim.chat.services import messages as message_services
from tests.conftest import ROOT, free_port, server_env, wait_for_port
from tests.factories import ChannelFactory, UserFactory, send

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CELERY = str(ROOT / ".venv" / "bin" / "celery")
DOOMED = "doomed:"  # bodies that fail inside the send's transaction, after the outbox row
SWEEP_AFTER = 1.0  # seconds an event waits before the beat sweeper archives it


# ----- the private broker


class Broker:
    """A redis-server of our own, on a free port, without persistence."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - the process keeps it
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def flushall(self) -> None:
        redis.Redis(port=self.port).flushall()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """The private broker; this process publishes its archive wake-ups there too."""
    broker = Broker(tmp_path)
    broker.start()
    previous = celery_app.conf.broker_url
    publish_to(broker.url)
    try:
        yield broker
    finally:
        publish_to(previous)
        broker.kill()


def publish_to(url: str) -> None:
    """Point this process's Celery publisher at `url`, forgetting its pooled connections.

    The app reads its configuration with the CELERY namespace, so the namespaced key is the one
    that counts (Celery 5.6 silently ignores `conf.broker_url = ...` there).
    """
    celery_app.conf["CELERY_BROKER_URL"] = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    assert celery_app.conf.broker_url == url


# ----- Celery worker and beat processes


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


@dataclass
class Fleet:
    """The Celery processes of one test: workers by name, and at most one beat."""

    broker: Broker
    workdir: Path
    signing_key_pem: str
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)  # worker name -> node of its last start
    beat: subprocess.Popen[bytes] | None = None
    started: int = 0

    def env(self) -> dict[str, str]:
        return {
            **server_env(),
            "DJANGO_SETTINGS_MODULE": "eim.settings.test",
            "CELERY_BROKER_URL": self.broker.url,
            "EIM_ARCHIVE_SWEEP_AFTER": str(SWEEP_AFTER),
            "EIM_ARCHIVE_SIGNING_KEY": self.signing_key_pem,
            # The test's own witness directory (the witness_dir fixture's).
            "EIM_ARCHIVE_WITNESS_DIR": str(self.workdir / "witness"),
            "EIM_LOG_LEVEL": "INFO",
            **self.extra_env,
        }

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - the process keeps it
        process = subprocess.Popen(
            [CELERY, "-A", "eim", *args],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return process

    def start_worker(self, name: str, *, wait: bool = True) -> None:
        self.started += 1
        node = self.nodes[name] = f"{name}-{self.started}"
        self.workers[name] = self._spawn(
            node,
            [
                *("worker", "--concurrency=2", "--pool=prefork", "-Q", "archive,celery,signing"),
                *("-n", f"{node}@%h", "--loglevel=INFO", "--without-mingle", "--without-gossip"),
            ],
        )
        if wait:
            self.wait_ready(node)

    def ready(self, node: str) -> bool:
        return " ready." in (self.workdir / f"{node}.log").read_text(errors="replace")

    def wait_ready(self, node: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready(node):
                return
            time.sleep(0.05)
        log = (self.workdir / f"{node}.log").read_text(errors="replace")
        raise RuntimeError(f"worker {node} not ready: {log[-2000:]}")

    def revive(self, name: str) -> bool:
        """Restart a worker that exited, as a supervisor (systemd, Kubernetes) would."""
        if self.workers[name].poll() is None:
            return False
        self.start_worker(name, wait=False)
        return True

    def start_beat(self) -> None:
        self.beat = self._spawn(
            "beat",
            ["beat", "-s", str(self.workdir / "beat-schedule"), "--loglevel=INFO"],
        )

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker's main process; its pool children die with it (PDEATHSIG)."""
        process = self.workers.pop(name)
        process.kill()
        process.wait(timeout=10)

    def kill_pool_child(self, name: str) -> bool:
        """SIGKILL one pool process of a ready worker; the main process forks a replacement.

        (Before it is ready, a lost pool process makes the whole worker exit: "Could not start
        worker processes".)
        """
        children = child_pids(self.workers[name].pid)
        if not children or not self.ready(self.nodes[name]):
            return False
        os.kill(children[0], signal.SIGKILL)
        return True

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("*.log")))

    def stop(self) -> None:
        processes = [*self.workers.values(), *([self.beat] if self.beat else [])]
        for process in processes:
            if process.poll() is None:
                process.terminate()  # warm shutdown: running tasks finish first
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.workers.clear()
        self.beat = None


@pytest.fixture
def fleet(
    broker: Broker, tmp_path: Path, archive_key: str, settings: Any, transactional_db: None
) -> Iterator[Fleet]:
    """Stopped before the test database is flushed, so no worker writes into the flush."""
    settings.EIM_SEND_RATE = "1000000/10"  # the producers here send far faster than people
    fleet = Fleet(broker=broker, workdir=tmp_path, signing_key_pem=archive_key)
    try:
        yield fleet
    finally:
        fleet.stop()


# ----- producing messages


class InjectedFailureError(Exception):
    """Raised inside a send's transaction after its outbox row was written."""


@pytest.fixture
def failing_doomed_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    """A send whose body starts with DOOMED writes its outbox row, then its transaction fails."""
    real_event_record = message_services.event_record

    def event_record(**kwargs: Any) -> ConversationEvent:
        event = real_event_record(**kwargs)
        if str(kwargs["payload"].get("message", {}).get("body", "")).startswith(DOOMED):
            raise InjectedFailureError("the send fails after writing its outbox row")
        return event

    monkeypatch.setattr(message_services, "event_record", event_record)


@dataclass
class Traffic:
    acknowledged: list[int] = field(default_factory=list)  # ids of committed messages
    refused: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)  # what stopped a producer early
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_refused(self, reason: str) -> None:
        with self.lock:
            self.refused[reason] += 1


@dataclass
class Room:
    """One producer: an author, the channel they write in, and one they are not a member of."""

    author: User
    channel: Conversation
    outside: Conversation


def rooms(count: int) -> list[Room]:
    stranger = UserFactory()
    found = []
    for n in range(count):
        author, reader = UserFactory(), UserFactory()
        found.append(
            Room(
                author=author,
                channel=ChannelFactory(creator=author, members=[reader]),
                outside=ChannelFactory(creator=stranger, name=f"outside-{n}", private=True),
            )
        )
    return found


def produce(room: Room, count: int, traffic: Traffic, *, pace: float = 0.0) -> None:
    """Send `count` messages; every 50th also a doomed one and one into a foreign channel."""
    try:
        for n in range(count):
            if n % 50 == 25:
                try:
                    send(room.author, room.channel, f"{DOOMED} {n} from {room.author.pk}")
                except InjectedFailureError:
                    traffic.count_refused("rolled back")
                try:
                    send(room.author, room.outside, f"not a member {n}")
                except ChatError:
                    traffic.count_refused("not a member")
            message = send(room.author, room.channel, f"message {n} from {room.author.pk}")
            with traffic.lock:
                traffic.acknowledged.append(message.pk)
            if pace:
                time.sleep(pace)
    except Exception as exc:  # reported by the test, not lost in a thread
        traffic.unexpected.append(repr(exc))
    finally:
        connection.close()


def produce_in_threads(
    producers: list[Room], per_producer: int, traffic: Traffic, *, pace: float = 0.0
) -> list[threading.Thread]:
    threads = [
        threading.Thread(target=produce, args=(room, per_producer, traffic), kwargs={"pace": pace})
        for room in producers
    ]
    for thread in threads:
        thread.start()
    return threads


def while_running(
    threads: list[threading.Thread], every: float, action: Callable[[], None]
) -> None:
    while any(t.is_alive() for t in threads):
        time.sleep(every)
        if any(t.is_alive() for t in threads):
            action()
    for thread in threads:
        thread.join()


def produce_until(
    done: Callable[[], bool],
    producers: list[Room],
    per_round: int,
    traffic: Traffic,
    *,
    pace: float,
    every: float,
    action: Callable[[], None],
) -> int:
    """Rounds of traffic, `action` every `every` seconds during each, until `done()` after a
    round: a fault schedule always runs its course during traffic, however fast the machine
    sends. Returns the messages sent."""
    rounds = 0
    while not rounds or not done():
        while_running(produce_in_threads(producers, per_round, traffic, pace=pace), every, action)
        rounds += 1
    return rounds * per_round * len(producers)


# ----- checking the archive


def wait_until_archived(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not ConversationEvent.objects.filter(archived_seq__isnull=True).exists():
            return
        time.sleep(0.1)
    pending = ConversationEvent.objects.filter(archived_seq__isnull=True).count()
    raise AssertionError(f"{pending} events still unarchived after {timeout} s")


def archive_verify_report() -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.suppress(SystemExit):  # exit 1: problems, which the report lists
        call_command("archive_verify", "--json", stdout=out)
    return json.loads(out.getvalue())


def assert_archived_exactly_once(acknowledged: list[int]) -> None:
    created = ArchiveRecord.objects.filter(event_type="message.new")
    per_message = Counter(created.values_list("message_id", flat=True))
    repeated_events = (
        ArchiveRecord.objects.values("event_id").annotate(n=Count("seq")).filter(n__gt=1)
    )
    seqs = list(ArchiveRecord.objects.order_by("seq").values_list("seq", flat=True))
    head = ArchiveHead.objects.get(pk=1)

    assert sorted(per_message) == sorted(acknowledged)
    assert set(per_message.values()) == {1}
    assert list(repeated_events) == []
    assert seqs == list(range(1, len(seqs) + 1))
    assert (head.last_seq, len(seqs)) == (len(seqs), ConversationEvent.objects.count())
    assert not ArchiveRecord.objects.filter(canonical__contains=DOOMED).exists()
    assert not Message.objects.filter(body__startswith=DOOMED).exists()
    report = archive_verify_report()
    assert (report["ok"], report["problems"], report["records"]) == (True, [], len(seqs))


# ----- the faults


@pytest.mark.timeout(240)
def test_killing_workers_mid_run_loses_and_repeats_nothing(fleet, failing_doomed_sends):
    producers = rooms(3)
    fleet.start_beat()
    fleet.start_worker("w")
    traffic = Traffic()
    kills = Counter[str]()

    def kill_something() -> None:
        if fleet.revive("w"):
            kills["exited on its own"] += 1
        elif kills["pool process"] <= kills["main process"]:
            if fleet.kill_pool_child("w"):
                kills["pool process"] += 1
        else:
            fleet.kill_worker("w")
            kills["main process"] += 1
            fleet.start_worker("w", wait=False)

    threads = produce_in_threads(producers, 1000, traffic)
    while_running(threads, 0.7, kill_something)
    fleet.revive("w")
    wait_until_archived(timeout=60)

    assert traffic.unexpected == []
    assert len(traffic.acknowledged) == 3000
    assert traffic.refused == {"rolled back": 60, "not a member": 60}
    assert kills["main process"] >= 3, kills
    assert kills["pool process"] >= 3, kills
    assert_archived_exactly_once(traffic.acknowledged)


@pytest.mark.timeout(240)
def test_flushing_and_restarting_the_broker_mid_run_loses_nothing(
    fleet, broker, failing_doomed_sends
):
    producers = rooms(2)
    fleet.start_beat()
    fleet.start_worker("w")
    traffic = Traffic()
    faults = iter(["flushall", "restart", "flushall", "restart"])

    def next_fault() -> None:
        fault = next(faults, None)
        if fault == "flushall":
            broker.flushall()
        elif fault == "restart":
            broker.kill()
            time.sleep(0.5)
            broker.start()

    threads = produce_in_threads(producers, 600, traffic, pace=0.002)
    while_running(threads, 1.0, next_fault)
    wait_until_archived(timeout=60)

    assert next(faults, None) is None, "the run ended before every fault was injected"
    assert traffic.unexpected == []
    assert len(traffic.acknowledged) == 1200
    assert traffic.refused == {"rolled back": 24, "not a member": 24}
    assert_archived_exactly_once(traffic.acknowledged)


PRODUCER_CRASH = """
import os, sys, time, uuid
import django
django.setup()
from celery import Celery
from accounts.models import User
from eim.chat.services import messages
from eim.chat.services.messages import message_send

mode, author_id, conversation_id, body = sys.argv[1:]
def crash(*args, **kwargs):
    os._exit(1)
if mode == "after-commit":
    Celery.send_task = crash  # the archive wake-up is published after the commit
else:
    real_event_record = messages.event_record
    def event_record(**kwargs):
        real_event_record(**kwargs)
        crash()
    messages.event_record = event_record
message_send(
    author=User.objects.get(pk=author_id),
    conversation_id=int(conversation_id),
    body=body,
    client_id=uuid.uuid4(),
)
time.sleep(10)  # the wake-up may be published from another thread a little later
"""


def crashing_producer(fleet: Fleet, mode: str, room: Room, body: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            PRODUCER_CRASH,
            mode,
            str(room.author.pk),
            str(room.channel.pk),
            body,
        ],
        cwd=ROOT,
        env=fleet.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_a_producer_crashing_between_commit_and_wakeup_is_archived_by_the_sweeper(fleet):
    (room,) = rooms(1)
    fleet.start_beat()
    fleet.start_worker("w")
    wait_until_archived(timeout=15)  # the fixtures' own events
    bodies = {mode: f"{mode} crash {uuid.uuid4()}" for mode in ("after-commit", "in-transaction")}

    producers = [crashing_producer(fleet, mode, room, body) for mode, body in bodies.items()]
    outputs = [p.communicate(timeout=60)[0].decode(errors="replace") for p in producers]
    wait_until_archived(timeout=30)

    assert [p.returncode for p in producers] == [1, 1], outputs
    committed = Message.objects.get(body=bodies["after-commit"])
    record = ArchiveRecord.objects.get(message_id=committed.pk, event_type="message.new")
    # Nothing else publishes a wake-up here: only the sweeper, SWEEP_AFTER later, archives it.
    assert (record.archived_at - record.occurred_at).total_seconds() >= SWEEP_AFTER
    assert not Message.objects.filter(body=bodies["in-transaction"]).exists()
    assert not ArchiveRecord.objects.filter(canonical__contains=bodies["in-transaction"]).exists()
    assert_archived_exactly_once([committed.pk])


RECEIVED = re.compile(r"Task archive\.archive_pending\[([0-9a-f-]+)\] received")
REDELIVERY_SETTINGS = """
import time

from celery.signals import task_prerun

from eim.settings.test import *  # noqa: F403

# kombu looks for messages past their visibility timeout only every ~100 s by default
# (unacked_restore_interval 10 s x unacked_restore_throttle 10): look every second.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}


@task_prerun.connect
def _outlive_the_visibility_timeout(task=None, **kwargs):
    # A first delivery runs longer than the timeout (a slow database, say), so the broker
    # hands the same task to the other worker while it still runs.
    if task.name == "archive.archive_pending" and not task.request.delivery_info.get(
        "redelivered"
    ):
        time.sleep(1.5)
"""


def test_redelivery_to_competing_workers_archives_each_event_once(
    fleet, tmp_path, failing_doomed_sends
):
    producers = rooms(2)
    (tmp_path / "redelivery_settings.py").write_text(REDELIVERY_SETTINGS)
    fleet.extra_env.update(
        DJANGO_SETTINGS_MODULE="redelivery_settings",
        PYTHONPATH=str(tmp_path),
        EIM_BROKER_VISIBILITY_TIMEOUT="1",
        EIM_BROKER_UNSAFE_SHORT_TIMEOUT="true",
    )
    fleet.start_worker("a")
    fleet.start_worker("b")
    traffic = Traffic()

    threads = produce_in_threads(producers, 500, traffic)
    for thread in threads:
        thread.join()
    wait_until_archived(timeout=60)

    received = Counter(RECEIVED.findall(fleet.logs()))
    assert traffic.unexpected == []
    assert len(traffic.acknowledged) == 1000
    assert traffic.refused == {"rolled back": 20, "not a member": 20}
    assert max(received.values()) > 1, "no task was delivered twice"
    assert_archived_exactly_once(traffic.acknowledged)
