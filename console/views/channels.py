"""Channels: every conversation's metadata and members, and the administrator's changes to
them through eim.chat.services.administration. Never a message."""

import re

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from eim.chat.models import Conversation
from eim.chat.services import administration

from ..access import administrator_required
from ..selectors.channels import (
    KIND_CHOICES,
    ChannelFilter,
    channel_by_id,
    channel_overview,
    channels_search,
    users_by_usernames,
)
from .base import Ask, act, confirm_then_act, int_or_none, page


def channel_filter_from(params: dict[str, str]) -> ChannelFilter:
    return ChannelFilter(
        q=params.get("q", "").strip()[:80],
        kind=params.get("kind", "") if params.get("kind") in KIND_CHOICES else "",
        archived=params.get("archived", "") if params.get("archived") in ("yes", "no") else "",
        before=int_or_none(params.get("before")),
    )


@require_GET
@administrator_required
def channel_list(request: HttpRequest, admin: User) -> HttpResponse:
    filters = channel_filter_from(request.GET.dict())
    result = channels_search(filters=filters)
    query = request.GET.copy()
    query.pop("before", None)
    return page(
        request,
        admin,
        "channels.html",
        "channels",
        filters=filters,
        result=result,
        rows=[(c, result.owners.get(c.pk, [])) for c in result.channels],
        kind_choices=KIND_CHOICES.items(),
        base_query=query.urlencode(),
        narrows=bool(filters.q or filters.kind or filters.archived),
    )


def _channel(conversation_id: int) -> Conversation:
    conversation = channel_by_id(conversation_id=conversation_id)
    if conversation is None:
        raise Http404("no such conversation")
    return conversation


def _back(conversation_id: int) -> str:
    return reverse("console:channel", args=[conversation_id])


@require_GET
@administrator_required
def channel_detail(request: HttpRequest, admin: User, conversation_id: int) -> HttpResponse:
    overview = channel_overview(conversation=_channel(conversation_id))
    return page(request, admin, "channel.html", "channels", o=overview)


@require_POST
@administrator_required
def channel_members_add(request: HttpRequest, admin: User, conversation_id: int) -> HttpResponse:
    conversation = _channel(conversation_id)
    usernames = [u for u in re.split(r"[\s,]+", request.POST.get("usernames", "")) if u][:100]
    ids, unknown = users_by_usernames(usernames=usernames)
    if unknown or not ids:
        messages.error(
            request,
            "Nothing changed: "
            + (f"no active person named {', '.join(unknown)}" if unknown else "name someone"),
        )
        return redirect(_back(conversation_id))
    act(
        request,
        f"Added to {conversation}",
        lambda: administration.conversation_members_add_by_administrator(
            actor=admin, conversation_id=conversation_id, user_ids=ids
        ),
    )
    return redirect(_back(conversation_id))


@require_POST
@administrator_required
def channel_member_remove(
    request: HttpRequest, admin: User, conversation_id: int, user_id: int
) -> HttpResponse:
    conversation = _channel(conversation_id)
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Remove this person from {conversation}?",
            consequence="They stop seeing the channel at once. What they said stays.",
            verb="Remove",
        ),
        section="channels",
        done=f"Removed from {conversation}",
        work=lambda: administration.conversation_member_remove_by_administrator(
            actor=admin, conversation_id=conversation_id, user_id=user_id
        ),
        then=_back(conversation_id),
    )


@require_POST
@administrator_required
def channel_archive(request: HttpRequest, admin: User, conversation_id: int) -> HttpResponse:
    conversation = _channel(conversation_id)
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Archive {conversation}?",
            consequence="It becomes read-only for everyone: no messages, no joining or leaving, "
            "until it is unarchived.",
            verb="Archive",
        ),
        section="channels",
        done=f"{conversation} is archived",
        work=lambda: administration.conversation_archive_by_administrator(
            actor=admin, conversation_id=conversation_id
        ),
        then=_back(conversation_id),
    )


@require_POST
@administrator_required
def channel_unarchive(request: HttpRequest, admin: User, conversation_id: int) -> HttpResponse:
    conversation = _channel(conversation_id)
    act(
        request,
        f"{conversation} is open again",
        lambda: administration.conversation_unarchive_by_administrator(
            actor=admin, conversation_id=conversation_id
        ),
    )
    return redirect(_back(conversation_id))


@require_POST
@administrator_required
def channel_owner_transfer(request: HttpRequest, admin: User, conversation_id: int) -> HttpResponse:
    conversation = _channel(conversation_id)
    user_id = int_or_none(request.POST.get("user")) or 0
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Hand ownership of {conversation} over?",
            consequence="The chosen member becomes its only owner; the present owners stay on "
            "as members.",
            verb="Hand over",
        ),
        section="channels",
        done=f"Ownership of {conversation} handed over",
        work=lambda: administration.conversation_ownership_transfer(
            actor=admin, conversation_id=conversation_id, user_id=user_id
        ),
        then=_back(conversation_id),
    )


@require_POST
@administrator_required
def channel_visibility(request: HttpRequest, admin: User, conversation_id: int) -> HttpResponse:
    conversation = _channel(conversation_id)
    private = request.POST.get("private") == "true"
    act(
        request,
        f"{conversation} is {'private' if private else 'public'}",
        lambda: administration.conversation_visibility_set(
            actor=admin, conversation_id=conversation_id, private=private
        ),
    )
    return redirect(_back(conversation_id))
