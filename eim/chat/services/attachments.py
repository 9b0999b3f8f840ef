"""Uploading files into a conversation. An upload is staged until a message carries it."""

import hashlib
import unicodedata
from pathlib import PurePath
from typing import IO

import filetype
from django.core.files import File
from django.db import transaction

from accounts.models import User
from accounts.workspace.selectors import workspace_settings

from ..access import access_member_conversation_by_id
from ..barriers.rules import read_only_refusal
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
# Names a desktop runs, installs or opens as code when clicked (Windows' list of file types
# it treats as unsafe, with the scripting hosts' and the disk images that hide them).
_EXECUTABLE_SUFFIXES = {
    # programs and libraries
    *(".exe", ".dll", ".com", ".scr", ".pif", ".cpl", ".msi", ".msp", ".mst", ".msc"),
    *(".app", ".apk", ".jar", ".gadget", ".application", ".appref-ms", ".xbap"),
    # scripts and their hosts
    *(".bat", ".cmd", ".ps1", ".ps2", ".psm1", ".psd1", ".ps1xml", ".sh"),
    *(".vb", ".vbs", ".vbe", ".js", ".jse", ".ws", ".wsf", ".wsc", ".wsh", ".sct", ".hta"),
    # shortcuts, settings and help files that run what they point at
    *(".lnk", ".url", ".scf", ".inf", ".ins", ".isp", ".reg", ".chm", ".hlp"),
    *(".settingcontent-ms", ".library-ms"),
    # disk images, which open as a drive and hide what they hold from download checks
    *(".iso", ".img", ".vhd", ".vhdx"),
}
# What a browser may show in the page (the download view serves it inline); anything else is
# served as a download. Raster images only: SVG carries script, and other image types
# (TIFF, PSD, icons) are rendered by less-tested decoders.
INLINE_CONTENT_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_HEAD_BYTES = 8192
# A script announces its interpreter in its first bytes whatever its name says.
_SCRIPT_MAGIC = b"#!"


def _clean_filename(name: str) -> str:
    """The base name, without control or invisible format characters (a right-to-left
    override can show `exe.pdf` for `fdp.exe`), and without the trailing dots and spaces
    that Windows drops when it saves the file (`payroll.bat.` is saved as `payroll.bat`)."""
    visible = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    base = PurePath(visible.replace("\\", "/")).name.strip().rstrip(". ")
    if not base or base in {".", ".."}:
        raise ChatError(ErrorCode.ATTACHMENT_REJECTED, "the file needs a name")
    return base[:255]


def _suffixes(name: str) -> set[str]:
    """The suffix a desktop may act on: of the name, of its NTFS file part (`x.bat:stream`
    writes `x.bat`), and of its compatibility form (full-width letters)."""
    found = set()
    for form in (name, unicodedata.normalize("NFKC", name)):
        for part in (form, form.split(":", 1)[0]):
            found.add(PurePath(part.rstrip(". ")).suffix.lower())
    return found


def attachment_inline(*, content_type: str) -> bool:
    """Whether a download of this (sniffed) content type may be shown in the page."""
    return content_type in INLINE_CONTENT_TYPES


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
    limit = workspace_settings().max_attachment_bytes
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
    is_script = head.startswith(_SCRIPT_MAGIC)
    executable_name = bool(_suffixes(name) & _EXECUTABLE_SUFFIXES)
    if content_type in _EXECUTABLE_TYPES or executable_name or is_script:
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
    if conversation.barrier_restricted:  # no file shared across an information barrier
        raise read_only_refusal(conversation_id=conversation.pk)
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
