"""An archive to export from: a channel and a direct conversation with edits, a deletion, a
reaction, a thread reply, an attachment and non-Latin text, archived, indexed and signed."""

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from accounts.models import User
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from compliance.export import services
from compliance.export.files import export_storage, zip_name
from compliance.export.models import ExportJob
from compliance.search.indexing import index_pending
from eim.chat.models import Conversation, Message
from eim.chat.services.messages import message_delete, message_edit, reaction_add
from ledger import signing
from tests.archive.helpers import new_private_key_pem, public_key_of, witness_settings
from tests.factories import ChannelFactory, direct_conversation, send, staged_attachment


@pytest.fixture(autouse=True)
def export_environment(tmp_path: Path) -> Iterator[Path]:
    """A signing key, a blob store, a witness and an export storage of this test's own."""
    pem = new_private_key_pem()
    signing.signing_key.cache_clear()
    blobs = {
        "BACKEND": "archive.blobs.FilesystemBlobStore",
        "OPTIONS": {"root": str(tmp_path / "blobs")},
    }
    storages = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "exports"), "allow_overwrite": True},
        },
    }
    with override_settings(
        EIM_ARCHIVE_SIGNING_KEY=pem,
        EIM_ARCHIVE_SIGNING_KEY_FILE="",
        EIM_ARCHIVE_PUBLIC_KEY=public_key_of(pem),
        EIM_ARCHIVE_BLOB_STORE=blobs,
        EIM_WITNESSES=witness_settings(tmp_path / "witness"),
        STORAGES=storages,
        EIM_EXPORT_CHUNK=4,
    ):
        yield tmp_path
    signing.signing_key.cache_clear()


@dataclass
class World:
    alice: User
    bob: User
    carol: User
    channel: Conversation
    direct: Conversation
    edited: Message
    deleted: Message
    reply: Message
    with_file: Message
    unrelated: Message


@pytest.fixture
def world(alice: User, bob: User, carol: User) -> World:
    channel = ChannelFactory(creator=alice, name="trading-desk", members=[bob])
    edited = send(alice, channel, "buy 100 shares of ACME before the announcement")
    message_edit(user=alice, message_id=edited.pk, body="buy 100 shares of ACME, as agreed")
    deleted = send(bob, channel, "delete this: the insider tip, ok?")
    message_delete(user=bob, message_id=deleted.pk)
    reply = send(bob, channel, "株式 取引 — understood, 👍", parent_id=edited.pk)
    reaction_add(user=alice, message_id=reply.pk, emoji="👍")
    upload = staged_attachment(alice, channel, b"quarterly numbers\n", 'numbers, "final".txt')
    with_file = send(alice, channel, "the numbers", attachment_ids=[upload.pk])
    direct = direct_conversation(bob, carol)
    unrelated = send(carol, direct, "lunch at noon?")
    archive_pending()
    checkpoint_create()
    index_pending()
    return World(alice, bob, carol, channel, direct, edited, deleted, reply, with_file, unrelated)


def run_to_end(job: ExportJob) -> ExportJob:
    """Run the job's steps in this process, as the workers would one after another."""
    from compliance.export import runner

    runner.export_run(job_id=str(job.pk))
    services.export_sign(job_id=str(job.pk))
    services.export_package(job_id=str(job.pk))
    job.refresh_from_db()
    return job


def unpacked(job: ExportJob, into: Path) -> Path:
    """The downloaded zip, unpacked: the folder a recipient gets."""
    with export_storage().open(zip_name(str(job.pk)), "rb") as stream:
        zipfile.ZipFile(stream).extractall(into)
    folder = into / f"export-{job.pk}"
    assert folder.is_dir()
    return folder


def public_key_file(into: Path) -> Path:
    path = into / "published-key.pem"
    path.write_text(signing.public_key_pem(signing.current_public_key()))
    return path
