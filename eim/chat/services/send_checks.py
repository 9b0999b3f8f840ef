"""Checks a message must pass before it is written: the send-time hook compliance fills.

The chat sits below compliance and never imports it; compliance registers its content
check here (compliance/apps.py). `message_send` and `message_edit` run every registered
check on the text before anything is written, for the socket and the API alike:

- a `block` finding stops the message: nothing is delivered or stored in the live chat,
  the attempt itself is recorded as a `message.blocked` outbox event (audience: nobody) so
  the archive keeps it, and the sender gets `message_blocked` (HTTP 422) naming the policy
  and the span that matched;
- a `warn` finding stops it until the sender sends again with the finding's token in
  `confirm_warnings` (`warning_unconfirmed`, HTTP 422); nothing is written before that.
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

from accounts.models import User


@dataclass(frozen=True)
class SendAttempt:
    author: User
    conversation_id: int
    text: str
    edit_of: int | None = None  # the message an edit changes


@dataclass(frozen=True)
class SendFinding:
    """A policy that stops this text: what it does, and the spans it matched."""

    action: Literal["block", "warn"]
    policy: str
    version: int
    version_id: int
    spans: tuple[dict[str, Any], ...]

    @property
    def token(self) -> str:
        """What the sender sends back in `confirm_warnings` to go ahead past a warning."""
        return f"policy-version-{self.version_id}"

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "policy": self.policy,
            "version": self.version,
            "token": self.token,
            "spans": list(self.spans),
        }


SendCheck = Callable[[SendAttempt], list[SendFinding]]
_send_checks: list[SendCheck] = []


def send_check_register(check: SendCheck) -> None:
    if check not in _send_checks:
        _send_checks.append(check)


def send_findings(attempt: SendAttempt) -> list[SendFinding]:
    return [finding for check in _send_checks for finding in check(attempt)]


def findings_stopping(
    findings: list[SendFinding], *, confirmed: Collection[str]
) -> tuple[list[SendFinding], list[SendFinding]]:
    """(blocks, warnings the sender has not confirmed)."""
    blocks = [f for f in findings if f.action == "block"]
    warnings = [f for f in findings if f.action == "warn" and f.token not in confirmed]
    return blocks, warnings
