"""Sending, editing and deleting messages, reactions and read marks."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User

from ..access import access_member_conversation_by_id, access_message_by_id, readable_messages
from ..errors import ChatError, ErrorCode
from ..models import Attachment, Conversation, EventType, Membership, Message, Reaction
from ..payloads import attachment_payload, message_payload, user_payload
from ..rate_limits import rate_limit_check
from ..rendering import mentioned_usernames
from .events import (
    Advance,
    conversation_advance,
    conversation_audience,
    conversation_lock_next_seq,
    event_record,
    message_audience,
)

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
    if len(body) > settings.EIM_MAX_MESSAGE_CHARS:
        raise ChatError(
            ErrorCode.BODY_TOO_LONG,
            f"a message is at most {settings.EIM_MAX_MESSAGE_CHARS} characters "
            f"(this one has {len(body)})",
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


def _loaded_payload(message: Message) -> dict[str, Any]:
    return message_payload(
        message,
        mentions=message.mentions.all(),
        attachments=message.attachments.order_by("pk"),
        reactions=message.reactions.all(),
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
    return advance


def _require_member_locked(*, user: User, conversation: Conversation) -> None:
    if not Membership.objects.filter(user=user, conversation=conversation).exists():
        raise ChatError(ErrorCode.NOT_A_MEMBER, "you are no longer a member of this conversation")
    if conversation.archived_at is not None:
        raise ChatError(ErrorCode.ARCHIVED, "this channel is archived and read-only")


def message_send(
    *,
    author: User,
    conversation_id: int,
    body: object,
    client_id: object,
    parent_id: int | None = None,
    attachment_ids: list[int] | None = None,
) -> SendResult:
    """Send a message; sending the same client_id again returns the first message."""
    text = check_body(body)
    cid = _check_client_id(client_id)
    attachment_ids = attachment_ids or []
    if not text.strip() and not attachment_ids:
        raise ChatError(ErrorCode.EMPTY_BODY, "a message needs text or an attachment")
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
    advance = conversation_advance(conversation_id=conversation_id)
    audience = conversation_audience(conversation_id=conversation_id) if advance else []
    seq = _require_sender(
        author, conversation_id=conversation_id, advance=advance, audience=audience
    ).seq
    parent = _check_parent(author=author, conversation_id=conversation_id, parent_id=parent_id)
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
    rate_limit_check(scope="send", user_id=author.pk)
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


@transaction.atomic
def message_edit(*, user: User, message_id: int, body: object) -> Message:
    text = check_body(body)
    message = _own_message(user=user, message_id=message_id)
    if not text.strip() and not message.attachments.exists():
        raise ChatError(ErrorCode.EMPTY_BODY, "an edit cannot empty a message; delete it instead")
    # Every edit is a permanent archive record: before anything is written or locked.
    rate_limit_check(scope="edit", user_id=user.pk, rate=settings.EIM_EDIT_RATE)
    seq = conversation_lock_next_seq(conversation_id=message.conversation_id)
    _require_member_locked(user=user, conversation=_fresh_conversation(message))
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
    event_record(
        conversation_id=message.conversation_id,
        seq=seq,
        type=type,
        actor=actor,
        payload={"message": _loaded_payload(message)},
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
