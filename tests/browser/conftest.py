"""Headless Chromium against the live Daphne server, signed in through the real login page."""

import re
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.db import connection
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from accounts.models import User
from accounts.sso.selectors import user_is_privileged
from tests.conftest import ROOT, LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "pw-for-tests-1"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
SCREENSHOTS = ROOT / "var" / "screenshots"

T = TypeVar("T")
PENDING = re.compile(r"\bpending\b")

# The live server shares the database; tests/conftest.py keeps content type ids stable
# across flushes so its cached ids stay valid.
browser_db = pytest.mark.django_db(transaction=True)

expect.set_options(timeout=8_000)


def png(width: int = 48, height: int = 32) -> bytes:
    """A real PNG (a blue gradient), so the server sniffs it as an image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(
        b"\x00" + b"".join(bytes((30, 60 + x * 160 // width, 200)) for x in range(width))
        for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass
class Person:
    """One signed-in browser session and the JavaScript errors its page raised."""

    user: User
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    def open(self, name: str) -> None:
        """Open a conversation from the sidebar by its shown name."""
        self.page.locator("#sidebar a.conversation-link", has_text=name).click()
        expect(self.page.locator("#conversation-title")).to_contain_text(name)
        expect(self.page.locator("#message-scroll")).to_have_attribute("aria-busy", "false")

    def send(self, text: str) -> None:
        """Send from the main composer and wait for the server's acknowledgement."""
        box = self.page.locator("#composer-input")
        box.fill(text)
        box.press("Enter")
        expect(self.message(text)).to_be_visible()
        expect(self.message(text)).not_to_have_class(PENDING)

    def message(self, text: str, *, where: str = "#message-list"):
        return self.page.locator(f"{where} li.message", has_text=text)

    def expect_live(self) -> None:
        expect(self.page.locator("#app")).to_have_attribute("data-connection", "live")


def in_db_thread(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run database work (a service call such as `send`, or a query) once the browser is up.

    Playwright's sync API keeps an asyncio loop running on the test's thread: Django refuses
    the ORM there, and async_to_sync (the live broadcast after a commit) cannot run. A fresh
    thread has no loop; its connection is closed when the work is done.
    """

    def run() -> T:
        try:
            return work(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


class Chromium:
    """Launched on first use, so a test's setup writes run before Playwright's loop exists."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    @property
    def browser(self) -> Browser:
        if self._browser is None:
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
        return self._browser

    def stop(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()


@pytest.fixture
def chromium(daphne_server: LiveServer) -> Iterator[Chromium]:
    # Stopped before the database is flushed; from the first sign-in on, database work in the
    # test goes through in_db_thread.
    chromium = Chromium()
    yield chromium
    chromium.stop()


def _note_policy_violation(person: Person, message: ConsoleMessage) -> None:
    """Chromium reports what the Content Security Policy blocked on the console."""
    if message.type == "error" and "Content Security Policy" in message.text:
        person.errors.append(message.text)


TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def totp_code() -> str:
    return format_hotp_value(hotp_value(TOTP_SECRET, int(time.time()) // 30))


def _totp_if_privileged(user: User) -> bool:
    """Privileged local accounts must have MFA (accounts/sso/middleware.py): give them TOTP."""
    if not user_is_privileged(user=user):
        return False
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, TOTP_SECRET)
    return True


@pytest.fixture
def sign_in(chromium: Chromium, daphne_server: LiveServer) -> Iterator:
    """sign_in(user, viewport=LAPTOP, touch=False) → a Person on the chat page, socket live."""
    people: list[Person] = []

    def _sign_in(user: User, viewport: dict[str, int] = LAPTOP, touch: bool = False) -> Person:
        """touch: a phone's touch screen (no hover, taps), as well as its width."""
        context = chromium.browser.new_context(
            viewport=viewport,
            base_url=daphne_server.http_url,
            reduced_motion="reduce",
            has_touch=touch,
            is_mobile=touch,
        )
        page = context.new_page()
        person = Person(user=user, context=context, page=page)
        page.on("pageerror", lambda error: person.errors.append(str(error)))
        page.on("console", lambda message: _note_policy_violation(person, message))
        privileged = in_db_thread(_totp_if_privileged, user)
        page.goto("/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        if privileged:  # a privileged local account signs in with a TOTP code too
            page.wait_for_url("**/accounts/2fa/authenticate/")
            page.locator("input[name=code]").fill(totp_code())
            page.get_by_role("button", name="Sign In").click()
        person.expect_live()
        people.append(person)
        return person

    yield _sign_in
    errors = {p.user.username: p.errors for p in people if p.errors}
    for person in people:
        person.context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
