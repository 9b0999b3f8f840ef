"""A conversation an information barrier made read-only, in the chat page."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, browser_db
from tests.chat.barriers.conftest import barrier_in_force, segment
from tests.factories import UserFactory, direct_conversation, send

pytestmark = [pytest.mark.browser, browser_db]


@pytest.mark.parametrize(("viewport", "width"), [(LAPTOP, "laptop"), (PHONE, "phone")])
def test_a_read_only_direct_message_says_why_and_takes_no_message(sign_in, viewport, width):
    rita = UserFactory(username="rita", display_name="Rita Research")
    tom = UserFactory(username="tom", display_name="Tom Trader")
    admin = UserFactory(username="ada", roles=["administrator"])
    dm = direct_conversation(rita, tom)
    send(tom, dm, "call me before the announcement")
    barrier_in_force(admin, segment("Research", rita), segment("Trading", tom))

    person = sign_in(rita, viewport=viewport)
    person.page.goto(f"/#/c/{dm.pk}")
    person.expect_live()

    expect(person.page.locator("#conversation-topic")).to_contain_text(
        "Read-only: an information barrier applies"
    )
    expect(person.message("call me before the announcement")).to_be_visible()
    box = person.page.locator("#composer-input")
    expect(box).to_be_disabled()
    expect(box).to_have_attribute(
        "placeholder", "This conversation is read-only: an information barrier applies"
    )
    person.page.screenshot(path=SCREENSHOTS / f"barriers-{width}-read-only-dm.png")
