"""A content policy's notify action in the web chat: the sender sees a compliance notice live,
still sees it after a reload (it is kept), and dismisses it. Laptop and phone width."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from archive.services.archiving import archive_pending
from compliance.scanning.services import policy_create
from compliance.scanning.stage import scan_pending
from eim.chat.models import UserNotice
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, browser_db, in_db_thread
from tests.factories import ChannelFactory, UserFactory

pytestmark = [pytest.mark.browser, browser_db]

WIDTHS = [pytest.param(LAPTOP, False, id="laptop"), pytest.param(PHONE, True, id="phone")]


def _scan() -> None:
    archive_pending()
    scan_pending()


@pytest.mark.parametrize(("viewport", "touch"), WIDTHS)
def test_the_sender_sees_a_kept_notice_and_dismisses_it(sign_in, viewport, touch):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    officer = UserFactory(username="olivia", roles=[Role.COMPLIANCE_OFFICER])
    policy_create(
        user=officer,
        name="Promises to clients",
        conditions={"lexicons": [{"name": "internal list 7", "terms": ["guarantee*"]}]},
        actions=["flag", "notify"],
        notify={"sender": True},
    )
    channel = ChannelFactory(creator=alice, members=[bob], name="fx-desk")
    elsewhere = ChannelFactory(creator=alice, members=[bob], name="lunch")
    a = sign_in(alice, viewport, touch)
    a.page.goto(f"/#/c/{channel.pk}")
    expect(a.page.locator("#message-scroll")).to_have_attribute("aria-busy", "false")
    a.send("Returns are <b>guaranteed</b> this quarter")

    in_db_thread(_scan)
    notice = a.page.locator("#policy-notices .policy-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Promises to clients")
    expect(notice).to_contain_text("“guaranteed”")
    expect(notice).not_to_contain_text("internal list 7")
    expect(notice).to_contain_text("Your message in #fx-desk matched")
    a.page.screenshot(path=str(SCREENSHOTS / f"policy-notice-{viewport['width']}.png"))

    a.page.goto(f"/#/c/{elsewhere.pk}")  # elsewhere, the notice leads back to the message
    expect(a.page.locator("#message-scroll")).to_have_attribute("aria-busy", "false")
    notice.get_by_role("button", name="Show message").click()
    expect(a.message("Returns are <b>guaranteed</b> this quarter")).to_have_class(
        re.compile("highlighted")
    )

    a.page.reload()
    expect(notice).to_be_visible()  # kept: a client that was closed sees it too
    notice.get_by_role("button", name="Dismiss").click()
    expect(notice).to_have_count(0)
    expect(a.page.locator("#policy-notices")).to_be_hidden()
    a.page.reload()
    expect(a.page.locator("#message-scroll")).to_have_attribute("aria-busy", "false")
    expect(notice).to_have_count(0)
    assert in_db_thread(lambda: UserNotice.objects.filter(dismissed_at__isnull=False).count()) == 1
