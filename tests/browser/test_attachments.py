"""Uploading files from the composer: progress, then a message the other person can open."""

import pytest
from playwright.sync_api import expect

from eim.chat.models import Attachment
from tests.browser.conftest import browser_db, in_db_thread, png
from tests.factories import ChannelFactory, UserFactory

pytestmark = [pytest.mark.browser, browser_db]


def test_an_uploaded_file_shows_up_for_the_other_person(sign_in):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    ChannelFactory(creator=alice, members=[bob], name="reports")
    a, b = sign_in(alice), sign_in(bob)
    a.open("reports")
    b.open("reports")
    report = "Q3 figures, final.\n" * 40_000  # ~760 KB: big enough to report progress

    a.page.locator("#composer input[type=file]").set_input_files(
        [
            {"name": "q3-figures.txt", "mimeType": "text/plain", "buffer": report.encode()},
            {"name": "chart.png", "mimeType": "image/png", "buffer": png()},
        ]
    )
    uploads = a.page.locator("#composer .upload")
    expect(uploads).to_have_count(2)
    expect(uploads.locator("progress").first).to_be_visible()
    expect(a.page.locator("#composer .upload.done")).to_have_count(2)
    a.page.locator("#composer-input").fill("Figures and the chart")
    a.page.locator("#composer-input").press("Enter")

    on_bob = b.message("Figures and the chart")
    link = on_bob.locator("a.attachment", has_text="q3-figures.txt")
    expect(link).to_be_visible()
    expect(on_bob.locator("a.attachment-image img[alt='chart.png']")).to_be_visible()
    download = b.page.request.get(link.get_attribute("href"))
    assert download.status == 200
    assert download.body() == report.encode()
    assert on_bob.locator("img").evaluate("img => img.naturalWidth") == 48
    expect(a.page.locator("#composer .upload")).to_have_count(0)
    assert in_db_thread(Attachment.objects.filter(message__isnull=False).count) == 2


def test_a_refused_upload_says_why_next_to_the_composer(sign_in):
    alice = UserFactory(username="alice")
    ChannelFactory(creator=alice, name="reports")
    a = sign_in(alice)
    a.open("reports")

    a.page.locator("#composer input[type=file]").set_input_files(
        {"name": "deploy.sh", "mimeType": "text/x-sh", "buffer": b"#!/bin/sh\nrm -rf /\n"}
    )

    error = a.page.locator("#composer [data-role=error]")
    expect(error).to_have_text("deploy.sh: executable files and scripts are not allowed")
    expect(a.page.locator("#composer .upload.failed")).to_have_count(1)
    assert not in_db_thread(Attachment.objects.exists)
