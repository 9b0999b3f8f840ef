"""Creating conversations and changing who is in them."""

from collections.abc import Collection
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import active_users_by_id, user_is_active_administrator
from accounts.workspace.definitions import Who
from accounts.workspace.selectors import workspace_settings

from ..access import access_conversation_by_id, access_member_conversation_by_id, require_owner
from ..barriers.rules import barrier_among, barrier_joining, refusal
from ..errors import ChatError, ErrorCode
from ..models import Conversation, ConversationKind, EventType, MemberRole, Membership
from ..payloads import conversation_payload, user_payload
from .events import (
    conversation_audience,
    conversation_lock,
    conversation_lock_next_seq,
    ephemeral_broadcast,
    event_record,
    user_group,
)

MAX_GROUP_MEMBERS = 9


def _check_channel_name(name: str) -> str:
    name = name.strip().lower().lstrip("#")
    if not name or len(name) > 80 or not all(c.isalnum() or c in "-_" for c in name):
        raise ChatError(
            ErrorCode.INVALID_INPUT,
            "a channel name is 1 to 80 letters, digits, hyphens or underscores",
        )
    return name


def _record(
    conversation: Conversation,
    *,
    type: EventType,
    actor: User,
    payload: dict[str, Any],
    audience: list[int] | None = None,
) -> None:
    seq = conversation_lock_next_seq(conversation_id=conversation.pk)
    event_record(
        conversation_id=conversation.pk,
        seq=seq,
        type=type,
        actor=actor,
        payload=payload,
        audience=(
            audience
            if audience is not None
            else conversation_audience(conversation_id=conversation.pk)
        ),
    )
    conversation.last_seq = seq


def _add_member(conversation: Conversation, *, user: User, actor: User, role: str) -> Membership:
    """Add a member and record what they may read: the whole history from seq 1, or only
    what comes after their join. The event says so, so the archive can answer who could
    see an earlier message without any record ever changing.

    Every way into a channel (join, invite, the console) passes here: an information barrier
    between the newcomer and someone already in it refuses the join (eim.chat.barriers)."""
    if conversation.is_channel:
        barrier = barrier_joining(user_id=user.pk, conversation_id=conversation.pk)
        if barrier is not None:
            raise refusal(barrier)
    seq = conversation_lock_next_seq(conversation_id=conversation.pk)
    history_from_seq = 1 if conversation.history_visible else seq
    membership = Membership.objects.create(
        conversation=conversation,
        user=user,
        role=role,
        joined_seq=seq,
        last_read_seq=seq,
        history_from_seq=history_from_seq,
    )
    event_record(
        conversation_id=conversation.pk,
        seq=seq,
        type=EventType.MEMBER_JOINED,
        actor=actor,
        payload={"user": user_payload(user), "role": role, "history_from_seq": history_from_seq},
        audience=conversation_audience(conversation_id=conversation.pk),
        notify_users=(user.pk,),
    )
    conversation.last_seq = seq
    return membership


@transaction.atomic
def conversation_create_channel(
    *,
    creator: User,
    name: str,
    private: bool = False,
    topic: str = "",
    purpose: str = "",
    history_visible: bool | None = None,
) -> Conversation:
    """A new channel with its creator as owner. `history_visible` None: the workspace's
    default. Refused when the workspace lets only administrators create channels."""
    policy = workspace_settings()
    if policy.channel_creation == Who.ADMINISTRATORS and not user_is_active_administrator(
        user=creator
    ):
        raise ChatError(ErrorCode.FORBIDDEN, "only administrators create channels here")
    if history_visible is None:
        history_visible = policy.history_visible_default
    name = _check_channel_name(name)
    if len(topic) > 250:
        raise ChatError(ErrorCode.INVALID_INPUT, "a topic is at most 250 characters")
    if len(purpose) > 250:
        raise ChatError(ErrorCode.INVALID_INPUT, "a purpose is at most 250 characters")
    kind = ConversationKind.PRIVATE if private else ConversationKind.PUBLIC
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                kind=kind,
                name=name,
                topic=topic,
                purpose=purpose,
                created_by=creator,
                history_visible=history_visible,
            )
    except IntegrityError as exc:
        raise ChatError(ErrorCode.ALREADY_EXISTS, f"a channel named #{name} exists") from exc
    _record(
        conversation,
        type=EventType.CONVERSATION_CREATED,
        actor=creator,
        payload={"details": conversation_payload(conversation)},
        audience=[creator.pk],  # the creator joins next, in the same transaction
    )
    _add_member(conversation, user=creator, actor=creator, role=MemberRole.OWNER)
    return conversation


def _direct_users(creator: User, user_ids: list[int]) -> list[User]:
    ids = set(user_ids) | {creator.pk}
    users = list(active_users_by_id(user_ids=ids))
    if len(users) != len(ids):
        raise ChatError(ErrorCode.INVALID_INPUT, "every participant must be an active user")
    if len(users) > MAX_GROUP_MEMBERS:
        raise ChatError(
            ErrorCode.INVALID_INPUT, f"a group message has at most {MAX_GROUP_MEMBERS} people"
        )
    return sorted(users, key=lambda u: u.pk)


@transaction.atomic
def conversation_open_direct(*, creator: User, user_ids: list[int]) -> Conversation:
    """The direct or group conversation of exactly these people, created if new."""
    users = _direct_users(creator, user_ids)
    direct_key = ":".join(str(u.pk) for u in users)
    existing = Conversation.objects.filter(direct_key=direct_key).first()
    if existing is not None:
        return existing  # read-only if a barrier came between them since (eim.chat.barriers)
    if workspace_settings().direct_messages == Who.ADMINISTRATORS and (
        not user_is_active_administrator(user=creator)
    ):
        raise ChatError(ErrorCode.FORBIDDEN, "only administrators start new direct messages here")
    barrier = barrier_among(user_ids=[u.pk for u in users])
    if barrier is not None:
        raise refusal(barrier)
    kind = ConversationKind.DIRECT if len(users) <= 2 else ConversationKind.GROUP
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                kind=kind, direct_key=direct_key, created_by=creator
            )
    except IntegrityError:
        return Conversation.objects.get(direct_key=direct_key)
    _record(
        conversation,
        type=EventType.CONVERSATION_CREATED,
        actor=creator,
        payload={"details": conversation_payload(conversation)},
        audience=[u.pk for u in users],  # the participants join next, in this transaction
    )
    for user in users:
        _add_member(conversation, user=user, actor=creator, role=MemberRole.MEMBER)
    return conversation


def _require_channel(conversation: Conversation) -> None:
    if not conversation.is_channel:
        raise ChatError(ErrorCode.FORBIDDEN, "the people in a direct message are fixed")


def _require_open(conversation: Conversation) -> None:
    if conversation.archived_at is not None:
        raise ChatError(ErrorCode.ARCHIVED, "this channel is archived and read-only")


@transaction.atomic
def membership_join(*, user: User, conversation_id: int) -> Membership:
    conversation = access_conversation_by_id(user=user, conversation_id=conversation_id)
    if conversation.kind != ConversationKind.PUBLIC:
        raise ChatError(ErrorCode.FORBIDDEN, "private conversations are joined by invitation")
    _require_open(conversation)
    conversation = conversation_lock(conversation_id=conversation.pk)
    existing = Membership.objects.filter(conversation=conversation, user=user).first()
    if existing is not None:
        return existing
    return _add_member(conversation, user=user, actor=user, role=MemberRole.MEMBER)


@transaction.atomic
def membership_invite(
    *, actor: User, conversation_id: int, user_ids: list[int]
) -> list[Membership]:
    conversation = access_member_conversation_by_id(user=actor, conversation_id=conversation_id)
    _require_channel(conversation)
    _require_open(conversation)
    if conversation.kind == ConversationKind.PRIVATE:
        require_owner(user=actor, conversation=conversation)
    conversation = conversation_lock(conversation_id=conversation.pk)
    invitees = list(active_users_by_id(user_ids=user_ids))
    if len(invitees) != len(set(user_ids)):
        raise ChatError(ErrorCode.INVALID_INPUT, "every invitee must be an active user")
    present = set(
        Membership.objects.filter(conversation=conversation).values_list("user_id", flat=True)
    )
    return [
        _add_member(conversation, user=invitee, actor=actor, role=MemberRole.MEMBER)
        for invitee in sorted(invitees, key=lambda u: u.pk)
        if invitee.pk not in present
    ]


def _remove_member(
    conversation: Conversation, *, membership: Membership, actor: User | None, reason: str
) -> None:
    user = membership.user
    # The departing member is in the audience of their own departure, so their socket hears it.
    seq = conversation_lock_next_seq(conversation_id=conversation.pk)
    audience = conversation_audience(conversation_id=conversation.pk)
    membership.delete()
    event_record(
        conversation_id=conversation.pk,
        seq=seq,
        type=EventType.MEMBER_LEFT,
        actor=actor,
        payload={"user": user_payload(user), "reason": reason},
        audience=audience,
        notify_users=(user.pk,),
    )
    # Their sockets leave the conversation's group at once (its presence and typing stop),
    # even before the member.left event reaches them in its turn.
    left = {"type": "conversation.left", "conversation": conversation.pk}
    transaction.on_commit(lambda: ephemeral_broadcast(user_group(user.pk), left), robust=True)


def require_owner_remains(*, conversation: Conversation, leaving: Membership) -> None:
    """A channel always keeps an owner: its last owner leaves (or is removed) only after
    handing ownership to another member (`conversation_ownership_transfer`). Call under the
    conversation's lock, so two owners leaving at once cannot both pass."""
    if leaving.role != MemberRole.OWNER:
        return
    others = (
        Membership.objects.filter(conversation=conversation, role=MemberRole.OWNER)
        .exclude(pk=leaving.pk)
        .exists()
    )
    if not others:
        raise ChatError(
            ErrorCode.LAST_OWNER,
            "the last owner cannot leave: hand ownership to another member first"
            " (or archive the channel)",
        )


@transaction.atomic
def membership_leave(*, user: User, conversation_id: int) -> None:
    conversation = access_member_conversation_by_id(user=user, conversation_id=conversation_id)
    _require_channel(conversation)
    conversation = conversation_lock(conversation_id=conversation.pk)
    membership = (
        Membership.objects.select_related("user")
        .filter(conversation=conversation, user=user)
        .first()
    )
    if membership is None:
        raise ChatError(ErrorCode.NOT_A_MEMBER, "you are not a member")
    _require_open(conversation)  # an archived channel's members are its record: frozen
    require_owner_remains(conversation=conversation, leaving=membership)
    _remove_member(conversation, membership=membership, actor=user, reason="left")


@transaction.atomic
def membership_remove(*, actor: User, conversation_id: int, user_id: int) -> None:
    conversation = access_member_conversation_by_id(user=actor, conversation_id=conversation_id)
    _require_channel(conversation)
    require_owner(user=actor, conversation=conversation)
    conversation = conversation_lock(conversation_id=conversation.pk)
    membership = (
        Membership.objects.select_related("user")
        .filter(conversation=conversation, user_id=user_id)
        .first()
    )
    if membership is None:
        raise ChatError(ErrorCode.NOT_FOUND, "that person is not a member")
    _require_open(conversation)
    require_owner_remains(conversation=conversation, leaving=membership)
    _remove_member(conversation, membership=membership, actor=actor, reason="removed")


@transaction.atomic
def conversation_update(
    *,
    actor: User,
    conversation_id: int,
    name: str | None = None,
    topic: str | None = None,
    purpose: str | None = None,
    history_visible: bool | None = None,
) -> Conversation:
    """Rename, change the topic or the purpose, or whether later joiners see the history. The
    last applies to joins from now on: each member keeps what their own join gave them.
    (Private or public: administration.conversation_visibility_set.)"""
    conversation = access_member_conversation_by_id(user=actor, conversation_id=conversation_id)
    _require_channel(conversation)
    _require_open(conversation)
    require_owner(user=actor, conversation=conversation)
    changes: list[str] = []
    if name is not None and _check_channel_name(name) != conversation.name:
        conversation.name = _check_channel_name(name)
        changes.append("name")
    if topic is not None and topic != conversation.topic:
        if len(topic) > 250:
            raise ChatError(ErrorCode.INVALID_INPUT, "a topic is at most 250 characters")
        conversation.topic = topic
        changes.append("topic")
    if purpose is not None and purpose != conversation.purpose:
        if len(purpose) > 250:
            raise ChatError(ErrorCode.INVALID_INPUT, "a purpose is at most 250 characters")
        conversation.purpose = purpose
        changes.append("purpose")
    if history_visible is not None and history_visible != conversation.history_visible:
        conversation.history_visible = history_visible
        changes.append("history_visible")
    if changes:
        _save_and_announce(conversation, actor=actor, changes=changes)
    return conversation


@transaction.atomic
def conversation_archive(*, actor: User, conversation_id: int) -> Conversation:
    conversation = access_member_conversation_by_id(user=actor, conversation_id=conversation_id)
    _require_channel(conversation)
    require_owner(user=actor, conversation=conversation)
    if conversation.archived_at is None:
        conversation.archived_at = timezone.now()
        _save_and_announce(conversation, actor=actor, changes=["archived"])
    return conversation


def _save_and_announce(
    conversation: Conversation,
    *,
    actor: User,
    changes: list[str],
    more: dict[str, Any] | None = None,
) -> None:
    seq = conversation_lock_next_seq(conversation_id=conversation.pk)
    conversation.last_seq = seq
    fields = ["name", "topic", "purpose", "kind", "archived_at", "history_visible"]
    try:
        with transaction.atomic():
            conversation.save(update_fields=fields)
    except IntegrityError as exc:
        raise ChatError(ErrorCode.ALREADY_EXISTS, "another channel has that name") from exc
    event_record(
        conversation_id=conversation.pk,
        seq=seq,
        type=EventType.CONVERSATION_UPDATED,
        actor=actor,
        payload={"details": conversation_payload(conversation), "changes": changes, **(more or {})},
        audience=conversation_audience(conversation_id=conversation.pk),
    )


@transaction.atomic
def membership_remove_by_barrier(
    *, actor: User | None, conversation_id: int, user_ids: Collection[int]
) -> list[int]:
    """An information barrier's decision (eim.chat.barriers.services, by an administrator; or
    the sweep carrying out that recorded decision later, actor None): these people leave the
    channel. Returns who left."""
    conversation = conversation_lock(conversation_id=conversation_id)
    _require_channel(conversation)
    leaving = list(
        Membership.objects.select_related("user")
        .filter(conversation=conversation, user_id__in=user_ids)
        .order_by("user_id")
    )
    for membership in leaving:
        _remove_member(conversation, membership=membership, actor=actor, reason="removed")
    return [m.user_id for m in leaving]
