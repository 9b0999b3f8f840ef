"""Plain-dict shapes of chat objects, shared by events, the socket and the REST API."""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from accounts.models import User

from .models import Attachment, ChatPreferences, Conversation, Membership, Message, Reaction
from .rendering import render_body


def user_payload(user: User) -> dict[str, Any]:
    return {"id": user.pk, "username": user.username, "name": user.shown_name}


def attachment_payload(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "url": f"/api/v1/attachments/{attachment.pk}/download/",
    }


def reactions_payload(reactions: Iterable[Reaction]) -> list[dict[str, Any]]:
    users_by_emoji: dict[str, list[int]] = defaultdict(list)
    for reaction in sorted(reactions, key=lambda r: (r.created_at, r.pk)):
        users_by_emoji[reaction.emoji].append(reaction.user_id)
    return [{"emoji": emoji, "users": users} for emoji, users in users_by_emoji.items()]


def message_payload(
    message: Message,
    *,
    mentions: Iterable[User] = (),
    attachments: Iterable[Attachment] = (),
    reactions: Iterable[Reaction] = (),
    reply_count: int = 0,
) -> dict[str, Any]:
    """A message as members see it; a deleted message keeps no body (a tombstone)."""
    mention_names = {u.username for u in mentions}
    deleted = message.deleted_at is not None
    return {
        "id": message.pk,
        "conversation": message.conversation_id,
        "seq": message.seq,
        "author": user_payload(message.author),
        "parent": message.parent_id,
        "client_id": str(message.client_id),
        "body": "" if deleted else message.body,
        "html": "" if deleted else render_body(message.body, mentioned=mention_names),
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "deleted": deleted,
        "mentions": [] if deleted else sorted(u.pk for u in mentions),
        "attachments": [] if deleted else [attachment_payload(a) for a in attachments],
        "reactions": [] if deleted else reactions_payload(reactions),
        "reply_count": reply_count,
    }


def message_payload_loaded(message: Message) -> dict[str, Any]:
    """message_payload for a message whose relations were prefetched by a selector."""
    return message_payload(
        message,
        mentions=message.mentions.all(),
        attachments=message.attachments.all(),
        reactions=message.reactions.all(),
        reply_count=getattr(message, "reply_count", 0),
    )


def conversation_payload(
    conversation: Conversation, *, membership: Membership | None = None, unread: int = 0
) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "kind": conversation.kind,
        "name": conversation.name,
        "topic": conversation.topic,
        "purpose": conversation.purpose,
        "created_at": conversation.created_at.isoformat(),
        "archived": conversation.archived_at is not None,
        "history_visible": conversation.history_visible,
        "barrier_read_only": conversation.barrier_restricted,
        "last_seq": conversation.last_seq,
        "member": membership is not None,
        "role": membership.role if membership else None,
        "last_read_seq": membership.last_read_seq if membership else None,
        "unread": unread,
    }


def preferences_payload(preferences: ChatPreferences | None) -> dict[str, Any]:
    """A person's chat choices; no row yet: the defaults."""
    if preferences is None:
        return {"notifications": False, "muted": []}
    return {"notifications": preferences.notifications, "muted": sorted(preferences.muted)}
