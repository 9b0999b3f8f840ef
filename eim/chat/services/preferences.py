"""A person's chat choices (desktop notifications, muted conversations), kept per account.

A change reaches the person's other open clients at once: a `preferences` frame on their
personal group (docs/protocol.md). Nothing here is a conversation event: the choices are the
person's own and say nothing about what anyone said, so they are not archived.
"""

from typing import Any

from django.db import transaction

from accounts.models import User

from ..access import access_member_conversation_by_id
from ..models import ChatPreferences
from ..payloads import preferences_payload
from .events import ephemeral_broadcast, user_group


@transaction.atomic
def chat_preferences_update(
    *,
    user: User,
    notifications: bool | None = None,
    conversation_id: int | None = None,
    muted: bool | None = None,
) -> dict[str, Any]:
    """Turn desktop notifications on or off, and/or mute or unmute one conversation (muting
    needs membership; unmuting never does, so a conversation left behind can be cleared).
    Locks the person's row, so two clients changing different choices at once keep both."""
    if conversation_id is not None and muted:
        access_member_conversation_by_id(user=user, conversation_id=conversation_id)
    ChatPreferences.objects.get_or_create(user=user)
    preferences = ChatPreferences.objects.select_for_update().get(user=user)
    before = preferences_payload(preferences)
    if notifications is not None:
        preferences.notifications = notifications
    if conversation_id is not None and muted is not None:
        ids = set(preferences.muted) - {conversation_id}
        preferences.muted = sorted(ids | {conversation_id} if muted else ids)
    payload = preferences_payload(preferences)
    if payload != before:
        preferences.save()
        message = {"type": "preferences.changed", "frame": {"type": "preferences", **payload}}
        transaction.on_commit(
            lambda: ephemeral_broadcast(user_group(user.pk), message), robust=True
        )
    return payload
