"""The send-time check compliance registers in the chat (eim.chat.services.send_checks).

Only the block and warn policies run here, on the compiled set the process already holds;
a text that hits nothing costs one scan (a few microseconds) and no query.
"""

from functools import lru_cache

from accounts.selectors import user_group_ids
from eim.chat import selectors as chat_selectors
from eim.chat.services.send_checks import SendAttempt, SendFinding

from .cache import policy_set


@lru_cache(maxsize=10_000)
def _conversation_kind(conversation_id: int) -> str:
    return chat_selectors.conversation_kind_by_id(conversation_id=conversation_id)


def send_time_findings(attempt: SendAttempt) -> list[SendFinding]:
    policies = policy_set()
    if not policies.send_gate or not attempt.text:
        return []
    hits = policies.scan(attempt.text, only=policies.send_gate)
    if not hits:
        return []
    groups: frozenset[int] | None = None
    findings = []
    for index, policy_hits in hits.items():
        spec = policies.specs[index]
        if spec.scope_needs_author_groups and groups is None:
            groups = user_group_ids(user_id=attempt.author.pk)
        applies = spec.applies(
            author_id=attempt.author.pk,
            groups=groups or (),
            conversation_id=attempt.conversation_id,
            kind=_conversation_kind(attempt.conversation_id) if spec.scope.get("kinds") else "",
        )
        if applies:
            findings.append(
                SendFinding(
                    action="block" if "block" in spec.actions else "warn",
                    policy=spec.name,
                    version=spec.version,
                    version_id=spec.version_id,
                    spans=tuple(hit.as_json() for hit in policy_hits),
                )
            )
    return findings
