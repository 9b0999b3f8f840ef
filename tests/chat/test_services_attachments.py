"""The attachment service itself, as every caller reaches it (REST is only one of them)."""

import hashlib
import io
import uuid

import pytest
from django.test import override_settings

from eim.chat.errors import ChatError, ErrorCode
from eim.chat.selectors import messages_page
from eim.chat.services.attachments import attachment_upload
from eim.chat.services.messages import message_send
from tests.factories import ChannelFactory, chat_state, staged_attachment, stored_files

pytestmark = pytest.mark.django_db


def _upload(user, channel, filename: str, content: bytes = b"text\n", size: int | None = None):  # type: ignore[no-untyped-def]
    return attachment_upload(
        user=user,
        conversation_id=channel.pk,
        filename=filename,
        stream=io.BytesIO(content),
        size=len(content) if size is None else size,
    )


@pytest.mark.parametrize(
    ("filename", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("/var/www/index.txt", "index.txt"),
        ("C:\\Users\\alice\\notes.txt", "notes.txt"),
        ("  spaced.txt  ", "spaced.txt"),
        ("nul\x00byte.txt", "nulbyte.txt"),
        ("notes.txt.", "notes.txt"),
        ("notes.txt . . ", "notes.txt"),
        ("report\u202etxt.pdf", "reporttxt.pdf"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
    ],
    ids=repr,
)
def test_only_the_base_name_of_a_filename_is_kept(alice, filename, kept):
    channel = ChannelFactory(creator=alice)

    attachment = _upload(alice, channel, filename)

    assert attachment.filename == kept


@pytest.mark.parametrize(
    "filename", ["", "..", "../", "a/..", "   ", "...", ". . .", "\u202e"], ids=repr
)
def test_a_filename_that_is_only_a_path_is_rejected(alice, filename):
    channel = ChannelFactory(creator=alice)
    before, files = chat_state(), stored_files()

    with pytest.raises(ChatError) as refused:
        _upload(alice, channel, filename)

    assert refused.value.code == ErrorCode.ATTACHMENT_REJECTED
    assert chat_state() == before
    assert stored_files() == files


@override_settings(EIM_MAX_ATTACHMENT_BYTES=10)
def test_the_size_limit_is_the_services_own(alice):
    channel = ChannelFactory(creator=alice)
    before, files = chat_state(), stored_files()

    with pytest.raises(ChatError) as refused:
        _upload(alice, channel, "big.txt", b"x" * 11)

    assert refused.value.code == ErrorCode.ATTACHMENT_TOO_LARGE
    assert chat_state() == before
    assert stored_files() == files


def test_the_stored_size_and_digest_come_from_the_bytes_not_the_caller(alice):
    channel = ChannelFactory(creator=alice)

    attachment = _upload(alice, channel, "claims.txt", b"twelve bytes", size=3)

    assert attachment.size == 12
    assert attachment.sha256 == hashlib.sha256(b"twelve bytes").hexdigest()


@override_settings(EIM_MAX_ATTACHMENT_BYTES=10)
def test_a_file_under_claimed_is_still_held_to_the_limit(alice):
    channel = ChannelFactory(creator=alice)
    before, files = chat_state(), stored_files()

    with pytest.raises(ChatError) as refused:
        _upload(alice, channel, "sneaky.txt", b"x" * 11, size=3)

    assert refused.value.code == ErrorCode.ATTACHMENT_TOO_LARGE
    assert chat_state() == before
    assert stored_files() == files


def test_the_file_is_stored_under_its_digest_not_its_name(alice):
    channel = ChannelFactory(creator=alice)

    attachment = staged_attachment(alice, channel, b"content\n", "../../evil.txt")

    assert attachment.sha256 in attachment.file.name
    assert "evil" not in attachment.file.name
    assert attachment.file.read() == b"content\n"


@pytest.mark.parametrize(
    ("private", "code"),
    [(True, ErrorCode.NOT_FOUND), (False, ErrorCode.NOT_A_MEMBER)],
    ids=["private", "public"],
)
def test_a_non_member_cannot_upload(alice, carol, private, code):
    channel = ChannelFactory(creator=alice, private=private)
    before, files = chat_state(), stored_files()

    with pytest.raises(ChatError) as refused:
        _upload(carol, channel, "drop.txt")

    assert refused.value.code == code
    assert chat_state() == before
    assert stored_files() == files


def test_a_message_lists_its_files_in_upload_order_live_and_when_read_again(alice):
    channel = ChannelFactory(creator=alice)
    first = staged_attachment(alice, channel, b"one\n", "first.txt")
    second = staged_attachment(alice, channel, b"two\n", "second.txt")

    # The sender names them the other way round; both answers use the upload order.
    sent = message_send(
        author=alice,
        conversation_id=channel.pk,
        body="",
        client_id=uuid.uuid4(),
        attachment_ids=[second.pk, first.pk],
    )
    page = messages_page(user=alice, conversation_id=channel.pk)

    assert [a["filename"] for a in sent.payload["attachments"]] == ["first.txt", "second.txt"]
    assert [a["filename"] for a in page["results"][0]["attachments"]] == [
        "first.txt",
        "second.txt",
    ]
