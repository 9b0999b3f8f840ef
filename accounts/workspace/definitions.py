"""Every workspace setting: its type, bounds and the environment setting that is its default."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings


class Who:
    EVERYONE = "everyone"
    ADMINISTRATORS = "administrators"
    CHOICES = (("everyone", "Everyone"), ("administrators", "Administrators only"))


@dataclass(frozen=True)
class Definition:
    key: str
    label: str
    help: str
    default: Callable[[], Any]
    check: Callable[[Any], Any]  # the clean value, or ValueError saying what is wrong


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"a whole number from {low} to {high}") from None
        if isinstance(value, bool) or not low <= number <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return number

    return check


def _rate(value: Any) -> str:
    match = re.fullmatch(r"\s*(\d{1,6})\s*/\s*(\d{1,5})\s*", str(value))
    if not match or int(match[1]) < 1 or not 1 <= int(match[2]) <= 3600:
        raise ValueError("messages/seconds, e.g. 20/10 (1 to 3600 seconds)")
    return f"{int(match[1])}/{int(match[2])}"


def _choice(value: Any) -> str:
    if value not in (Who.EVERYONE, Who.ADMINISTRATORS):
        raise ValueError("everyone or administrators")
    return str(value)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "on", "1", "yes"):
        return True
    if value in ("false", "off", "0", "no", "", None):
        return False
    raise ValueError("true or false")


DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        "max_message_chars",
        "Longest message (characters)",
        "Longer messages are refused when sent or edited.",
        lambda: settings.EIM_MAX_MESSAGE_CHARS,
        _int_between(1, 16_000),  # a socket frame is at most 64 KiB (EIM_MAX_FRAME_BYTES)
    ),
    Definition(
        "max_attachment_bytes",
        "Largest attachment (bytes)",
        "Larger files are refused at upload.",
        lambda: settings.EIM_MAX_ATTACHMENT_BYTES,
        _int_between(1024, 1024**3),
    ),
    Definition(
        "send_rate",
        "Send rate per person (messages/seconds)",
        "More messages in the window are refused until it ends.",
        lambda: settings.EIM_SEND_RATE,
        _rate,
    ),
    Definition(
        "channel_creation",
        "Who may create channels",
        "Administrators only: others ask an administrator.",
        lambda: Who.EVERYONE,
        _choice,
    ),
    Definition(
        "direct_messages",
        "Who may start new direct and group messages",
        "Existing conversations stay open to their people either way.",
        lambda: Who.EVERYONE,
        _choice,
    ),
    Definition(
        "channel_visibility_change",
        "Who may make a channel private or public",
        "Everyone: each channel's owners. Administrators only: from the console. A channel "
        "made private keeps its members; one made public can be joined by anyone the "
        "information barriers allow.",
        lambda: Who.EVERYONE,
        _choice,
    ),
    Definition(
        "history_visible_default",
        "New channel members see what was said before they joined",
        "The default for new channels; each channel's owners may change theirs.",
        lambda: True,
        _flag,
    ),
    Definition(
        "session_hours",
        "Web session length (hours)",
        "A web sign-in ends after this long; applies to sign-ins from now on.",
        lambda: settings.SESSION_COOKIE_AGE // 3600,
        _int_between(1, 24 * 90),
    ),
    Definition(
        "local_sign_in",
        "Password sign-in for everyone",
        "Off: only administrators, compliance officers and auditors sign in with a password "
        "(break-glass, with MFA); everyone else uses single sign-on.",
        lambda: settings.EIM_LOCAL_SIGN_IN == "everyone",
        _flag,
    ),
)
BY_KEY = {d.key: d for d in DEFINITIONS}
