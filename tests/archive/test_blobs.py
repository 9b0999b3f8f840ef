"""Attachment bytes in the archive: content-addressed, written once, read-only, checked."""

import hashlib
import io
import stat
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from archive.blobs import BlobIntegrityError, FilesystemBlobStore
from archive.models import ArchiveBlob, ArchiveRecord
from archive.services.archiving import archive_pending
from eim.chat.models import Attachment
from tests.archive.helpers import archive_verify
from tests.conftest import api_as
from tests.factories import ChannelFactory, send, staged_attachment

pytestmark = pytest.mark.django_db

REPORT = b"Q3 trading desk report\nnet: 1,204,332.17\n"
REPORT_SHA256 = hashlib.sha256(REPORT).hexdigest()


def _upload_and_send(user, channel, content: bytes, name: str) -> dict:  # type: ignore[no-untyped-def]
    client = api_as(user)
    upload = client.post(
        f"/api/v1/conversations/{channel.pk}/attachments/",
        {"file": SimpleUploadedFile(name, content, content_type="application/octet-stream")},
        format="multipart",
    ).json()
    client.post(
        f"/api/v1/conversations/{channel.pk}/messages/",
        {"body": f"sending {name}", "client_id": str(uuid.uuid4()), "attachments": [upload["id"]]},
        format="json",
    )
    return upload


def _files(root) -> list:  # type: ignore[no-untyped-def]
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_an_attachment_sent_in_a_message_is_archived_under_its_sha256(alice, bob, blob_root):
    channel = ChannelFactory(creator=alice, members=[bob])
    upload = _upload_and_send(alice, channel, REPORT, "report.txt")

    archive_pending()

    path = blob_root / REPORT_SHA256[:2] / REPORT_SHA256[2:4] / REPORT_SHA256
    blob = ArchiveBlob.objects.get()
    added = ArchiveRecord.objects.get(event_type="attachment.added")
    assert upload["sha256"] == REPORT_SHA256
    assert path.read_bytes() == REPORT
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert _files(blob_root) == [f"{REPORT_SHA256[:2]}/{REPORT_SHA256[2:4]}/{REPORT_SHA256}"]
    assert (blob.sha256, blob.size, blob.content_type, blob.first_seq) == (
        REPORT_SHA256,
        len(REPORT),
        "text/plain",
        added.seq,
    )


def test_the_same_bytes_sent_twice_are_stored_once(alice, bob, blob_root):
    channel = ChannelFactory(creator=alice, members=[bob])
    _upload_and_send(alice, channel, REPORT, "report.txt")
    _upload_and_send(bob, channel, REPORT, "copy-of-report.txt")
    archive_pending()
    _upload_and_send(alice, channel, REPORT, "report-again.txt")

    archive_pending()

    added = ArchiveRecord.objects.filter(event_type="attachment.added").order_by("seq")
    assert ArchiveBlob.objects.count() == 1
    assert ArchiveBlob.objects.get().first_seq == added[0].seq
    assert len(added) == 3
    assert _files(blob_root) == [f"{REPORT_SHA256[:2]}/{REPORT_SHA256[2:4]}/{REPORT_SHA256}"]


def test_different_attachments_get_a_blob_each(alice, blob_root):
    channel = ChannelFactory(creator=alice)
    first = staged_attachment(alice, channel, b"first file\n", "a.txt")
    second = staged_attachment(alice, channel, b"second file\n", "b.txt")
    send(alice, channel, "two files", attachment_ids=[first.pk, second.pk])

    archive_pending()

    stored = dict(ArchiveBlob.objects.values_list("sha256", "size"))
    assert stored == {first.sha256: first.size, second.sha256: second.size}
    assert len(_files(blob_root)) == 2


def test_bytes_that_do_not_match_their_name_are_refused_and_not_kept(tmp_path):
    store = FilesystemBlobStore(tmp_path)

    with pytest.raises(BlobIntegrityError):
        store.put(REPORT_SHA256, io.BytesIO(REPORT + b"one more line\n"))

    assert not store.exists(REPORT_SHA256)
    assert _files(tmp_path) == []


def test_a_stored_blob_whose_bytes_changed_is_refused_on_the_next_put(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    store.put(REPORT_SHA256, io.BytesIO(REPORT))
    path = tmp_path / REPORT_SHA256[:2] / REPORT_SHA256[2:4] / REPORT_SHA256
    path.chmod(0o644)
    path.write_bytes(b"rewritten")

    with pytest.raises(BlobIntegrityError):
        store.put(REPORT_SHA256, io.BytesIO(REPORT))

    assert path.read_bytes() == b"rewritten"


def test_putting_a_stored_blob_again_keeps_the_first_copy(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    first = store.put(REPORT_SHA256, io.BytesIO(REPORT))

    again = store.put(REPORT_SHA256, io.BytesIO(REPORT))

    with store.open(REPORT_SHA256) as stream:
        assert stream.read() == REPORT
    assert first == again
    assert (again.sha256, again.size) == (REPORT_SHA256, len(REPORT))


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", REPORT_SHA256.upper(), REPORT_SHA256[:-1], f"{REPORT_SHA256}/x"]
)
def test_a_blob_is_named_only_by_a_lowercase_hex_sha256(tmp_path, name):
    store = FilesystemBlobStore(tmp_path)

    with pytest.raises(ValueError, match="lowercase hex SHA-256"):
        store.put(name, io.BytesIO(REPORT))

    assert _files(tmp_path) == []


def test_a_lost_live_file_does_not_hold_back_the_archive_and_verify_names_it(
    alice, bob, blob_root, archive_key
):
    channel = ChannelFactory(creator=alice, members=[bob])
    upload = _upload_and_send(alice, channel, REPORT, "report.txt")
    Attachment.objects.get(pk=upload["id"]).file.delete(save=False)
    send(bob, channel, "after the lost file")

    archive_pending()
    code, report = archive_verify()

    assert ArchiveRecord.objects.filter(event_type="attachment.added").count() == 1
    assert ArchiveRecord.objects.filter(event_type="message.new").count() == 2
    assert not ArchiveBlob.objects.exists()
    assert code == 1
    assert ("blob", REPORT_SHA256) in {(p["kind"], p["blob"]) for p in report["problems"]}
