"""The Content Security Policy, as the browser enforces it on the chat page."""

import pytest

from tests.browser.conftest import browser_db

pytestmark = [pytest.mark.browser, browser_db]


def test_a_script_injected_into_the_chat_page_does_not_run_and_is_reported(sign_in, alice):
    person = sign_in(alice)

    ran = person.page.evaluate(
        """() => new Promise((resolve) => {
            window.injectedRan = false;
            document.addEventListener("securitypolicyviolation", (event) => {
                resolve({ran: window.injectedRan, directive: event.effectiveDirective});
            }, {once: true});
            const script = document.createElement("script");
            script.textContent = "window.injectedRan = true";
            document.body.append(script);
        })"""
    )
    blocked = [error for error in person.errors if "Content Security Policy" in error]
    person.errors.clear()  # expected here; the fixture fails a test on any other

    assert ran == {"ran": False, "directive": "script-src-elem"}
    assert blocked
