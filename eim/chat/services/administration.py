"""What an administrator does to conversations from the console, and what an owner or an
administrator may both do: hand ownership over, make a channel private or public.

The administrator needs no membership: they act on the conversation's metadata and members,
never its messages. Every administrator action is audited (audit.services) in the same
transaction as the conversation events it records, and obeys the same membership rules as
the owners' paths in conversations.py: an archived channel's members are frozen, and a channel
always keeps an owner.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import active_users_by_id, user_is_active_administrator
from accounts.workspace.definitions import Who
from accounts.workspace.selectors import workspace_settings
from audit.models import AuditEventType
from audit.services import audit_event_record

from ..access import access_member_conversation_by_id, require_owner
from ..errors import ChatError, ErrorCode
from ..models import Conversation, ConversationKind, EventType, MemberRole, Membership
from ..payloads import conversation_payload
from .conversations import (
    _add_member,
    _remove_member,
    _require_channel,
    _require_open,
    _save_and_announce,
    require_owner_remains,
)
from .events import (
    conversation_audience,
    conversation_lock,
    conversation_lock_next_seq,
    event_record,
)


def _require_administrator(actor: User) -> None:
    if not user_is_active_administrator(user=actor):
        raise ChatError(ErrorCode.FORBIDDEN, "only an administrator can do this")


def _channel_locked(conversation_id: int) -> Conversation:
    if not Conversation.objects.filter(pk=conversation_id).exists():
        raise ChatError(ErrorCode.NOT_FOUND, "no such conversation")
    conversation = conversation_lock(conversation_id=conversation_id)
    _require_channel(conversation)
    return conversation


def _audit(
    actor: User, event_type: AuditEventType, conversation: Conversation, **more: Any
) -> None:
    audit_event_record(
        actor=actor,
        event_type=event_type,
        details={"conversation_id": conversation.pk, "name": conversation.name, **more},
    )


@transaction.atomic
def conversation_members_add_by_administrator(
    *, actor: User, conversation_id: int, user_ids: list[int]
) -> list[Membership]:
    """Add people to a channel as members; those already in it are left as they are."""
    _require_administrator(actor)
    conversation = _channel_locked(conversation_id)
    _require_open(conversation)
    people = list(active_users_by_id(user_ids=user_ids))
    if not user_ids or len(people) != len(set(user_ids)):
        raise ChatError(ErrorCode.INVALID_INPUT, "name one or more active people to add")
    present = set(
        Membership.objects.filter(conversation=conversation).values_list("user_id", flat=True)
    )
    added = [
        _add_member(conversation, user=person, actor=actor, role=MemberRole.MEMBER)
        for person in sorted(people, key=lambda u: u.pk)
        if person.pk not in present
    ]
    if added:
        _audit(
            actor,
            AuditEventType.CONVERSATION_MEMBERS_ADDED,
            conversation,
            user_ids=[m.user_id for m in added],
        )
    return added


@transaction.atomic
def conversation_member_remove_by_administrator(
    *, actor: User, conversation_id: int, user_id: int
) -> None:
    _require_administrator(actor)
    conversation = _channel_locked(conversation_id)
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
    _audit(actor, AuditEventType.CONVERSATION_MEMBER_REMOVED, conversation, user_id=user_id)


@transaction.atomic
def conversation_archive_by_administrator(*, actor: User, conversation_id: int) -> Conversation:
    """Make a channel read-only; nothing if it is archived already."""
    _require_administrator(actor)
    conversation = _channel_locked(conversation_id)
    if conversation.archived_at is None:
        conversation.archived_at = timezone.now()
        _save_and_announce(conversation, actor=actor, changes=["archived"])
        _audit(actor, AuditEventType.CONVERSATION_ARCHIVED, conversation)
    return conversation


@transaction.atomic
def conversation_unarchive_by_administrator(*, actor: User, conversation_id: int) -> Conversation:
    """Open an archived channel again; nothing if it is open."""
    _require_administrator(actor)
    conversation = _channel_locked(conversation_id)
    if conversation.archived_at is not None:
        conversation.archived_at = None
        _save_and_announce(conversation, actor=actor, changes=["unarchived"])
        _audit(actor, AuditEventType.CONVERSATION_UNARCHIVED, conversation)
    return conversation


@transaction.atomic
def conversation_ownership_transfer(*, actor: User, conversation_id: int, user_id: int) -> None:
    """Make a member the owner. An owner hands over their own ownership (they stay a member);
    an administrator hands over every owner's (they all stay members), audited."""
    by_administrator = user_is_active_administrator(user=actor)
    conversation = _channel_locked(conversation_id)
    owners = Membership.objects.filter(conversation=conversation, role=MemberRole.OWNER)
    if not by_administrator and not owners.filter(user=actor).exists():
        raise ChatError(ErrorCode.FORBIDDEN, "only an owner or an administrator can do this")
    _require_open(conversation)
    target = (
        Membership.objects.filter(conversation=conversation, user_id=user_id)
        .select_related("user")
        .first()
    )
    if target is None or not target.user.is_active:
        raise ChatError(ErrorCode.INVALID_INPUT, "the new owner must be an active member")
    stepping_down = owners.exclude(user_id=user_id)
    if not by_administrator:
        stepping_down = stepping_down.filter(user=actor)
    previous = sorted(stepping_down.values_list("user_id", flat=True))
    stepping_down.update(role=MemberRole.MEMBER)
    Membership.objects.filter(pk=target.pk).update(role=MemberRole.OWNER)
    _announce_owners(conversation, actor=actor)
    if by_administrator:
        _audit(
            actor,
            AuditEventType.CONVERSATION_OWNERSHIP_TRANSFERRED,
            conversation,
            new_owner=user_id,
            previous_owners=previous,
        )


def _announce_owners(conversation: Conversation, *, actor: User) -> None:
    seq = conversation_lock_next_seq(conversation_id=conversation.pk)
    conversation.last_seq = seq
    owners = sorted(
        Membership.objects.filter(conversation=conversation, role=MemberRole.OWNER).values_list(
            "user_id", flat=True
        )
    )
    event_record(
        conversation_id=conversation.pk,
        seq=seq,
        type=EventType.CONVERSATION_UPDATED,
        actor=actor,
        payload={
            "details": conversation_payload(conversation),
            "changes": ["owners"],
            "owners": owners,
        },
        audience=conversation_audience(conversation_id=conversation.pk),
    )


@transaction.atomic
def conversation_visibility_set(
    *, actor: User, conversation_id: int, private: bool
) -> Conversation:
    """Make a channel private or public; nothing if it is so already.

    Who may: an administrator (from the console, needing no membership; audited), and the
    channel's owners unless the workspace leaves it to administrators
    (`channel_visibility_change`). The members stay either way: a channel made private keeps
    everyone in it, and one made public is joined through the usual path, where the
    information barriers still refuse a barred newcomer. The change is a conversation.updated
    event (`changes: ["visibility"]`, `visibility: {from, to}`) in the archive beside the
    member.joined / member.left records, since it changes who may come in."""
    if user_is_active_administrator(user=actor):
        conversation = _channel_locked(conversation_id)
        audited = True
    else:
        conversation = access_member_conversation_by_id(user=actor, conversation_id=conversation_id)
        _require_channel(conversation)
        require_owner(user=actor, conversation=conversation)
        if workspace_settings().channel_visibility_change == Who.ADMINISTRATORS:
            raise ChatError(
                ErrorCode.FORBIDDEN, "only administrators make channels private or public here"
            )
        conversation = conversation_lock(conversation_id=conversation.pk)
        audited = False
    _require_open(conversation)
    kind = ConversationKind.PRIVATE if private else ConversationKind.PUBLIC
    if conversation.kind == kind:
        return conversation
    before = conversation.kind
    conversation.kind = kind
    _save_and_announce(
        conversation,
        actor=actor,
        changes=["visibility"],
        more={"visibility": {"from": before, "to": kind}},
    )
    if audited:
        _audit(
            actor,
            AuditEventType.CONVERSATION_VISIBILITY_CHANGED,
            conversation,
            visibility={"from": before, "to": kind},
        )
    return conversation
