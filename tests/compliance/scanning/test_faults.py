"""The scanning stage under faults, with real Celery workers on a private Redis broker (the
archive's fault harness, tests/archive/test_faults.py): whatever happens to the workers or
the broker, every archived record is scanned exactly once."""

import time
from collections import Counter

import pytest

from archive.models import ArchiveHead
from archive.selectors import archived_events
from compliance.models import Flag, ReviewItem, ScanState
from tests.archive.test_faults import (
    Traffic,
    produce_until,
    rooms,
    wait_until_archived,
)

from .conftest import make_policy

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_until_scanned(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = ScanState.objects.filter(pk=1).first()
        if state and state.last_seq == ArchiveHead.objects.get(pk=1).last_seq:
            return
        time.sleep(0.1)
    raise AssertionError(f"scanning not caught up after {timeout} s")


def assert_scanned_exactly_once() -> None:
    head = ArchiveHead.objects.get(pk=1).last_seq
    records = archived_events(first_seq=1, last_seq=head)
    hitting = {e.seq for e in records if e.type == "message.new" and "message" in e.message["body"]}
    per_record = Counter(Flag.objects.values_list("archive_seq", flat=True))

    assert len(hitting) > 0
    assert set(per_record) == hitting
    assert set(per_record.values()) == {1}
    assert ReviewItem.objects.count() == len(hitting)


@pytest.mark.timeout(240)
def test_killing_the_scanning_worker_mid_run_scans_every_record_once(officer, fleet):
    make_policy(officer, "Every message", terms=["message"])
    producers = rooms(2)
    fleet.start_beat()
    fleet.start_worker("w")
    traffic = Traffic()
    kills = Counter[str]()

    def kill_something() -> None:
        if fleet.revive("w"):
            return
        if kills["pool process"] <= kills["main process"]:
            kills["pool process"] += fleet.kill_pool_child("w")
        else:
            fleet.kill_worker("w")
            kills["main process"] += 1
            fleet.start_worker("w", wait=False)

    def killed_enough() -> bool:
        return kills["main process"] >= 2 and kills["pool process"] >= 2

    sent = produce_until(
        killed_enough, producers, 200, traffic, pace=0.002, every=0.7, action=kill_something
    )
    fleet.revive("w")
    wait_until_archived(timeout=60)
    wait_until_scanned(timeout=60)

    assert traffic.unexpected == []
    assert len(traffic.acknowledged) == sent
    assert_scanned_exactly_once()


@pytest.mark.timeout(240)
def test_flushing_and_restarting_the_broker_mid_run_scans_every_record_once(officer, fleet, broker):
    make_policy(officer, "Every message", terms=["message"])
    producers = rooms(2)
    fleet.start_beat()
    fleet.start_worker("w")
    traffic = Traffic()
    faults = ["flushall", "restart", "flushall"]

    def next_fault() -> None:
        if not faults:
            return
        fault = faults.pop(0)
        if fault == "flushall":
            broker.flushall()
        else:
            broker.kill()
            time.sleep(0.5)
            broker.start()

    def every_fault_injected() -> bool:
        return not faults

    sent = produce_until(
        every_fault_injected, producers, 200, traffic, pace=0.003, every=1.0, action=next_fault
    )
    wait_until_archived(timeout=60)
    wait_until_scanned(timeout=60)

    assert traffic.unexpected == []
    assert len(traffic.acknowledged) == sent
    assert_scanned_exactly_once()
