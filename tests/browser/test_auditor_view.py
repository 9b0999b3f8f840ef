"""The auditor's view at /audit/ in Chromium, at laptop and phone width."""

from typing import Any

import pytest
from auditlog.context import set_actor
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from audit import verification
from audit.models import AuditEventType
from eim.chat.barriers.services import barrier_policy_create, barrier_policy_preview
from tests.auditor.conftest import record
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, Person, browser_db
from tests.chat.barriers.conftest import segment
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, browser_db]


@pytest.fixture
def trail() -> dict[str, Any]:
    """An administrator's barrier policy, a search, role changes, and a verification run."""
    audrey = UserFactory(username="audrey", display_name="Audrey Auditor", roles=[Role.AUDITOR])
    ada = UserFactory(username="ada", display_name="Ada Admin", roles=[Role.ADMINISTRATOR])
    olivia = UserFactory(username="olivia", roles=[Role.COMPLIANCE_OFFICER])
    record(ada, AuditEventType.ROLE_GRANTED, user_id=olivia.pk, role="compliance_officer")
    record(olivia, AuditEventType.SEARCH_RUN, query='"price target" from:bob', count=12)
    research, trading = segment("Research"), segment("Trading")
    with set_actor(ada):
        version = barrier_policy_create(
            actor=ada, name="MNPI wall", segment_a=research.pk, segment_b=trading.pk
        )
        barrier_policy_preview(actor=ada, policy_id=version.policy_id)
    report = verification.Report(events=6, last_seq=6)
    verification.verification_run_record(report=report, started_at=timezone.now())
    return {"audrey": audrey, "ada": ada, "employee": UserFactory(username="emma")}


def _open(person: Person) -> None:
    person.page.goto("/audit/")
    expect(person.page.locator("#events")).to_be_visible()


def test_an_auditor_filters_opens_an_event_with_its_model_diffs_and_exports(sign_in, trail):
    auditor = sign_in(trail["audrey"], viewport=LAPTOP)
    _open(auditor)
    page = auditor.page
    expect(page.locator("#verification")).to_contain_text("Verified: no problems")
    # With the two groups created, and the TOTP authenticator the sign-in gave the auditor.
    expect(page.locator("#events tbody tr")).to_have_count(7)
    expect(page.locator("#events tbody")).to_contain_text("mfa.authenticator_added")
    page.screenshot(path=SCREENSHOTS / "auditor-laptop-trail.png", full_page=True)

    page.get_by_label("Type").select_option("barrier.")
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("barrier.previewed")
    expect(rows.nth(1)).to_contain_text("barrier.proposed")

    with page.expect_download() as download:
        page.locator("#export-csv").click()
    exported = download.value.path().read_text()
    assert exported.count("\n") == 3  # the header and the two barrier events
    assert "barrier.proposed" in exported

    rows.nth(1).get_by_role("link").click()
    expect(page.locator("#event h1")).to_contain_text("barrier.proposed")
    expect(page.locator("#changes")).to_contain_text("chat.barrierpolicy")
    page.screenshot(path=SCREENSHOTS / "auditor-laptop-event.png", full_page=True)


def test_at_phone_width_the_trail_reads_as_cards_without_sideways_scrolling(sign_in, trail):
    auditor = sign_in(trail["audrey"], viewport=PHONE)
    _open(auditor)
    page = auditor.page

    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=SCREENSHOTS / "auditor-phone-trail.png", full_page=True)
    page.get_by_label("Target").fill("not a target")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#filter-errors")).to_contain_text("a target is key=value")
    page.screenshot(path=SCREENSHOTS / "auditor-phone-error.png")
    expect(page.locator("#events")).to_have_count(0)


def test_an_administrator_gets_a_plain_403_page(sign_in, trail):
    admin = sign_in(trail["ada"], viewport=LAPTOP)
    response = admin.page.goto("/audit/")

    assert response is not None
    assert response.status == 403
    expect(admin.page.get_by_role("heading")).to_have_text("The audit trail is for auditors")
    admin.page.screenshot(path=SCREENSHOTS / "auditor-laptop-forbidden.png")
