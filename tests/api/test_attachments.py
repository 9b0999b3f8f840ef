"""Attachments over REST: multipart upload, send, download; what is refused stores nothing."""

import hashlib
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from eim.chat.models import Attachment, ConversationEvent, EventType
from eim.chat.services.messages import message_delete
from tests.conftest import api_as
from tests.factories import (
    PNG_BYTES,
    ChannelFactory,
    chat_state,
    send,
    staged_attachment,
    stored_files,
)

pytestmark = pytest.mark.django_db


def _upload(client, channel, content: bytes, name: str, content_type: str = "text/plain"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/conversations/{channel.pk}/attachments/",
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
        format="multipart",
    )


def _download(client, attachment_id: int):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/attachments/{attachment_id}/download/")


def _content(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content)


def test_upload_then_send_carries_the_file(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    client = api_as(alice)
    content = b"desk notes for today\n"

    uploaded = _upload(client, channel, content, "notes.txt")
    sent = client.post(
        f"/api/v1/conversations/{channel.pk}/messages/",
        {"body": "", "client_id": str(uuid.uuid4()), "attachments": [uploaded.json()["id"]]},
        format="json",
    )
    downloaded = _download(api_as(bob), uploaded.json()["id"])

    assert uploaded.status_code == 201
    assert uploaded.json() == {
        "id": uploaded.json()["id"],
        "filename": "notes.txt",
        "content_type": "text/plain",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "url": f"/api/v1/attachments/{uploaded.json()['id']}/download/",
    }
    assert sent.status_code == 201
    assert sent.json()["attachments"] == [uploaded.json()]
    assert downloaded.status_code == 200
    assert _content(downloaded) == content
    assert ConversationEvent.objects.filter(type=EventType.ATTACHMENT_ADDED).count() == 1


def test_the_content_type_is_sniffed_from_the_bytes_never_taken_from_the_client(alice):
    channel = ChannelFactory(creator=alice)
    client = api_as(alice)

    png = _upload(client, channel, PNG_BYTES, "x.txt", content_type="text/plain")
    text = _upload(client, channel, "naïve café\n".encode(), "x.png", content_type="image/png")
    binary = _upload(client, channel, b"\x00\xff\xfe\x80" * 16, "x.txt")

    assert png.json()["content_type"] == "image/png"
    assert text.json()["content_type"] == "text/plain"
    assert binary.json()["content_type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("name", "stored_as"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("/absolute/report.txt", "report.txt"),
    ],
)
def test_a_path_in_the_filename_is_reduced_to_its_base_name(alice, name, stored_as):
    channel = ChannelFactory(creator=alice)

    response = _upload(api_as(alice), channel, b"root:x:0:0\n", name)

    attachment = Attachment.objects.get(pk=response.json()["id"])
    assert response.status_code == 201
    assert response.json()["filename"] == stored_as
    assert ".." not in attachment.file.name


@override_settings(EIM_MAX_ATTACHMENT_BYTES=1024)
def test_a_file_over_the_limit_is_413_and_nothing_is_stored(alice):
    channel = ChannelFactory(creator=alice)
    before, files = chat_state(), stored_files()

    response = _upload(api_as(alice), channel, b"x" * 1025, "big.txt")

    assert response.status_code == 413
    assert response.json()["code"] == "attachment_too_large"
    assert chat_state() == before
    assert stored_files() == files


@override_settings(EIM_MAX_ATTACHMENT_BYTES=1024)
def test_a_file_of_exactly_the_limit_is_accepted(alice):
    channel = ChannelFactory(creator=alice)

    response = _upload(api_as(alice), channel, b"x" * 1024, "edge.txt")

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120, "setup.txt"),
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120, "report.pdf"),
        (b"harmless text\n", "payload.exe"),
        (b"alert(document.cookie)\n", "script.js"),
        (b"harmless text\n", "RUN.BAT"),
        (b"echo hi\n", "install.sh"),
        (b"#!/bin/sh\nrm -rf ~\n", "notes.txt"),
        (b"", "empty.txt"),
        (b"harmless text\n", "payroll.bat."),
        (b"harmless text\n", "payroll.bat . . "),
        (b"harmless text\n", "PAYROLL.BAT.."),
        (b"harmless text\n", "payroll.bat::$DATA"),
        (b"harmless text\n", "payroll.bat\u200b"),
        (b"harmless text\n", "payroll\uff0ebat"),
        (b"harmless text\n", "invoice.vbe"),
        (b"harmless text\n", "setup.wsf"),
        (b"harmless text\n", "policy.reg"),
        (b"harmless text\n", "app.pif"),
        (b"harmless text\n", "update.jse"),
        (b"harmless text\n", "open.url"),
        (b"harmless text\n", "disk.iso"),
    ],
    ids=[
        "mz-bytes",
        "elf-bytes",
        "exe-name",
        "js-name",
        "bat-upper",
        "sh-name",
        "shebang-bytes",
        "empty",
        "trailing-dot",
        "trailing-dots-and-spaces",
        "upper-trailing-dots",
        "ntfs-stream",
        "trailing-zero-width",
        "full-width-dot",
        "vbe",
        "wsf",
        "reg",
        "pif",
        "jse",
        "url",
        "iso",
    ],
)
def test_executables_and_scripts_are_400_rejected_and_nothing_is_stored(alice, content, name):
    channel = ChannelFactory(creator=alice)
    before, files = chat_state(), stored_files()

    response = _upload(api_as(alice), channel, content, name)

    assert response.status_code == 400
    assert response.json()["code"] == "attachment_rejected"
    assert chat_state() == before
    assert stored_files() == files


def test_a_missing_file_is_400(alice):
    channel = ChannelFactory(creator=alice)

    response = api_as(alice).post(
        f"/api/v1/conversations/{channel.pk}/attachments/", {}, format="multipart"
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")


def test_an_archived_channel_takes_no_uploads(alice):
    channel = ChannelFactory(creator=alice)
    api_as(alice).post(f"/api/v1/conversations/{channel.pk}/archive/")
    before, files = chat_state(), stored_files()

    response = _upload(api_as(alice), channel, b"late\n", "late.txt")

    assert (response.status_code, response.json()["code"]) == (409, "archived")
    assert chat_state() == before
    assert stored_files() == files


def test_someone_elses_staged_upload_cannot_be_attached(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    upload = staged_attachment(alice, channel)
    before = chat_state()

    response = api_as(bob).post(
        f"/api/v1/conversations/{channel.pk}/messages/",
        {"body": "mine", "client_id": str(uuid.uuid4()), "attachments": [upload.pk]},
        format="json",
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")
    assert chat_state() == before


def test_a_staged_upload_is_downloadable_only_by_its_uploader(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    upload = staged_attachment(alice, channel)
    before = chat_state()

    mine = _download(api_as(alice), upload.pk)
    theirs = _download(api_as(bob), upload.pk)

    assert mine.status_code == 200
    assert _content(mine) == b"quarterly numbers\n"
    assert (theirs.status_code, theirs.json()["code"]) == (404, "not_found")
    assert chat_state() == before


def test_a_non_member_cannot_download(alice, carol):
    channel = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, channel)
    send(alice, channel, "file", attachment_ids=[upload.pk])
    before = chat_state()

    response = _download(api_as(carol), upload.pk)

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert chat_state() == before


def test_the_attachment_of_a_deleted_message_is_not_downloadable(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    upload = staged_attachment(alice, channel)
    message = send(alice, channel, "oops, wrong file", attachment_ids=[upload.pk])

    message_delete(user=alice, message_id=message.pk)
    before = chat_state()

    responses = [_download(api_as(user), upload.pk) for user in (alice, bob)]

    assert [r.status_code for r in responses] == [404, 404]
    assert chat_state() == before


def test_a_non_image_is_served_as_an_attachment_with_nosniff_and_a_sandbox(alice):
    channel = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, channel, b"<html><script>alert(1)</script>", "page.html")

    response = _download(api_as(alice), upload.pk)

    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="page.html"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    response.close()


def test_an_image_is_served_inline_still_sandboxed(alice):
    channel = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, channel, PNG_BYTES, "chart.png")

    response = _download(api_as(alice), upload.pk)

    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert _content(response) == PNG_BYTES


def test_the_same_bytes_uploaded_twice_are_two_attachments_with_one_digest(alice):
    channel = ChannelFactory(creator=alice)
    client = api_as(alice)

    first = _upload(client, channel, b"same\n", "a.txt").json()
    second = _upload(client, channel, b"same\n", "b.txt").json()

    assert first["id"] != second["id"]
    assert first["sha256"] == second["sha256"]
    assert _content(_download(client, second["id"])) == b"same\n"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"II*\x00" + b"\x00" * 120, "image/tiff"),
        (b"8BPS" + b"\x00" * 120, "image/vnd.adobe.photoshop"),
        (b"\x00\x00\x01\x00" + b"\x00" * 120, "image/x-icon"),
    ],
    ids=["tiff", "psd", "icon"],
)
def test_an_image_type_off_the_inline_list_is_served_as_a_download(alice, content, content_type):
    channel = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, channel, content, "picture.dat")

    response = _download(api_as(alice), upload.pk)

    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].startswith("attachment;")
    response.close()


def test_a_gif_is_served_inline(alice):
    channel = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, channel, b"GIF89a" + b"\x00" * 120, "wave.gif")

    response = _download(api_as(alice), upload.pk)

    assert response["Content-Disposition"].startswith("inline;")
    response.close()
