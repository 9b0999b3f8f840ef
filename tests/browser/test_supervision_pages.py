"""The compliance workspace's notifications list, supervision report and the policy editor's
groups, notify and sampling fields, against the live server, at laptop and phone width."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from accounts.services.groups import group_create, group_members_add
from archive.services.archiving import archive_pending
from compliance.models import PolicyVersion, ReviewerNotification
from compliance.scanning.services import policy_create
from compliance.scanning.stage import scan_pending
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, browser_db, in_db_thread
from tests.factories import ChannelFactory, UserFactory, send

pytestmark = [pytest.mark.browser, browser_db]

WIDTHS = [pytest.param(LAPTOP, id="laptop"), pytest.param(PHONE, id="phone")]


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    olivia = UserFactory(
        username="olivia", display_name="Olivia Officer", roles=[Role.COMPLIANCE_OFFICER]
    )
    bob = UserFactory(username="bob", display_name="Bob Baker")
    group = group_create(actor=None, display_name="Supervisors", via="test")
    group_members_add(actor=None, group=group, user_ids=[olivia.pk], via="test")
    desk = group_create(actor=None, display_name="FX desk", via="test")
    group_members_add(actor=None, group=desk, user_ids=[bob.pk], via="test")
    return {"olivia": olivia, "bob": bob, "supervisors": group, "desk": desk}


def _notified(people: dict[str, Any]) -> None:
    policy_create(
        user=people["olivia"],
        name="Promises",
        conditions={"lexicons": [{"name": "promises", "terms": ["guarantee"]}]},
        actions=["flag", "notify"],
        notify={"reviewers": people["supervisors"].pk},
    )
    channel = ChannelFactory(creator=people["bob"], name="desk")
    send(people["bob"], channel, "I guarantee a 12% return")
    send(people["bob"], channel, "and I guarantee the fund beats the index")
    archive_pending()
    scan_pending()


def _open(person, path: str) -> None:  # type: ignore[no-untyped-def]
    person.page.goto(path)
    expect(person.page.locator(".workspace")).not_to_have_attribute("data-state", "loading")


@pytest.mark.parametrize("viewport", WIDTHS)
def test_an_officer_reads_notifications_and_opens_the_item(sign_in, people, viewport):
    in_db_thread(lambda: _notified(people))
    officer = sign_in(people["olivia"], viewport)
    _open(officer, "/compliance/review/")
    page = officer.page
    expect(page.locator("#nav-unread")).to_have_text("2")

    page.locator("#nav-notifications").click()
    expect(page.locator("#notification-list li")).to_have_count(2)
    expect(page.locator("#notification-list li.unread")).to_have_count(2)
    expect(page.locator("#unread-summary")).to_have_text("2 unread")
    expect(page.locator("#notification-list")).not_to_contain_text("guarantee")
    page.screenshot(path=SCREENSHOTS / f"notifications-{viewport['width']}.png")
    page.locator("#notification-list a").first.click()

    expect(page.locator("#item-flags mark").first).to_have_text("guarantee")
    expect(page.locator("#nav-unread")).to_have_text("1")
    assert in_db_thread(ReviewerNotification.objects.filter(read_at__isnull=True).count) == 1
    _open(officer, "/compliance/notifications/")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#unread-summary")).to_have_text("All read")
    expect(page.locator("#nav-unread")).to_be_hidden()


def test_no_notifications_says_so(sign_in, people):
    officer = sign_in(people["olivia"], PHONE)
    _open(officer, "/compliance/notifications/")

    expect(officer.page.locator("#notifications-empty")).to_be_visible()
    expect(officer.page.get_by_role("button", name="Mark all read")).to_be_disabled()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_the_report_for_a_period_with_its_csv(sign_in, people, viewport):
    in_db_thread(lambda: _notified(people))
    officer = sign_in(people["olivia"], viewport)
    _open(officer, "/compliance/report/")
    page = officer.page

    queues = page.locator("#queues-table tbody tr")
    expect(queues.first).to_contain_text("First level")
    expect(queues.first.locator("td").first).to_have_text("2")
    expect(page.locator("#policies-table")).to_contain_text("Promises")
    expect(page.locator("#terms-table")).to_contain_text("Promises: guarantee")
    expect(page.locator("#reviewers-empty")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / f"report-{viewport['width']}.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    assert "terms,Promises: guarantee,hits,2" in text

    long_ago = (timezone.now() - timedelta(days=400)).date()
    page.locator("#period-start").fill(long_ago.isoformat())
    page.locator("#period-end").fill((long_ago + timedelta(days=3)).isoformat())
    page.get_by_role("button", name="Show the report").click()
    expect(page.locator("#terms-empty")).to_be_visible()
    expect(page.locator("#policies-empty")).to_be_hidden()  # two items are open now
    page.locator("#period-end").fill(timezone.now().date().isoformat())
    page.get_by_role("button", name="Show the report").click()
    expect(page.locator("#report-error")).to_contain_text("366 days at most")


@pytest.mark.parametrize("viewport", WIDTHS)
def test_the_editor_sets_group_scope_notify_and_sampling(sign_in, people, viewport):
    officer = sign_in(people["olivia"], viewport)
    _open(officer, "/compliance/policies/")
    page = officer.page

    page.get_by_label("Name", exact=True).fill("Desk promises")
    page.get_by_role("textbox", name="Lexicon terms and phrases").fill("guarantee")
    page.get_by_label("Notify", exact=True).check()
    page.get_by_label("Tell the sender").check()
    page.get_by_label("Reviewer group").select_option(label="Supervisors (1)")
    page.get_by_role("checkbox", name="FX desk (1)").check()
    page.get_by_label("Percent").fill("250")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#policy-error")).to_have_text("Sample percent is a number from 0 to 100.")
    assert not in_db_thread(PolicyVersion.objects.exists)

    page.get_by_label("Percent").fill("2.5")
    page.get_by_label("At least, per supervised person").fill("1")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#policy-saved")).to_have_text("Saved as version 1.")
    page.locator("#p-notify").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / f"policy-editor-groups-{viewport['width']}.png")

    version = in_db_thread(PolicyVersion.objects.get)
    assert version.scope == {"groups": [people["desk"].pk]}
    assert version.notify == {"sender": True, "reviewers": people["supervisors"].pk}
    assert version.sampling == {"percent": 2.5, "per_person": 1}
    page.reload()
    page.locator("#policy-list button").first.click()
    expect(page.get_by_role("checkbox", name="FX desk (1)")).to_be_checked()
    expect(page.get_by_label("Reviewer group")).to_have_value(str(people["supervisors"].pk))
    expect(page.get_by_label("Percent")).to_have_value("2.5")


@pytest.mark.parametrize("path", ["/compliance/notifications/", "/compliance/report/"])
def test_an_employee_gets_the_forbidden_page(sign_in, people, path):
    employee = sign_in(people["bob"])
    response = employee.page.goto(path)

    assert response is not None
    assert response.status == 403
    assert in_db_thread(ReviewerNotification.objects.count) == 0
