"""The scanning stage: fed from the archive after each batch commits, resumable from its
state, every record scanned once; flags name the policy version; review items per message."""

import pytest
from django.db.models import Count

from archive.services.archiving import archive_pending
from compliance.models import Flag, ReviewItem, ScanState
from compliance.scanning import tasks
from compliance.scanning.services import policy_change
from compliance.scanning.stage import scan_pending
from eim.chat.errors import ChatError
from eim.chat.models import Message
from eim.chat.services.messages import message_edit
from tests.factories import ChannelFactory, direct_conversation, send

from .conftest import make_policy


def archive_and_scan() -> int:
    archive_pending()
    return scan_pending()


def flagged() -> list[tuple[str, str, int]]:
    """(text hit, policy, version) of every flag, in archive order."""
    rows = Flag.objects.order_by("archive_seq", "pk").select_related("policy_version__policy")
    return [
        (hit["text"], f.policy_version.policy.name, f.policy_version.number)
        for f in rows
        for hit in f.hits
    ]


def test_an_archive_batch_schedules_scanning_after_commit(
    alice, django_capture_on_commit_callbacks, monkeypatch
):
    published = []
    monkeypatch.setattr(
        tasks.scan_records_task, "apply_async", lambda args, **kw: published.append(args)
    )
    send(alice, ChannelFactory(creator=alice), "one")

    with django_capture_on_commit_callbacks(execute=True):
        archived = archive_pending()

    assert published == [(1, archived)]


def test_archived_messages_are_scanned_and_flagged_with_the_policy_version(alice, officer):
    make_policy(officer, "Promises", terms=["guarantee"])
    channel = ChannelFactory(creator=alice)
    send(alice, channel, "I guarantee it")
    send(alice, channel, "nothing here")

    archive_and_scan()

    assert flagged() == [("guarantee", "Promises", 1)]
    flag = Flag.objects.get()
    assert (flag.source, flag.author_id, flag.conversation_id) == ("message", alice.pk, channel.pk)
    assert ReviewItem.objects.get().message_id == flag.message_id


def test_scanning_twice_or_after_the_sweeper_scans_nothing_again(alice, officer):
    make_policy(officer, terms=["guarantee"])
    send(alice, ChannelFactory(creator=alice), "I guarantee it")
    archive_pending()

    first = tasks.scan_records_task(1, 99)
    again = tasks.scan_sweep_task()

    assert (first > 0, again) == (True, 0)
    assert Flag.objects.count() == 1
    assert ScanState.objects.get().last_seq == first


def test_the_sweeper_scans_what_a_lost_task_left_behind(alice, officer):
    make_policy(officer, terms=["guarantee"])
    send(alice, ChannelFactory(creator=alice), "I guarantee it")
    archive_pending()  # its task was never published (the test has no worker)

    assert tasks.scan_sweep_task() > 0
    assert flagged() == [("guarantee", "Promises", 1)]


def test_every_record_is_scanned_once_across_small_batches(alice, officer):
    make_policy(officer, terms=["guarantee"])
    channel = ChannelFactory(creator=alice)
    for n in range(7):
        send(alice, channel, f"guarantee {n}")
    archive_pending()

    while scan_pending(max_batches=1, batch=2):
        pass

    per_record = Flag.objects.values("archive_seq").annotate(n=Count("pk"))
    assert sorted(row["n"] for row in per_record) == [1] * 7


def test_an_edit_is_scanned_as_a_new_version_of_the_same_item(alice, officer):
    make_policy(officer, terms=["guarantee", "promise"])
    message = send(alice, ChannelFactory(creator=alice), "I guarantee it")
    archive_and_scan()
    message_edit(user=alice, message_id=message.pk, body="I promise it")
    archive_and_scan()

    assert flagged() == [("guarantee", "Promises", 1), ("promise", "Promises", 1)]
    assert ReviewItem.objects.count() == 1


def test_a_new_flag_names_the_new_version(alice, officer):
    version = make_policy(officer, terms=["guarantee"])
    channel = ChannelFactory(creator=alice)
    send(alice, channel, "I guarantee it")
    archive_and_scan()
    policy_change(
        user=officer,
        policy_id=version.policy_id,
        conditions={"lexicons": [{"name": "p", "terms": ["guarantee"]}]},
        actions=["flag"],
    )
    send(alice, channel, "guarantee again")
    archive_and_scan()

    assert [v for *_, v in flagged()] == [1, 2]


def test_a_blocked_attempt_is_scanned_and_raises_an_item_of_its_own(alice, officer):
    make_policy(officer, terms=["guarantee"], actions=["block"])
    with pytest.raises(ChatError):
        send(alice, ChannelFactory(creator=alice), "I guarantee it")

    archive_and_scan()

    flag = Flag.objects.get()
    assert (flag.source, flag.message_id) == ("blocked", None)
    assert ReviewItem.objects.get().archive_seq == flag.archive_seq


def test_the_scanner_reads_the_archive_not_the_live_chat(alice, officer):
    make_policy(officer, terms=["guarantee"])
    message = send(alice, ChannelFactory(creator=alice), "I guarantee it")
    archive_pending()
    Message.objects.filter(pk=message.pk).update(body="changed behind the archive's back")

    scan_pending()

    assert flagged() == [("guarantee", "Promises", 1)]


def test_a_scope_by_conversation_kind(alice, bob, officer):
    make_policy(officer, "DMs", terms=["guarantee"], scope={"kinds": ["direct"]})
    send(alice, ChannelFactory(creator=alice, members=[bob]), "guarantee in a channel")
    send(alice, direct_conversation(alice, bob), "guarantee in a DM")

    archive_and_scan()

    assert [f.conversation_id for f in Flag.objects.all()] == [direct_conversation(alice, bob).pk]


def test_healthz_reports_the_scan_lag(alice, client, settings):
    settings.EIM_HEALTH_TOKEN = "operators-token"
    operator = {"HTTP_AUTHORIZATION": "Bearer operators-token"}
    send(alice, ChannelFactory(creator=alice), "one")
    archive_pending()

    behind = client.get("/healthz", **operator).json()["scanning"]
    scan_pending()
    caught_up = client.get("/healthz", **operator).json()["scanning"]

    assert behind["lag_records"] == behind["archive_seq"] > 0
    assert behind["oldest_unscanned_seconds"] is not None
    assert caught_up["lag_records"] == 0
