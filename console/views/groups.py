"""Groups: local ones made, renamed, deleted and filled here; SCIM and SSO groups are shown
read-only (their provider owns them). All through accounts.services.groups."""

import re

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Group, GroupSource, User
from accounts.services import groups

from ..access import administrator_required
from ..selectors.channels import users_by_usernames
from ..selectors.groups import group_by_id, group_overview, groups_search
from .base import Ask, act, confirm_then_act, int_or_none, page


@require_GET
@administrator_required
def group_list(request: HttpRequest, admin: User) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    after = int_or_none(request.GET.get("after"))
    result = groups_search(q=q, after=after)
    return page(
        request,
        admin,
        "groups.html",
        "groups",
        groups=result.groups,
        result=result,
        q=q,
        after=after,
    )


def _local_group(group_id: int) -> Group:
    group = group_by_id(group_id=group_id)
    if group is None:
        raise Http404("no such group")
    return group


def _editable(request: HttpRequest, group: Group) -> bool:
    if group.source != GroupSource.LOCAL:
        messages.error(
            request,
            f"Nothing changed: {group.display_name} is managed by its identity provider "
            f"({group.get_source_display()}); change it there.",
        )
        return False
    return True


def _back(group_id: int) -> str:
    return reverse("console:group", args=[group_id])


@require_POST
@administrator_required
def group_create(request: HttpRequest, admin: User) -> HttpResponse:
    name = request.POST.get("display_name", "").strip()
    if not name or len(name) > 255:
        messages.error(request, "Nothing changed: a group's name is 1 to 255 characters.")
        return redirect(reverse("console:groups"))
    if Group.objects.filter(display_name=name, provider__isnull=True).exists():
        messages.error(request, f"Nothing changed: a local group named {name} exists.")
        return redirect(reverse("console:groups"))
    outcome = act(
        request,
        f"Group {name} created",
        lambda: groups.group_create(actor=admin, display_name=name),
    )
    if outcome.result is not None:
        return redirect(_back(outcome.result.pk))
    return redirect(reverse("console:groups"))


@require_GET
@administrator_required
def group_detail(request: HttpRequest, admin: User, group_id: int) -> HttpResponse:
    overview = group_overview(group=_local_group(group_id))
    return page(request, admin, "group.html", "groups", o=overview)


@require_POST
@administrator_required
def group_rename(request: HttpRequest, admin: User, group_id: int) -> HttpResponse:
    group = _local_group(group_id)
    name = request.POST.get("display_name", "").strip()
    if _editable(request, group):
        if not name or len(name) > 255:
            messages.error(request, "Nothing changed: a group's name is 1 to 255 characters.")
        elif (
            Group.objects.filter(display_name=name, provider__isnull=True)
            .exclude(pk=group.pk)
            .exists()
        ):
            messages.error(request, f"Nothing changed: a local group named {name} exists.")
        else:
            act(
                request,
                f"Renamed to {name}",
                lambda: groups.group_update(actor=admin, group=group, display_name=name),
            )
    return redirect(_back(group_id))


@require_POST
@administrator_required
def group_delete(request: HttpRequest, admin: User, group_id: int) -> HttpResponse:
    group = _local_group(group_id)
    if not _editable(request, group):
        return redirect(_back(group_id))
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Delete the group {group.display_name}?",
            consequence="Its members stay; they are no longer in this group, so the rules and "
            "barriers that name it no longer apply to them.",
            verb="Delete the group",
        ),
        section="groups",
        done=f"Group {group.display_name} deleted",
        work=lambda: groups.group_delete(actor=admin, group=group),
        then=_back(group_id),
        onward=reverse("console:groups"),
    )


@require_POST
@administrator_required
def group_members_add(request: HttpRequest, admin: User, group_id: int) -> HttpResponse:
    group = _local_group(group_id)
    usernames = [u for u in re.split(r"[\s,]+", request.POST.get("usernames", "")) if u][:500]
    ids, unknown = users_by_usernames(usernames=usernames)
    if not _editable(request, group):
        pass
    elif unknown or not ids:
        messages.error(
            request,
            "Nothing changed: "
            + (f"no active person named {', '.join(unknown)}" if unknown else "name someone"),
        )
    else:
        act(
            request,
            f"Added to {group.display_name}",
            lambda: groups.group_members_add(actor=admin, group=group, user_ids=ids),
        )
    return redirect(_back(group_id))


@require_POST
@administrator_required
def group_member_remove(
    request: HttpRequest, admin: User, group_id: int, user_id: int
) -> HttpResponse:
    group = _local_group(group_id)
    if not _editable(request, group):
        return redirect(_back(group_id))
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Remove this person from {group.display_name}?",
            consequence="The rules and barriers that name the group no longer apply to them.",
            verb="Remove",
        ),
        section="groups",
        done=f"Removed from {group.display_name}",
        work=lambda: groups.group_members_remove(actor=admin, group=group, user_ids=[user_id]),
        then=_back(group_id),
    )
