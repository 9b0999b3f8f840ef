"""Sending, editing and deleting messages, reactions and read marks."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, NoReturn

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.workspace.selectors import workspace_settings

from ..access import access_member_conversation_by_id, access_message_by_id, readable_messages
from ..barriers.rules import barrier_mentioning, read_only_refusal, refusal
from ..errors import ChatError, ErrorCode
from ..models import Attachment, Conversation, EventType, Membership, Message, Reaction
from ..payloads import attachment_payload, message_payload, user_payload
from ..rate_limits import rate_limit_check
from ..rendering import mentioned_usernames
from .events import (
    Advance,
    conversation_advance,
    conversation_audience,
    conversation_lock_advance,
    conversation_lock_next_seq,
    event_record,
    message_audience,
)
from .send_checks import SendAttempt, SendFinding, findings_stopping, send_findings

MAX_ATTACHMENTS_PER_MESSAGE = 10
MAX_EMOJI_CHARS = 32


@dataclass(frozen=True)
class SendResult:
    message: Message
    payload: dict[str, Any]
    created: bool


def check_body(body: object) -> str:
    if not isinstance(body, str):
        raise ChatError(ErrorCode.INVALID_INPUT, "body must be text")
    limit = workspace_settings().max_message_chars
    if len(body) > limit:
        raise ChatError(
            ErrorCode.BODY_TOO_LONG,
            f"a message is at most {limit} characters (this one has {len(body)})",
        )
    return body


def _check_client_id(client_id: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(client_id))
    except ValueError as exc:
        raise ChatError(ErrorCode.INVALID_INPUT, "client_id must be a UUID") from exc


def _existing_send(
    *, author: User, client_id: uuid.UUID, conversation_id: int
) -> SendResult | None:
    """The message an earlier send with this client_id made, if the author may still see it."""
    message = Message.objects.filter(author=author, client_id=client_id).first()
    if message is None:
        return None
    if message.conversation_id != conversation_id:
        raise ChatError(ErrorCode.CLIENT_ID_CONFLICT, "client_id was used for another message")
    access_member_conversation_by_id(user=author, conversation_id=conversation_id)
    return SendResult(message=message, payload=_loaded_payload(message), created=False)


def _loaded_payload(message: Message, *, reply_count: int = 0) -> dict[str, Any]:
    return message_payload(
        message,
        mentions=message.mentions.all(),
        attachments=message.attachments.order_by("pk"),
        reactions=message.reactions.all(),
        reply_count=reply_count,
    )


def _staged_attachments(*, author: User, conversation_id: int, ids: list[int]) -> list[Attachment]:
    if not ids:
        return []
    if len(ids) > MAX_ATTACHMENTS_PER_MESSAGE:
        raise ChatError(
            ErrorCode.INVALID_INPUT, f"at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments a message"
        )
    attachments = list(
        Attachment.objects.select_for_update().filter(
            pk__in=ids, uploaded_by=author, conversation_id=conversation_id, message__isnull=True
        )
    )
    if len(attachments) != len(set(ids)):
        raise ChatError(ErrorCode.INVALID_INPUT, "an attachment is unknown or already sent")
    # Upload order, the order every later read gives them too (selectors.messages_page),
    # so a message shows its files the same way live and after a reload.
    return sorted(attachments, key=lambda a: a.pk)


def _check_parent(*, author: User, conversation_id: int, parent_id: int | None) -> Message | None:
    """The thread root a reply joins; a message the author may read (docs/adr/0004)."""
    if parent_id is None:
        return None
    parent = Message.objects.filter(
        readable_messages(user=author), pk=parent_id, conversation_id=conversation_id
    ).first()
    if parent is None:
        raise ChatError(ErrorCode.NOT_FOUND, "the message replied to is not in this conversation")
    return parent.parent or parent  # replies to a reply join the same thread


def _mentioned_members(*, conversation_id: int, body: str) -> list[User]:
    names = mentioned_usernames(body)
    if not names:
        return []
    return list(
        User.objects.filter(
            username__in=names, memberships__conversation_id=conversation_id, is_active=True
        )
    )


def _require_sender(
    author: User, *, conversation_id: int, advance: Advance | None, audience: list[int]
) -> Advance:
    """The membership check of a send, under the conversation lock, from what it already read.

    A refusal reads the conversation again to say the right thing without revealing a private
    conversation (access.py); the caller's transaction then rolls the seq bump back.
    """
    if advance is None or author.pk not in audience:
        access_member_conversation_by_id(user=author, conversation_id=conversation_id)
        raise ChatError(ErrorCode.NOT_A_MEMBER, "you are no longer a member of this conversation")
    if advance.archived:
        raise ChatError(ErrorCode.ARCHIVED, "this channel is archived and read-only")
    if advance.barrier_restricted:
        raise read_only_refusal(conversation_id=conversation_id)
    return advance


def _require_member_locked(*, user: User, conversation: Conversation) -> None:
    if not Membership.objects.filter(user=user, conversation=conversation).exists():
        raise ChatError(ErrorCode.NOT_A_MEMBER, "you are no longer a member of this conversation")
    if conversation.archived_at is not None:
        raise ChatError(ErrorCode.ARCHIVED, "this channel is archived and read-only")
    if conversation.barrier_restricted:
        raise read_only_refusal(conversation_id=conversation.pk)


def _check_mentions(*, author: User, body: str, generation: int | None) -> None:
    """No @mention of someone an information barrier keeps from the author, member or not.

    `generation`: the barrier generation the write's locking statement read, so the check can
    use the facts in memory if they are those of that generation (rules.barrier_mentioning).
    """
    names = mentioned_usernames(body)
    if names:
        barrier = barrier_mentioning(user_id=author.pk, usernames=names, generation=generation)
        if barrier is not None:
            raise refusal(barrier)


def message_send(
    *,
    author: User,
    conversation_id: int,
    body: object,
    client_id: object,
    parent_id: int | None = None,
    attachment_ids: list[int] | None = None,
    confirm_warnings: Collection[str] = (),
) -> SendResult:
    """Send a message; sending the same client_id again returns the first message.

    A content policy may stop it first (send_checks): a block records the attempt and
    refuses, an unconfirmed warning refuses; a retry of a message that went through is still
    answered with that message.
    """
    text = check_body(body)
    cid = _check_client_id(client_id)
    attachment_ids = attachment_ids or []
    if not text.strip() and not attachment_ids:
        raise ChatError(ErrorCode.EMPTY_BODY, "a message needs text or an attachment")
    attempt = SendAttempt(author=author, conversation_id=conversation_id, text=text)
    blocks, warnings = findings_stopping(send_findings(attempt), confirmed=confirm_warnings)
    if blocks or warnings:
        existing = _existing_send(author=author, client_id=cid, conversation_id=conversation_id)
        if existing is not None:
            return existing
        _stop(attempt, blocks, warnings, client_id=cid, parent_id=parent_id, ids=attachment_ids)
    try:
        return _message_write(author, conversation_id, text, cid, parent_id, attachment_ids)
    except (IntegrityError, ChatError):
        # A repeat of a send that went through (a retry, or a concurrent copy that lost the
        # race to the unique (author, client_id)) is answered with the first message, even if
        # a new send would now be refused (the channel archived since); _existing_send still
        # refuses an author who is no longer a member.
        existing = _existing_send(author=author, client_id=cid, conversation_id=conversation_id)
        if existing is None:
            raise
        return existing


def _stop(
    attempt: SendAttempt,
    blocks: list[SendFinding],
    warnings: list[SendFinding],
    *,
    client_id: uuid.UUID | None = None,
    parent_id: int | None = None,
    ids: list[int] | None = None,
) -> NoReturn:
    """Refuse a message a policy stops; a block is archived first (nothing else written)."""
    if not blocks:
        raise ChatError(
            ErrorCode.WARNING_UNCONFIRMED,
            "; ".join(f'policy "{f.policy}" warns: {_spans(f)}' for f in warnings)
            + " (send again with confirm_warnings to go ahead)",
            findings=[f.as_json() for f in warnings],
        )
    _blocked_attempt_record(attempt, blocks, client_id=client_id, parent_id=parent_id, ids=ids)
    raise ChatError(
        ErrorCode.MESSAGE_BLOCKED,
        "; ".join(f'blocked by policy "{f.policy}" (v{f.version}): {_spans(f)}' for f in blocks),
        findings=[f.as_json() for f in blocks],
    )


def _spans(finding: SendFinding) -> str:
    return ", ".join(f'"{span["text"]}"' for span in finding.spans)


@transaction.atomic
def _blocked_attempt_record(
    attempt: SendAttempt,
    blocks: list[SendFinding],
    *,
    client_id: uuid.UUID | None,
    parent_id: int | None,
    ids: list[int] | None,
) -> None:
    """Record what was attempted and which policies blocked it, for the archive only.

    Only a member may leave an attempt in a conversation's record (checked under its lock,
    as a send is), and attempts count against the send rate like sends.
    """
    author, conversation_id = attempt.author, attempt.conversation_id
    advance = conversation_advance(conversation_id=conversation_id)
    audience = conversation_audience(conversation_id=conversation_id) if advance else []
    seq = _require_sender(
        author, conversation_id=conversation_id, advance=advance, audience=audience
    ).seq
    rate_limit_check(scope="send", user_id=author.pk)
    event_record(
        conversation_id=conversation_id,
        seq=seq,
        type=EventType.MESSAGE_BLOCKED,
        actor=author,
        payload={
            "attempt": {
                "body": attempt.text,
                "edit_of": attempt.edit_of,
                "client_id": str(client_id) if client_id else None,
                "parent": parent_id,
                "attachments": ids or [],
            },
            "blocked_by": [f.as_json() for f in blocks],
        },
        audience=[],
    )


@transaction.atomic
def _message_write(
    author: User,
    conversation_id: int,
    text: str,
    client_id: uuid.UUID,
    parent_id: int | None,
    attachment_ids: list[int],
) -> SendResult:
    """Write a message and its events; the membership and rate checks run under the lock.

    Raises IntegrityError, having written nothing, if the author sent this client_id before.
    """
    advance = conversation_advance(conversation_id=conversation_id, barrier_generation="@" in text)
    audience = conversation_audience(conversation_id=conversation_id) if advance else []
    advance = _require_sender(
        author, conversation_id=conversation_id, advance=advance, audience=audience
    )
    seq = advance.seq
    parent = _check_parent(author=author, conversation_id=conversation_id, parent_id=parent_id)
    _check_mentions(author=author, body=text, generation=advance.barrier_generation)
    message = Message.objects.create(
        conversation_id=conversation_id,
        author=author,
        parent=parent,
        body=text,
        client_id=client_id,
        seq=seq,
    )
    # After the insert, which refuses a repeated client_id: a retry is answered, not counted,
    # and its attachments (already sent with the first) are not looked at.
    rate_limit_check(scope="send", user_id=author.pk, rate=workspace_settings().send_rate)
    attachments = _staged_attachments(
        author=author, conversation_id=conversation_id, ids=attachment_ids
    )
    mentions = _mentioned_members(conversation_id=conversation_id, body=text)
    if mentions:
        message.mentions.set(mentions)
    for attachment in attachments:
        attachment.message = message
        attachment.save(update_fields=["message"])
    payload = message_payload(message, mentions=mentions, attachments=attachments)
    event_record(
        conversation_id=conversation_id,
        seq=seq,
        type=EventType.MESSAGE_NEW,
        actor=author,
        payload={"message": payload},
        audience=audience,
    )
    for attachment in attachments:
        event_record(
            conversation_id=conversation_id,
            seq=conversation_lock_next_seq(conversation_id=conversation_id),
            type=EventType.ATTACHMENT_ADDED,
            actor=author,
            payload={"message_id": message.pk, "attachment": attachment_payload(attachment)},
            audience=audience,
        )
    return SendResult(message=message, payload=payload, created=True)


def _own_message(*, user: User, message_id: int) -> Message:
    message = access_message_by_id(user=user, message_id=message_id)
    if message.author_id != user.pk:
        raise ChatError(ErrorCode.FORBIDDEN, "you can only change your own messages")
    if message.deleted_at is not None:
        raise ChatError(ErrorCode.NOT_FOUND, "this message was deleted")
    return message


def message_edit(
    *, user: User, message_id: int, body: object, confirm_warnings: Collection[str] = ()
) -> Message:
    text = check_body(body)
    message = _own_message(user=user, message_id=message_id)
    attempt = SendAttempt(
        author=user, conversation_id=message.conversation_id, text=text, edit_of=message.pk
    )
    blocks, warnings = findings_stopping(send_findings(attempt), confirmed=confirm_warnings)
    if blocks or warnings:
        _stop(attempt, blocks, warnings)
    return _message_edit_write(user=user, message_id=message_id, text=text)


@transaction.atomic
def _message_edit_write(*, user: User, message_id: int, text: str) -> Message:
    message = _own_message(user=user, message_id=message_id)
    if not text.strip() and not message.attachments.exists():
        raise ChatError(ErrorCode.EMPTY_BODY, "an edit cannot empty a message; delete it instead")
    # Every edit is a permanent archive record: before anything is written or locked.
    rate_limit_check(scope="edit", user_id=user.pk, rate=settings.EIM_EDIT_RATE)
    advance = conversation_lock_advance(
        conversation_id=message.conversation_id, barrier_generation="@" in text
    )
    seq = advance.seq
    _require_member_locked(user=user, conversation=_fresh_conversation(message))
    _check_mentions(author=user, body=text, generation=advance.barrier_generation)
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.deleted_at is not None:
        raise ChatError(ErrorCode.NOT_FOUND, "this message was deleted")
    message.body = text
    message.edited_at = timezone.now()
    message.save(update_fields=["body", "edited_at"])
    mentions = _mentioned_members(conversation_id=message.conversation_id, body=text)
    message.mentions.set(mentions)
    _record_message_event(message, seq=seq, type=EventType.MESSAGE_EDITED, actor=user)
    return message


@transaction.atomic
def message_delete(*, user: User, message_id: int) -> Message:
    message = _own_message(user=user, message_id=message_id)
    seq = conversation_lock_next_seq(conversation_id=message.conversation_id)
    _require_member_locked(user=user, conversation=_fresh_conversation(message))
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.deleted_at is not None:
        raise ChatError(ErrorCode.NOT_FOUND, "this message was deleted")
    message.deleted_at = timezone.now()
    message.save(update_fields=["deleted_at"])
    _record_message_event(message, seq=seq, type=EventType.MESSAGE_DELETED, actor=user)
    return message


def _fresh_conversation(message: Message) -> Conversation:
    return Conversation.objects.get(pk=message.conversation_id)


def _record_message_event(message: Message, *, seq: int, type: EventType, actor: User) -> None:
    # An edited or deleted thread root carries its exact reply count, as a REST page does.
    is_root = message.parent_id is None
    replies = message.replies.filter(deleted_at__isnull=True).count() if is_root else 0
    event_record(
        conversation_id=message.conversation_id,
        seq=seq,
        type=type,
        actor=actor,
        payload={"message": _loaded_payload(message, reply_count=replies)},
        audience=message_audience(conversation_id=message.conversation_id, message_seq=message.seq),
    )


def _check_emoji(emoji: object) -> str:
    if not isinstance(emoji, str) or not emoji.strip() or len(emoji) > MAX_EMOJI_CHARS:
        raise ChatError(ErrorCode.INVALID_INPUT, "a reaction is an emoji or a short name")
    if any(c.isspace() or c in "<>&\"'" for c in emoji):
        raise ChatError(ErrorCode.INVALID_INPUT, "a reaction cannot contain spaces or markup")
    return emoji


def _reaction_change(*, user: User, message_id: int, emoji: object, add: bool) -> bool:
    name = _check_emoji(emoji)
    message = access_message_by_id(user=user, message_id=message_id)
    if message.deleted_at is not None:
        raise ChatError(ErrorCode.NOT_FOUND, "this message was deleted")
    # Counted before the conversation is locked; a repeat that changes nothing counts too.
    rate_limit_check(scope="reaction", user_id=user.pk, rate=settings.EIM_REACTION_RATE)
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=message.conversation_id)
        _require_member_locked(user=user, conversation=conversation)
        if not Message.objects.filter(pk=message.pk, deleted_at__isnull=True).exists():
            raise ChatError(ErrorCode.NOT_FOUND, "this message was deleted")  # while we waited
        existing = Reaction.objects.filter(message=message, user=user, emoji=name)
        if add == existing.exists():
            return False  # already in the requested state: nothing to record
        if add:
            Reaction.objects.create(message=message, user=user, emoji=name)
        else:
            existing.delete()
        event_record(
            conversation_id=conversation.pk,
            seq=conversation_lock_next_seq(conversation_id=conversation.pk),
            type=EventType.REACTION_ADDED if add else EventType.REACTION_REMOVED,
            actor=user,
            payload={"message_id": message.pk, "emoji": name, "user": user_payload(user)},
            audience=message_audience(conversation_id=conversation.pk, message_seq=message.seq),
        )
    return True


def reaction_add(*, user: User, message_id: int, emoji: object) -> bool:
    return _reaction_change(user=user, message_id=message_id, emoji=emoji, add=True)


def reaction_remove(*, user: User, message_id: int, emoji: object) -> bool:
    return _reaction_change(user=user, message_id=message_id, emoji=emoji, add=False)


def read_mark(*, user: User, conversation_id: int, seq: object) -> int:
    """Move the user's read marker forward (never back); returns the marker."""
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ChatError(ErrorCode.INVALID_INPUT, "seq must be a non-negative integer")
    conversation = access_member_conversation_by_id(user=user, conversation_id=conversation_id)
    target = min(seq, conversation.last_seq)
    Membership.objects.filter(
        user=user, conversation=conversation, last_read_seq__lt=target
    ).update(last_read_seq=target)
    membership = Membership.objects.get(user=user, conversation=conversation)
    return membership.last_read_seq
