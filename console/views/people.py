"""People: the filtered list, a person's page, and what an administrator does to an account."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role, User
from accounts.selectors import api_token_of_user
from accounts.services import roles, tokens, users

from ..access import administrator_required
from ..selectors.directory import group_choices, provider_choices
from ..selectors.people import (
    ACTIVE_CHOICES,
    SEEN_CHOICES,
    PeopleFilter,
    people_search,
    person_by_id,
    person_overview,
)
from .base import Ask, act, confirm_then_act, int_or_none, page


def people_filter_from(params: dict[str, str]) -> PeopleFilter:
    """The filter as asked; values that mean nothing are ignored rather than refused."""
    provider = params.get("provider", "")
    return PeopleFilter(
        q=params.get("q", "").strip()[:100],
        role=params.get("role", "") if params.get("role") in Role.values else "",
        group=int_or_none(params.get("group")),
        active=params.get("active", "") if params.get("active") in ACTIVE_CHOICES else "",
        provider=int_or_none(provider) if provider != "" else None,
        seen=params.get("seen", "") if params.get("seen") in SEEN_CHOICES else "",
        after=params.get("after", "")[:150],
    )


@require_GET
@administrator_required
def people_list(request: HttpRequest, admin: User) -> HttpResponse:
    filters = people_filter_from(request.GET.dict())
    result = people_search(filters=filters)
    query = request.GET.copy()
    query.pop("after", None)
    return page(
        request,
        admin,
        "people.html",
        "people",
        filters=filters,
        result=result,
        rows=[
            (p, result.roles.get(p.pk, []), result.providers.get(p.pk, [])) for p in result.people
        ],
        base_query=query.urlencode(),
        role_choices=Role.choices,
        group_choices=group_choices(),
        provider_choices=provider_choices(),
        active_choices=ACTIVE_CHOICES.items(),
        seen_choices=SEEN_CHOICES.items(),
    )


def _person(user_id: int) -> User:
    person = person_by_id(user_id=user_id)
    if person is None:
        raise Http404("no such person")
    return person


@require_GET
@administrator_required
def person_detail(request: HttpRequest, admin: User, user_id: int) -> HttpResponse:
    person = _person(user_id)
    return page(
        request,
        admin,
        "person.html",
        "people",
        o=person_overview(person=person),
        role_choices=Role.choices,
        is_self=person.pk == admin.pk,
    )


def _back(user_id: int) -> str:
    return reverse("console:person", args=[user_id])


@require_POST
@administrator_required
def person_deactivate(request: HttpRequest, admin: User, user_id: int) -> HttpResponse:
    person = _person(user_id)
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Deactivate {person.username}?",
            consequence="They are signed out everywhere at once: every session, API token and "
            "open chat connection ends. Their messages stay.",
            verb="Deactivate",
        ),
        section="people",
        done=f"{person.username} is deactivated",
        work=lambda: users.user_deactivate(user=person, by=admin),
        then=_back(user_id),
    )


@require_POST
@administrator_required
def person_reactivate(request: HttpRequest, admin: User, user_id: int) -> HttpResponse:
    person = _person(user_id)
    act(
        request,
        f"{person.username} may sign in again",
        lambda: users.user_reactivate(user=person, by=admin),
    )
    return redirect(_back(user_id))


@require_POST
@administrator_required
def person_sign_out(request: HttpRequest, admin: User, user_id: int) -> HttpResponse:
    person = _person(user_id)
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Sign {person.username} out everywhere?",
            consequence="Every web session and the chat connections opened with them end now. "
            "API tokens stay; revoke them one by one.",
            verb="Sign out everywhere",
        ),
        section="people",
        done=f"{person.username} is signed out everywhere",
        work=lambda: users.user_sign_out_everywhere(user=person, by=admin),
        then=_back(user_id),
    )


@require_POST
@administrator_required
def person_token_revoke(
    request: HttpRequest, admin: User, user_id: int, token_key: str
) -> HttpResponse:
    person = _person(user_id)
    token = api_token_of_user(user_id=person.pk, token_key=token_key)
    if token is None:
        raise Http404("no such token")
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Revoke the API token {token_key}… of {person.username}?",
            consequence="Whatever uses it stops working at once, and its open connections close.",
            verb="Revoke",
        ),
        section="people",
        done=f"Token {token_key}… is revoked",
        work=lambda: tokens.api_token_revoke(token=token, by=admin),
        then=_back(user_id),
    )


@require_POST
@administrator_required
def person_role_request(request: HttpRequest, admin: User, user_id: int) -> HttpResponse:
    person = _person(user_id)
    role = request.POST.get("role", "")
    outcome = act(
        request,
        f"{role} requested for {person.username}",
        lambda: roles.role_request(
            actor=admin, user_id=person.pk, role=role, reason=request.POST.get("reason", "")
        ),
    )
    if outcome.result is not None and outcome.result.status == "pending":
        messages.info(
            request, "It takes effect when another administrator approves it in Role requests."
        )
    return redirect(_back(user_id))


@require_POST
@administrator_required
def person_role_revoke(request: HttpRequest, admin: User, user_id: int) -> HttpResponse:
    person = _person(user_id)
    role = request.POST.get("role", "")
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Take the {role} role from {person.username}?",
            consequence="It ends at once, on every open connection.",
            verb="Revoke the role",
        ),
        section="people",
        done=f"{role} revoked from {person.username}",
        work=lambda: roles.role_revoke(
            actor=admin, user_id=person.pk, role=role, reason=request.POST.get("reason", "")
        ),
        then=_back(user_id),
    )
