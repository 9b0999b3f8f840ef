"""The one place that decides which conversations and messages a user may reach.

Private conversations a user is not in are reported as not found, so their existence
does not leak. A member reads a conversation's messages from their membership's
`history_from_seq` on: the whole history, or only what came after their join
(docs/adr/0005-channel-history-visibility.md).
"""

from django.db.models import F, Q

from accounts.models import User

from .errors import ChatError, ErrorCode
from .models import Conversation, ConversationKind, Membership, Message


def _not_found(what: str) -> ChatError:
    return ChatError(ErrorCode.NOT_FOUND, f"{what} does not exist or you cannot see it")


def membership_of(*, user: User, conversation_id: int) -> Membership | None:
    return Membership.objects.filter(user=user, conversation_id=conversation_id).first()


def access_conversation_by_id(*, user: User, conversation_id: int) -> Conversation:
    """A conversation the user may read: one they are in, or a public channel."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise _not_found("conversation")
    if conversation.kind == ConversationKind.PUBLIC:
        return conversation
    if not Membership.objects.filter(user=user, conversation=conversation).exists():
        raise _not_found("conversation")
    return conversation


def access_member_conversation_by_id(*, user: User, conversation_id: int) -> Conversation:
    """A conversation the user is a member of (to post, react, upload, read its history)."""
    membership = (
        Membership.objects.select_related("conversation")
        .filter(user=user, conversation_id=conversation_id)
        .first()
    )
    if membership is not None:
        return membership.conversation
    # Not a member: find out which refusal applies without revealing private conversations.
    conversation = access_conversation_by_id(user=user, conversation_id=conversation_id)
    if not Membership.objects.filter(user=user, conversation=conversation).exists():
        raise ChatError(ErrorCode.NOT_A_MEMBER, "join the conversation first")
    return conversation


def readable_messages(*, user: User) -> Q:
    """Messages the user may read: in a conversation they are in, from the seq their
    membership's history starts at. One Q, so both conditions are on the same membership."""
    return Q(
        conversation__memberships__user=user,
        seq__gte=F("conversation__memberships__history_from_seq"),
    )


def access_message_by_id(*, user: User, message_id: int) -> Message:
    """A message the user may read (readable_messages)."""
    message = (
        Message.objects.select_related("conversation", "author")
        .filter(readable_messages(user=user), pk=message_id)
        .first()
    )
    if message is None:
        raise _not_found("message")
    return message


def require_owner(*, user: User, conversation: Conversation) -> None:
    is_owner = Membership.objects.filter(
        user=user, conversation=conversation, role="owner"
    ).exists()
    if not is_owner:
        raise ChatError(ErrorCode.FORBIDDEN, "only an owner of the conversation can do this")
