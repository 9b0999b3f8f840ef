"""Content policies at send time in the web chat: a warned sender confirms or edits; a blocked
one gets the text back. At laptop width with a mouse and at phone width with touch."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from eim.chat.models import ConversationEvent, Message
from tests.browser.conftest import (
    LAPTOP,
    PENDING,
    PHONE,
    SCREENSHOTS,
    Person,
    browser_db,
    in_db_thread,
)
from tests.compliance.scanning.conftest import make_policy
from tests.factories import ChannelFactory, UserFactory

pytestmark = [pytest.mark.browser, browser_db]

WIDTHS = [pytest.param(LAPTOP, False, id="laptop"), pytest.param(PHONE, True, id="phone")]


def _people(sign_in, viewport, touch) -> tuple[Person, Person]:
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    officer = UserFactory(username="olivia", roles=[Role.COMPLIANCE_OFFICER])
    make_policy(officer, "Careful with promises", terms=["guarantee"], actions=["warn"])
    make_policy(officer, "No leaks", terms=["password"], actions=["block"])
    channel = ChannelFactory(creator=alice, members=[bob], name="fx-desk")
    a, b = sign_in(alice, viewport, touch), sign_in(bob)
    a.page.goto(f"/#/c/{channel.pk}")  # at phone width the sidebar is not shown over it
    expect(a.page.locator("#conversation-title")).to_contain_text("fx-desk")
    expect(a.page.locator("#message-scroll")).to_have_attribute("aria-busy", "false")
    b.open("fx-desk")
    return a, b


def _bodies() -> list[str]:
    return in_db_thread(lambda: list(Message.objects.values_list("body", flat=True)))


@pytest.mark.parametrize(("viewport", "touch"), WIDTHS)
def test_a_warned_sender_sees_the_policy_and_sends_anyway(sign_in, viewport, touch):
    a, b = _people(sign_in, viewport, touch)
    box = a.page.locator("#composer-input")
    text = "I guarantee <b>this</b> trade settles"

    box.fill(text)
    box.press("Enter")
    notice = a.page.locator("#composer [data-role=notice]")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Careful with promises")
    expect(notice.locator("mark")).to_have_text("guarantee")
    expect(notice).to_contain_text("<b>this</b>")  # shown as text, never as HTML
    expect(notice.locator("b")).to_have_count(0)
    expect(a.page.locator("#message-list li.message")).to_have_count(0)
    edit = notice.get_by_role("button", name="Edit message")
    expect(edit).to_be_focused()
    a.page.screenshot(path=str(SCREENSHOTS / f"send-warning-{viewport['width']}.png"))
    assert _bodies() == []

    notice.get_by_role("button", name="Send anyway").click()

    expect(b.message("I guarantee")).to_be_visible()
    expect(b.message("I guarantee").locator(".message-body")).to_have_text(text)
    expect(notice).to_be_hidden()
    expect(a.message("I guarantee")).not_to_have_class(PENDING)
    assert _bodies() == [text]


@pytest.mark.parametrize(("viewport", "touch"), WIDTHS)
def test_escape_edits_a_warned_message_and_nothing_is_sent(sign_in, viewport, touch):
    a, _ = _people(sign_in, viewport, touch)
    box = a.page.locator("#composer-input")

    box.fill("We guarantee it")
    box.press("Enter")
    notice = a.page.locator("#composer [data-role=notice]")
    expect(notice.get_by_role("button", name="Edit message")).to_be_focused()
    a.page.keyboard.press("Escape")

    expect(notice).to_be_hidden()
    expect(box).to_have_value("We guarantee it")
    expect(box).to_be_focused()
    assert _bodies() == []


@pytest.mark.parametrize(("viewport", "touch"), WIDTHS)
def test_a_blocked_send_is_refused_and_its_text_comes_back(sign_in, viewport, touch):
    a, b = _people(sign_in, viewport, touch)
    box = a.page.locator("#composer-input")

    box.fill("the password is hunter2")
    box.press("Enter")

    notice = a.page.locator("#composer [data-role=notice]")
    expect(notice).to_contain_text("Not sent")
    expect(notice).to_contain_text("No leaks")
    expect(notice.locator("mark")).to_have_text("password")
    expect(notice.get_by_role("button")).to_have_count(0)
    expect(box).to_have_value("the password is hunter2")
    expect(a.page.locator("#message-list li.message")).to_have_count(0)
    a.page.screenshot(path=str(SCREENSHOTS / f"send-blocked-{viewport['width']}.png"))
    a.send("the rate is 1.08")  # the next message goes, and the refusal clears
    expect(notice).to_be_hidden()
    expect(b.message("the rate is 1.08")).to_be_visible()
    expect(b.page.locator("#message-list li.message")).to_have_count(1)
    assert _bodies() == ["the rate is 1.08"]
    assert in_db_thread(ConversationEvent.objects.filter(type="message.blocked").count) == 1


def test_a_thread_that_loads_late_leaves_the_focus_on_the_warning(sign_in):
    """A reply sent before the thread's history arrives: its warning keeps the focus when the
    history comes (the panel focused its box after loading, taking it from the notice)."""
    a, _ = _people(sign_in, LAPTOP, False)
    a.send("Ship 4.2 tonight?")
    held = []
    a.page.route("**/messages/?*thread=*", lambda route: held.append(route))  # it waits
    root = a.message("Ship 4.2 tonight?")
    root.hover()
    root.get_by_role("button", name="Reply in thread").click()
    expect(a.page.locator("#thread-scroll")).to_have_attribute("aria-busy", "true")
    reply_box = a.page.get_by_role("textbox", name="Reply in thread")

    reply_box.fill("Yes, I guarantee it")
    reply_box.press("Enter")
    edit = a.page.locator("#thread-composer [data-role=notice]").get_by_role(
        "button", name="Edit message"
    )
    expect(edit).to_be_focused()
    assert len(held) == 1
    held[0].continue_()

    expect(a.page.locator("#thread-scroll")).to_have_attribute("aria-busy", "false")
    expect(edit).to_be_focused()


def test_a_warned_thread_reply_is_confirmed_from_the_keyboard(sign_in):
    a, b = _people(sign_in, LAPTOP, False)
    a.send("Ship 4.2 tonight?")
    root = a.message("Ship 4.2 tonight?")
    root.hover()
    root.get_by_role("button", name="Reply in thread").click()
    reply_box = a.page.get_by_role("textbox", name="Reply in thread")

    reply_box.fill("Yes, I guarantee it")
    reply_box.press("Enter")
    notice = a.page.locator("#thread-composer [data-role=notice]")
    expect(notice.locator("mark")).to_have_text("guarantee")
    expect(a.page.locator("#composer [data-role=notice]")).to_be_hidden()
    expect(notice.get_by_role("button", name="Edit message")).to_be_focused()
    a.page.keyboard.press("Tab")
    expect(notice.get_by_role("button", name="Send anyway")).to_be_focused()
    a.page.keyboard.press("Enter")

    expect(notice).to_be_hidden()
    expect(a.message("Yes, I guarantee it", where="#thread-list")).not_to_have_class(PENDING)
    expect(b.message("Ship 4.2 tonight?").locator(".reply-count")).to_be_visible()
    assert (
        in_db_thread(lambda: Message.objects.get(body="Yes, I guarantee it").parent.body)
        == "Ship 4.2 tonight?"
    )


def _attach(person: Person, name: str) -> None:
    person.page.locator("#composer input[type=file]").set_input_files(
        [{"name": name, "mimeType": "text/plain", "buffer": b"quarterly figures\n"}]
    )
    expect(person.page.locator("#composer .upload.done")).to_have_count(1)


@pytest.mark.parametrize(("viewport", "touch"), WIDTHS)
def test_a_warned_edit_offers_send_anyway_and_saves_when_confirmed(sign_in, viewport, touch):
    a, b = _people(sign_in, viewport, touch)
    a.send("The fund should do well")
    box = a.page.locator("#composer-input")

    box.press("ArrowUp")  # edit the last message
    editor = a.page.get_by_role("textbox", name="Edit message")
    editor.fill("I guarantee the fund does well")
    editor.press("Enter")
    notice = a.page.locator("#message-list .editor .composer-notice")
    expect(notice).to_contain_text("Careful with promises")
    expect(notice.locator("mark")).to_have_text("guarantee")
    expect(notice.get_by_role("button", name="Keep editing")).to_be_focused()
    a.page.screenshot(path=str(SCREENSHOTS / f"edit-warning-{viewport['width']}.png"))
    assert _bodies() == ["The fund should do well"]

    notice.get_by_role("button", name="Send anyway").click()

    expect(b.message("I guarantee the fund does well")).to_be_visible()
    expect(editor).to_have_count(0)
    assert _bodies() == ["I guarantee the fund does well"]


def test_keep_editing_a_warned_edit_returns_to_the_text_and_a_blocked_edit_stays_open(sign_in):
    a, _ = _people(sign_in, LAPTOP, False)
    a.send("Call me later")
    a.page.locator("#composer-input").press("ArrowUp")
    editor = a.page.get_by_role("textbox", name="Edit message")
    notice = a.page.locator("#message-list .editor .composer-notice")

    editor.fill("I guarantee I will call")
    editor.press("Enter")
    expect(notice.get_by_role("button", name="Keep editing")).to_be_focused()
    a.page.keyboard.press("Escape")
    expect(notice).to_be_hidden()
    expect(editor).to_be_focused()
    editor.fill("my password is hunter2")
    editor.press("Enter")

    expect(notice).to_contain_text("Not saved")
    expect(notice).to_contain_text("No leaks")
    expect(editor).to_have_value("my password is hunter2")
    a.page.screenshot(path=str(SCREENSHOTS / "edit-blocked-1280.png"))
    assert _bodies() == ["Call me later"]


@pytest.mark.parametrize(("viewport", "touch"), WIDTHS)
def test_edit_message_after_a_warning_brings_back_the_files(sign_in, viewport, touch):
    a, b = _people(sign_in, viewport, touch)
    _attach(a, "figures.txt")
    box = a.page.locator("#composer-input")
    box.fill("Returns guarantee, see the figures")
    box.press("Enter")
    notice = a.page.locator("#composer [data-role=notice]")
    expect(notice.get_by_role("button", name="Edit message")).to_be_focused()
    expect(a.page.locator("#composer .upload")).to_have_count(0)

    notice.get_by_role("button", name="Edit message").click()

    expect(box).to_have_value("Returns guarantee, see the figures")
    expect(a.page.locator("#composer .upload.done")).to_contain_text("figures.txt")
    a.page.screenshot(path=str(SCREENSHOTS / f"edit-after-warning-files-{viewport['width']}.png"))
    box.fill("See the figures")
    box.press("Enter")
    on_bob = b.message("See the figures")
    expect(on_bob.locator("a.attachment", has_text="figures.txt")).to_be_visible()


def test_a_blocked_send_brings_back_its_files(sign_in):
    a, b = _people(sign_in, LAPTOP, False)
    _attach(a, "keys.txt")
    box = a.page.locator("#composer-input")

    box.fill("password attached")
    box.press("Enter")

    notice = a.page.locator("#composer [data-role=notice]")
    expect(notice).to_contain_text("Not sent")
    expect(notice).to_contain_text("the files are back")
    expect(box).to_have_value("password attached")
    uploads = a.page.locator("#composer .upload.done")
    expect(uploads).to_have_count(1)
    expect(uploads).to_contain_text("keys.txt")
    uploads.get_by_role("button", name="Remove keys.txt").click()
    a.send("sent without the file")
    expect(b.message("sent without the file").locator("a.attachment")).to_have_count(0)
