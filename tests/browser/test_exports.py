"""Evidence exports in the compliance workspace: an officer exports a search, watches its
progress while a real Celery worker runs it, and downloads the signed zip."""

import io
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from playwright.sync_api import expect

from accounts.models import Role
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from compliance.search.backends.postgres import PostgresBackend
from compliance.search.indexing import index_pending
from ledger import signing
from tests.archive.helpers import new_private_key_pem, public_key_of
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, browser_db
from tests.conftest import ROOT, LiveServer, server_env
from tests.factories import ChannelFactory, UserFactory, send

pytestmark = [pytest.mark.browser, browser_db]


@pytest.fixture
def signed_archive(tmp_path: Path) -> Iterator[str]:
    """A signing key shared by this process (the checkpoint) and the worker (the manifest)."""
    pem = new_private_key_pem()
    signing.signing_key.cache_clear()
    store = {
        "BACKEND": "archive.blobs.FilesystemBlobStore",
        "OPTIONS": {"root": str(tmp_path / "archive-blobs")},
    }
    with override_settings(
        EIM_ARCHIVE_SIGNING_KEY=pem,
        EIM_ARCHIVE_SIGNING_KEY_FILE="",
        EIM_ARCHIVE_PUBLIC_KEY=public_key_of(pem),
        EIM_ARCHIVE_BLOB_STORE=store,
    ):
        yield pem
    signing.signing_key.cache_clear()


@pytest.fixture
def desk(signed_archive: str) -> dict[str, Any]:
    PostgresBackend().delete_all()
    olivia = UserFactory(
        username="olivia", display_name="Olivia Officer", roles=[Role.COMPLIANCE_OFFICER]
    )
    bob = UserFactory(username="bob", display_name="Bob Baker")
    carol = UserFactory(username="carol", display_name="Carol Chen")
    channel = ChannelFactory(creator=bob, members=[carol], name="trading-desk")
    for i in range(60):
        send(bob if i % 2 else carol, channel, f"merger update {i}: Acme numbers on Friday")
    archive_pending()
    checkpoint_create()
    index_pending()
    return {"olivia": olivia}


@pytest.fixture
def worker(daphne_server: LiveServer, signed_archive: str, tmp_path: Path) -> Iterator[None]:
    """A Celery worker for the export and signing queues, writing where the server reads."""
    env = {
        **server_env(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EIM_ARCHIVE_SIGNING_KEY": signed_archive,
        "EIM_ARCHIVE_PUBLIC_KEY": public_key_of(signed_archive),
        "EIM_EXPORT_ROOT": str(ROOT / "var" / "test-exports" / str(daphne_server.process.pid)),
        "EIM_EXPORT_CHUNK": "3",
    }
    with open(tmp_path / "worker.log", "ab") as log:
        process = subprocess.Popen(
            [
                *(str(ROOT / ".venv" / "bin" / "celery"), "-A", "eim", "worker"),
                *("--pool=solo", "-Q", "celery,signing", "-n", f"export-{tmp_path.name}@%h"),
                *("--without-mingle", "--without-gossip", "--loglevel=INFO"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_an_officer_exports_a_search_watches_it_and_downloads_it(sign_in, desk, worker):
    officer = sign_in(desk["olivia"])
    page = officer.page
    page.goto("/compliance/?q=merger")
    expect(page.locator("#workspace")).not_to_have_attribute("data-state", "loading")

    page.get_by_role("button", name="Export", exact=True).click()
    panel = page.get_by_role("region", name="Evidence exports")
    expect(panel.get_by_label("Query to export")).to_have_value("merger")
    panel.get_by_label("EML").check()
    panel.get_by_role("button", name="Start export").click()

    item = panel.locator(".export-item").first
    expect(item).to_contain_text("merger")
    expect(item.locator(".export-state")).to_have_text("Ready", timeout=60_000)
    expect(item.locator(".export-progress")).to_contain_text(
        "63 of 63 records"
    )  # 60 messages, the channel, 2 joins
    expect(item).to_contain_text("Manifest SHA-256")
    page.screenshot(path=SCREENSHOTS / "compliance-laptop-export.png")

    with page.expect_download() as download:
        item.get_by_role("link", name="Download").click()
    data = Path(download.value.path()).read_bytes()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert any(n.endswith("/manifest.dsse.json") for n in names)
    assert any(n.endswith("/verify_export.py") for n in names)
    assert sum(n.endswith(".eml") for n in names) == 60


def test_the_exports_panel_fits_a_phone(sign_in, desk, worker):
    officer = sign_in(desk["olivia"], viewport=PHONE)
    page = officer.page
    page.goto("/compliance/?q=merger")
    page.get_by_role("button", name="Export", exact=True).click()
    panel = page.get_by_role("region", name="Evidence exports")
    panel.get_by_role("button", name="Start export").click()

    expect(panel.locator(".export-state").first).to_have_text("Ready", timeout=60_000)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=SCREENSHOTS / "compliance-phone-export.png", full_page=True)


def test_a_bad_query_is_refused_in_the_panel(sign_in, desk):
    officer = sign_in(desk["olivia"], viewport=LAPTOP)
    page = officer.page
    page.goto("/compliance/")
    page.get_by_role("button", name="Export", exact=True).click()
    panel = page.get_by_role("region", name="Evidence exports")
    panel.get_by_label("Query to export").fill('insider "trading')
    panel.get_by_role("button", name="Start export").click()

    expect(panel.locator("#export-status")).to_contain_text("unclosed quote")
    expect(panel.locator(".export-item")).to_have_count(0)
