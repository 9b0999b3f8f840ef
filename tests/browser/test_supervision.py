"""The supervision pages of the compliance workspace: policies with the test box, and the
review queue worked from the keyboard, against the live server and the real archive."""

from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from archive.services.archiving import archive_pending
from audit.models import AuditEvent, AuditEventType
from compliance.models import PolicyVersion, ReviewItem
from compliance.scanning.stage import scan_pending
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, Person, browser_db, in_db_thread
from tests.compliance.scanning.conftest import make_policy
from tests.factories import ChannelFactory, UserFactory, send

pytestmark = [pytest.mark.browser, browser_db]


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    olivia = UserFactory(
        username="olivia", display_name="Olivia Officer", roles=[Role.COMPLIANCE_OFFICER]
    )
    bob = UserFactory(username="bob", display_name="Bob Baker")
    carol = UserFactory(username="carol", display_name="Carol Chen")
    return {"olivia": olivia, "bob": bob, "carol": carol}


@pytest.fixture
def flagged(people: dict[str, Any]) -> dict[str, Any]:
    make_policy(people["olivia"], "Promises", terms=["guarantee", "risk free"])
    channel = ChannelFactory(creator=people["bob"], members=[people["carol"]], name="desk")
    send(people["carol"], channel, "What can we tell the client?")
    send(people["bob"], channel, "Tell them we guarantee a 12% return, risk free.")
    send(people["carol"], channel, "I would not put it that way.")
    send(people["bob"], channel, "Fine, but I guarantee the fund beats the index")
    archive_pending()
    scan_pending()
    return people


def open_page(person: Person, path: str) -> None:
    person.page.goto(path)
    expect(person.page.locator(".workspace")).not_to_have_attribute("data-state", "loading")


def test_an_officer_writes_a_policy_and_tries_it_in_the_test_box(sign_in, people):
    officer = sign_in(people["olivia"])
    open_page(officer, "/compliance/policies/")
    page = officer.page

    page.get_by_label("Name", exact=True).fill("Secrets")
    page.get_by_role("textbox", name="Lexicon terms and phrases").fill("off the books\nguarant*")
    page.get_by_label("Card numbers (Luhn)").check()
    page.get_by_label("Block at send time").check()
    page.get_by_label("Sample text").fill("Keep it OFF the books: card 4111 1111 1111 1111")
    page.get_by_role("button", name="Show what it hits").click()
    expect(page.locator("#test-result")).to_contain_text("“OFF the books”")
    expect(page.locator("#test-result")).to_contain_text("“4111 1111 1111 1111”")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#policy-saved")).to_have_text("Saved as version 1.")
    page.locator("#policy-list").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "supervision-laptop-policy.png")
    page.locator("#test-title").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "supervision-laptop-test-box.png")

    version = in_db_thread(PolicyVersion.objects.get)
    assert version.actions == ["flag", "block"]
    assert version.conditions["detectors"] == ["payment_card"]


def test_a_policy_with_a_broken_pattern_says_why(sign_in, people):
    officer = sign_in(people["olivia"])
    open_page(officer, "/compliance/policies/")
    page = officer.page

    page.get_by_label("Name", exact=True).fill("Broken")
    page.get_by_role("textbox", name="Patterns").fill("ref: acct-(\\d+")
    page.get_by_role("button", name="Save policy").click()

    expect(page.locator("#policy-error")).to_contain_text("pattern 'ref'")
    assert not in_db_thread(PolicyVersion.objects.exists)


def test_a_reviewer_works_the_queue_from_the_keyboard(sign_in, flagged):
    officer = sign_in(flagged["olivia"])
    open_page(officer, "/compliance/review/")
    page = officer.page
    rows = page.locator("#queue li.review-item")
    expect(rows).to_have_count(2)

    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    flag = page.locator("#item-flags .flag-item").first
    expect(flag.locator("mark")).to_have_text(["guarantee", "risk free"])
    expect(page.locator("#item-before")).to_contain_text("What can we tell the client?")
    expect(page.locator("#item-after")).to_contain_text("I would not put it that way.")
    assert in_db_thread(ReviewItem.objects.filter(state="new").count) == 2  # opening ≠ review
    page.screenshot(path=SCREENSHOTS / "supervision-laptop-item.png")

    page.keyboard.press("c")
    expect(page.locator("#item-where")).to_contain_text("claimed")
    page.keyboard.press("3")
    page.keyboard.type("Promised returns to a client")
    page.keyboard.press("Control+Enter")
    expect(rows).to_have_count(1)

    decided = in_db_thread(ReviewItem.objects.get, state="closed")
    assert (decided.decision, decided.decided_by_id) == ("violation", flagged["olivia"].pk)
    types = in_db_thread(
        lambda: list(AuditEvent.objects.order_by("seq").values_list("event_type", flat=True))
    )
    assert types[types.index(AuditEventType.REVIEW_VIEWED) :].count("review.decided") == 1
    steps = [t for t in types if t != AuditEventType.REVIEW_VIEWED]
    assert steps[-2:] == [AuditEventType.REVIEW_CLAIMED, AuditEventType.REVIEW_DECIDED]


def test_a_decision_without_a_comment_is_refused_in_the_page(sign_in, flagged):
    officer = sign_in(flagged["olivia"])
    open_page(officer, "/compliance/review/")
    page = officer.page
    page.keyboard.press("Enter")
    expect(page.locator("#item-flags .flag-item")).to_have_count(1)

    page.keyboard.press("2")
    page.keyboard.press("Control+Enter")

    expect(page.locator("#decision-error")).to_have_text("A decision needs a comment.")
    assert not in_db_thread(ReviewItem.objects.filter(state="closed").exists)


def test_the_review_queue_at_phone_width(sign_in, flagged):
    officer = sign_in(flagged["olivia"], viewport=PHONE)
    open_page(officer, "/compliance/review/")
    page = officer.page
    expect(page.locator("#queue li.review-item")).to_have_count(2)
    page.screenshot(path=SCREENSHOTS / "supervision-phone-queue.png")

    page.locator("#queue li.review-item").first.click()
    expect(page.locator("#item-flags .flag-item")).to_have_count(1)
    page.screenshot(path=SCREENSHOTS / "supervision-phone-item.png")
    open_page(officer, "/compliance/policies/")
    page.screenshot(path=SCREENSHOTS / "supervision-phone-policies.png")


def test_someone_without_the_role_gets_the_forbidden_page(sign_in, people):
    employee = sign_in(people["bob"], viewport=LAPTOP)
    response = employee.page.goto("/compliance/review/")
    assert response is not None
    assert response.status == 403
