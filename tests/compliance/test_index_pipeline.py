"""The indexing stage: fed from the archive after each batch commits, idempotent by
archive_seq, swept when a task is lost, rebuilt identically by search_reindex."""

import io

import pytest
from django.core.management import call_command

from archive.services.archiving import archive_pending
from compliance import tasks
from compliance.models import SearchIndexState
from compliance.search.backends.postgres import PostgresBackend
from compliance.search.selectors import employee_search
from compliance.search.services import compliance_search
from eim.chat.services.conversations import conversation_update
from eim.chat.services.messages import message_delete, message_edit
from tests.factories import ChannelFactory, send, staged_attachment

from .search_world import archive_and_index

pytestmark = pytest.mark.usefixtures("archive_blobs")


def _bodies(result: dict) -> set[str]:
    return {r["body"] for r in result["results"]}


def _indexed_seq() -> int:
    state = SearchIndexState.objects.filter(pk=1).first()
    return state.last_seq if state else 0


def test_an_archive_batch_schedules_indexing_of_its_range_after_commit(
    alice, django_capture_on_commit_callbacks, monkeypatch
):
    published = []
    monkeypatch.setattr(
        tasks.index_records_task, "apply_async", lambda args, **kw: published.append(args)
    )
    channel = ChannelFactory(creator=alice)
    send(alice, channel, "one")

    with django_capture_on_commit_callbacks(execute=True):
        archived = archive_pending()

    assert published == [(1, archived)]


def test_sent_archived_indexed_found(alice, bob, officer):
    channel = ChannelFactory(creator=alice, members=[bob], name="desk")
    send(alice, channel, "quarterly numbers look strong")
    archive_pending()

    assert compliance_search(user=officer, query="numbers")["count"] == 0
    tasks.index_records_task(1, 99)

    assert _bodies(compliance_search(user=officer, query="numbers")) == {
        "quarterly numbers look strong"
    }
    assert _bodies(employee_search(user=bob, query="numbers")) == {"quarterly numbers look strong"}


def test_an_edited_message_old_and_new_text_for_compliance_new_only_for_members(
    alice, bob, officer
):
    channel = ChannelFactory(creator=alice, members=[bob], name="desk")
    message = send(alice, channel, "buy before the announcement")
    archive_and_index()
    message_edit(user=alice, message_id=message.pk, body="hold until the results")
    archive_and_index()

    assert _bodies(compliance_search(user=officer, query="announcement")) == {
        "buy before the announcement"
    }
    assert _bodies(compliance_search(user=officer, query="results")) == {"hold until the results"}
    assert _bodies(employee_search(user=bob, query="announcement")) == set()
    assert _bodies(employee_search(user=bob, query="results")) == {"hold until the results"}


def test_a_deleted_message_is_found_by_compliance_only(alice, bob, officer):
    channel = ChannelFactory(creator=alice, members=[bob], name="desk")
    message = send(alice, channel, "shred the ledger")
    message_delete(user=alice, message_id=message.pk)
    archive_and_index()

    (hit,) = compliance_search(user=officer, query="ledger")["results"]
    assert (hit["body"], hit["is_deleted"]) == ("shred the ledger", True)
    assert employee_search(user=alice, query="ledger")["count"] == 0
    assert employee_search(user=bob, query="ledger")["count"] == 0


def test_indexing_twice_changes_nothing(alice):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "first words")
    message_edit(user=alice, message_id=message.pk, body="second words")
    archive_and_index()
    rows = PostgresBackend().all_documents()

    tasks.index_records_task(1, 5)
    SearchIndexState.objects.filter(pk=1).update(last_seq=0)
    tasks.index_records_task(1, 5)

    assert PostgresBackend().all_documents() == rows
    assert [r.version_kind for r in rows] == ["original", "edit"]


def test_the_sweeper_indexes_what_a_lost_task_left_behind(alice, officer):
    channel = ChannelFactory(creator=alice)
    send(alice, channel, "never announced")
    archive_pending()  # outside a commit hook: no task was ever published

    swept = tasks.index_sweep_task()

    assert swept == _indexed_seq() > 0
    assert compliance_search(user=officer, query="announced")["count"] == 1
    assert tasks.index_sweep_task() == 0


def test_the_index_reads_the_archive_not_the_live_chat(alice, officer):
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "archived words")
    archive_pending()
    message_edit(user=alice, message_id=message.pk, body="not yet archived")

    tasks.index_sweep_task()

    assert _bodies(compliance_search(user=officer, query="NOT zzz")) == {"archived words"}


def test_attachments_and_flags_are_message_wide(alice, officer):
    channel = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, channel)
    message = send(alice, channel, "see the file", attachment_ids=[upload.pk])
    message_edit(user=alice, message_id=message.pk, body="see the attached file")
    archive_and_index()

    rows = PostgresBackend().all_documents()
    assert [(r.has_attachment, r.is_edited, r.is_deleted) for r in rows] == [
        (True, True, False)
    ] * 2


def test_a_renamed_channel_is_found_by_its_new_name(alice, officer):
    channel = ChannelFactory(creator=alice, name="old-name")
    send(alice, channel, "before the rename")
    archive_and_index()
    conversation_update(actor=alice, conversation_id=channel.pk, name="new-name")
    send(alice, channel, "after the rename")
    archive_and_index()

    assert compliance_search(user=officer, query="in:new-name")["count"] == 2
    assert compliance_search(user=officer, query="in:old-name")["count"] == 0


def test_search_reindex_rebuilds_the_index_identically(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob], name="desk")
    message = send(alice, channel, "one")
    send(bob, channel, "two")
    message_edit(user=alice, message_id=message.pk, body="one, edited")
    message_delete(user=alice, message_id=message.pk)
    archive_and_index()
    before = PostgresBackend().all_documents()
    PostgresBackend().delete_all()

    out = io.StringIO()
    call_command("search_reindex", stdout=out)

    assert PostgresBackend().all_documents() == before
    assert len(before) == 3
    assert "rebuilt" in out.getvalue()


def test_healthz_reports_the_index_lag(alice, client, settings):
    settings.EIM_HEALTH_TOKEN = "operators-token"
    operator = {"HTTP_AUTHORIZATION": "Bearer operators-token"}
    channel = ChannelFactory(creator=alice)
    send(alice, channel, "one")
    archive_pending()

    behind = client.get("/healthz", **operator).json()["index"]
    tasks.index_sweep_task()
    caught_up = client.get("/healthz", **operator).json()["index"]

    assert behind["lag_records"] == behind["archive_seq"] > 0
    assert behind["oldest_unindexed_seconds"] is not None
    assert caught_up["lag_records"] == 0
    assert caught_up["indexed_seq"] == caught_up["archive_seq"]
    assert caught_up["backend"] == "postgresql"
