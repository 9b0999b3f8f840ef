"""The notify action through the real scanning stage: the sender's chat notice (kept, and live
on an open socket), the reviewer group's workspace notifications (and e-mail), exactly once
however often the stage runs, audited; and the APIs that read and dismiss them."""

import pytest
from channels.db import database_sync_to_async
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from accounts.models import Role
from accounts.services.groups import group_create, group_members_add
from archive.services.archiving import archive_pending
from audit.models import AuditEvent
from compliance.models import Flag, ReviewerNotification
from compliance.review.notifications import (
    EMAIL_ATTEMPTS,
    notifications_email_pending,
    notifications_raise,
)
from compliance.scanning.services import policy_create
from compliance.scanning.stage import scan_pending
from compliance.scanning.tasks import scan_records_task, scan_sweep_task
from eim.chat.models import UserNotice
from tests.chat.test_socket_frames import _next_of, _open_as
from tests.conftest import api_as
from tests.factories import ChannelFactory, UserFactory, send


def reviewers(*people):  # type: ignore[no-untyped-def]
    group = group_create(actor=None, display_name="Supervisors", via="test")
    group_members_add(actor=None, group=group, user_ids=[p.pk for p in people], via="test")
    return group


def notify_policy(officer, *, sender=True, group=None, terms=("guarantee",), name="Promises"):  # type: ignore[no-untyped-def]
    notify = {"sender": sender} | ({"reviewers": group.pk} if group else {})
    return policy_create(
        user=officer,
        name=name,
        conditions={
            "lexicons": [{"name": "secret lexicon", "terms": list(terms)}],
            "patterns": [{"name": "hidden", "regex": "acct-\\d{4}"}],
        },
        actions=["flag", "notify"],
        notify=notify,
    )


def archive_and_scan() -> int:
    archive_pending()
    return scan_pending()


def test_the_sender_gets_a_kept_notice_naming_only_the_policy_and_the_matched_text(
    alice, bob, officer
):
    notify_policy(officer)
    channel = ChannelFactory(creator=alice, members=[bob])
    message = send(alice, channel, "I GUARANTEE it, see acct-1234")

    archive_and_scan()

    notices = api_as(alice).get("/api/v1/notices/").json()["notices"]
    assert len(notices) == 1
    notice = notices[0]
    assert notice["policy"] == "Promises"
    assert notice["spans"] == ["GUARANTEE", "acct-1234"]
    assert (notice["conversation"], notice["message"], notice["source"]) == (
        channel.pk,
        message.pk,
        "message",
    )
    # Nothing of the policy's insides: no lexicon, term or pattern.
    assert "secret lexicon" not in str(notice)
    assert "hidden" not in str(notice)
    assert "acct-\\d{4}" not in str(notice)
    assert api_as(bob).get("/api/v1/notices/").json()["notices"] == []


def test_a_redelivered_or_repeated_scan_never_notifies_twice(alice, officer):
    second = UserFactory(roles=[Role.COMPLIANCE_OFFICER])
    group = reviewers(officer, second)
    notify_policy(officer, group=group)
    send(alice, ChannelFactory(creator=alice), "I guarantee it")
    archive_and_scan()

    # The worker died after the commit and the task is redelivered; then the sweeper runs;
    # and the hook itself, run again on the same flags, finds every notice written.
    scan_records_task(1, 99)
    scan_sweep_task()
    notifications_raise(list(Flag.objects.all()))

    assert UserNotice.objects.count() == 1
    assert sorted(ReviewerNotification.objects.values_list("recipient_id", flat=True)) == sorted(
        [officer.pk, second.pk]
    )
    assert AuditEvent.objects.filter(event_type="policy.notified").count() == 1


def test_reviewers_are_the_groups_active_officers_less_the_conversations_people(
    alice, bob, officer
):
    in_chat = UserFactory(roles=[Role.COMPLIANCE_OFFICER])
    gone = UserFactory(roles=[Role.COMPLIANCE_OFFICER], is_active=False)
    group = reviewers(officer, bob, in_chat, gone)  # bob is no officer
    notify_policy(officer, sender=False, group=group)
    channel = ChannelFactory(creator=alice, members=[in_chat])
    send(in_chat, channel, "morning")
    send(alice, channel, "I guarantee it")

    archive_and_scan()

    assert list(ReviewerNotification.objects.values_list("recipient_id", flat=True)) == [officer.pk]
    assert UserNotice.objects.count() == 0  # sender not asked for
    event = AuditEvent.objects.get(event_type="policy.notified")
    assert event.details["reviewers"] == [officer.pk]
    assert event.details["sender"] is None


def test_the_officer_lists_and_marks_notifications_read_with_an_unread_count(alice, officer):
    notify_policy(officer, sender=False, group=reviewers(officer))
    channel = ChannelFactory(creator=alice)
    send(alice, channel, "I guarantee it")
    send(alice, channel, "guarantee again")
    archive_and_scan()
    client = api_as(officer)

    listed = client.get("/api/v1/compliance/notifications").json()
    first = listed["notifications"][0]
    marked = client.post(
        "/api/v1/compliance/notifications/read", {"ids": [first["id"]]}, format="json"
    ).json()
    after = client.get("/api/v1/compliance/notifications?unread=true").json()
    all_marked = client.post(
        "/api/v1/compliance/notifications/read", {"all": True}, format="json"
    ).json()

    assert listed["unread"] == 2
    assert first["policy"] == "Promises"
    assert first["item"] is not None
    assert "guarantee" not in str(listed)  # no message text outside the audited item view
    assert marked == {"marked": 1}
    assert (after["unread"], len(after["notifications"])) == (1, 1)
    assert all_marked == {"marked": 1}


@pytest.mark.parametrize("who", ["employee", "administrator"])
def test_only_officers_read_or_mark_notifications_and_a_denial_changes_nothing(who, alice, officer):
    notify_policy(officer, sender=False, group=reviewers(officer))
    send(alice, ChannelFactory(creator=alice), "I guarantee it")
    archive_and_scan()
    caller = alice if who == "employee" else UserFactory(roles=[Role.ADMINISTRATOR])
    notification = ReviewerNotification.objects.get()

    listed = api_as(caller).get("/api/v1/compliance/notifications")
    marked = api_as(caller).post(
        "/api/v1/compliance/notifications/read", {"all": True}, format="json"
    )

    assert (listed.status_code, marked.status_code) == (403, 403)
    assert marked.json()["code"] == "forbidden"
    notification.refresh_from_db()
    assert notification.read_at is None


def test_marking_needs_ids_or_all(officer):
    response = api_as(officer).post("/api/v1/compliance/notifications/read", {}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")


def test_a_person_dismisses_only_their_own_notices(alice, bob, officer):
    notify_policy(officer)
    send(alice, ChannelFactory(creator=alice, members=[bob]), "I guarantee it")
    archive_and_scan()
    notice = UserNotice.objects.get()

    by_bob = api_as(bob).post("/api/v1/notices/dismiss/", {"ids": [notice.pk]}, format="json")
    notice.refresh_from_db()
    kept = notice.dismissed_at
    by_alice = api_as(alice).post("/api/v1/notices/dismiss/", {"ids": [notice.pk]}, format="json")

    assert by_bob.json() == {"dismissed": 0}
    assert kept is None
    assert by_alice.json() == {"dismissed": 1}
    assert api_as(alice).get("/api/v1/notices/").json()["notices"] == []


def test_reviewers_are_e_mailed_once_when_mail_is_set_up(alice, officer, settings):
    settings.EIM_NOTIFY_EMAIL_FROM = "compliance@example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    officer.email = "officer@example.com"
    officer.save(update_fields=["email"])
    notify_policy(officer, sender=False, group=reviewers(officer))
    send(alice, ChannelFactory(creator=alice), "I guarantee it")
    archive_and_scan()

    sent = notifications_email_pending()
    again = notifications_email_pending()

    assert (sent, again) == (1, 0)
    assert mail.outbox[0].to == ["officer@example.com"]
    assert "Promises" in mail.outbox[0].subject
    assert "guarantee" not in mail.outbox[0].body
    assert ReviewerNotification.objects.get().email_state == "sent"


class DownMailServer(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError("mail server down")


def _one_pending_e_mail(alice, officer, settings):  # type: ignore[no-untyped-def]
    settings.EIM_NOTIFY_EMAIL_FROM = "compliance@example.com"
    settings.EMAIL_BACKEND = f"{__name__}.DownMailServer"
    officer.email = "officer@example.com"
    officer.save(update_fields=["email"])
    notify_policy(officer, sender=False, group=reviewers(officer))
    send(alice, ChannelFactory(creator=alice), "I guarantee it")
    archive_and_scan()


def _make_retry_due() -> None:
    ReviewerNotification.objects.update(email_retry_at=timezone.now())


def test_a_failed_e_mail_is_tried_again_later_and_then_goes(alice, officer, settings):
    _one_pending_e_mail(alice, officer, settings)

    failed = notifications_email_pending()
    after_failure = ReviewerNotification.objects.get()
    too_soon = notifications_email_pending()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _make_retry_due()
    sent = notifications_email_pending()

    assert (failed, too_soon, sent) == (0, 0, 1)
    assert after_failure.email_state == "pending"
    assert after_failure.email_attempts == 1
    assert after_failure.email_retry_at > timezone.now()
    assert len(mail.outbox) == 1
    notification = ReviewerNotification.objects.get()
    assert (notification.email_state, notification.email_attempts) == ("sent", 1)


def test_an_e_mail_that_keeps_failing_is_given_up_after_its_attempts(alice, officer, settings):
    _one_pending_e_mail(alice, officer, settings)

    for _ in range(EMAIL_ATTEMPTS):
        _make_retry_due()
        notifications_email_pending()
    _make_retry_due()
    after_giving_up = notifications_email_pending()

    notification = ReviewerNotification.objects.get()
    assert after_giving_up == 0
    assert notification.email_state == "failed"
    assert notification.email_attempts == EMAIL_ATTEMPTS


def test_notify_needs_whom_to_tell_and_a_real_group(officer):
    conditions = {"lexicons": [{"name": "l", "terms": ["x"]}]}
    nobody = api_as(officer).post(
        "/api/v1/compliance/policies",
        {"name": "N", "conditions": conditions, "actions": ["notify"]},
        format="json",
    )
    no_group = api_as(officer).post(
        "/api/v1/compliance/policies",
        {
            "name": "N",
            "conditions": conditions,
            "actions": ["notify"],
            "notify": {"reviewers": 999},
        },
        format="json",
    )
    without_action = api_as(officer).post(
        "/api/v1/compliance/policies",
        {"name": "N", "conditions": conditions, "actions": ["flag"], "notify": {"sender": True}},
        format="json",
    )

    assert [r.status_code for r in (nobody, no_group, without_action)] == [400, 400, 400]
    assert "no such reviewer group" in no_group.json()["detail"]


@pytest.mark.django_db(transaction=True)
async def test_an_open_socket_of_the_sender_gets_the_notice_live(alice, bob, officer):
    await database_sync_to_async(notify_policy)(officer)
    channel = await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    sender, reader = await _open_as(alice), await _open_as(bob)
    await database_sync_to_async(send)(alice, channel, "I guarantee it")

    await database_sync_to_async(archive_and_scan)()
    frame = await _next_of(sender, "notice.new")
    await database_sync_to_async(send)(alice, channel, "next")
    seen_by_bob = [await reader.receive_json_from(timeout=5)]
    while seen_by_bob[-1]["type"] != "message.new" or seen_by_bob[-1]["message"]["body"] != "next":
        seen_by_bob.append(await reader.receive_json_from(timeout=5))

    assert (frame["policy"], frame["spans"], frame["kind"]) == ("Promises", ["guarantee"], "policy")
    assert isinstance(frame["id"], int)
    assert "notice.new" not in [f["type"] for f in seen_by_bob]
    await sender.disconnect()
    await reader.disconnect()
