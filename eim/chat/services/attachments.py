"""Uploading files into a conversation. An upload is staged until a message carries it."""

import hashlib
from pathlib import PurePath
from typing import IO

import filetype
from django.conf import settings
from django.core.files import File
from django.db import transaction

from accounts.models import User

from ..access import access_member_conversation_by_id
from ..errors import ChatError, ErrorCode
from ..models import Attachment
from ..rate_limits import rate_limit_check

_EXECUTABLE_TYPES = {
    "application/x-msdownload",
    "application/x-executable",
    "application/x-mach-binary",
    "application/x-elf",
    "application/vnd.microsoft.portable-executable",
    "application/x-dosexec",
}
_EXECUTABLE_SUFFIXES = {
    ".exe",
    ".dll",
    ".com",
    ".bat",
    ".cmd",
    ".scr",
    ".msi",
    ".ps1",
    ".vbs",
    ".js",
    ".jar",
    ".sh",
    ".app",
    ".apk",
    ".hta",
    ".lnk",
    ".cpl",
}
_HEAD_BYTES = 8192
# A script announces its interpreter in its first bytes whatever its name says.
_SCRIPT_MAGIC = b"#!"


def _clean_filename(name: str) -> str:
    base = PurePath(name.replace("\\", "/")).name.strip().replace("\x00", "")
    if not base or base in {".", ".."}:
        raise ChatError(ErrorCode.ATTACHMENT_REJECTED, "the file needs a name")
    return base[:255]


def _sniff_content_type(head: bytes) -> str:
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


def _digest_and_size(stream: IO[bytes]) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(1024 * 1024):
        sha.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return sha.hexdigest(), size


def check_upload(*, filename: str, stream: IO[bytes], size: int) -> tuple[str, str]:
    """The clean name and the sniffed content type of an upload, or a refusal."""
    limit = settings.EIM_MAX_ATTACHMENT_BYTES
    if size > limit:
        raise ChatError(
            ErrorCode.ATTACHMENT_TOO_LARGE,
            f"a file is at most {limit // (1024 * 1024)} MB (this one is {size / 1048576:.1f} MB)",
        )
    if size == 0:
        raise ChatError(ErrorCode.ATTACHMENT_REJECTED, "the file is empty")
    name = _clean_filename(filename)
    stream.seek(0)
    head = stream.read(_HEAD_BYTES)
    stream.seek(0)
    content_type = _sniff_content_type(head)
    suffix = PurePath(name).suffix.lower()
    is_script = head.startswith(_SCRIPT_MAGIC)
    if content_type in _EXECUTABLE_TYPES or suffix in _EXECUTABLE_SUFFIXES or is_script:
        raise ChatError(
            ErrorCode.ATTACHMENT_REJECTED, "executable files and scripts are not allowed"
        )
    return name, content_type


def attachment_upload(
    *, user: User, conversation_id: int, filename: str, stream: IO[bytes], size: int
) -> Attachment:
    conversation = access_member_conversation_by_id(user=user, conversation_id=conversation_id)
    if conversation.archived_at is not None:
        raise ChatError(ErrorCode.ARCHIVED, "this channel is archived and read-only")
    sha256, actual_size = _digest_and_size(stream)
    # The bytes decide, not only the caller's claim: a wrong `size` must not pass the limit.
    name, content_type = check_upload(filename=filename, stream=stream, size=max(size, actual_size))
    rate_limit_check(scope="upload", user_id=user.pk, rate="30/60")
    # The file is written before the row commits; an orphaned file is harmless, a row
    # without its file would not be.
    with transaction.atomic():
        attachment = Attachment(
            conversation=conversation,
            uploaded_by=user,
            filename=name,
            content_type=content_type,
            size=actual_size,
            sha256=sha256,
        )
        attachment.file.save(f"{sha256[:2]}/{sha256}", File(stream), save=False)
        attachment.save()
    return attachment
