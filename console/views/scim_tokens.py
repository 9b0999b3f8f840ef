"""SCIM provisioning tokens, through accounts.scim's token services (which audit). A new
token's secret is shown once, on the page that answers its creation, and never again."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST

from accounts.models import IdentityProvider, User
from accounts.scim.selectors import scim_token_by_id, scim_tokens_listed
from accounts.scim.services.tokens import scim_token_create, scim_token_revoke

from ..access import administrator_required
from ..selectors.directory import provider_choices
from .base import Ask, act, confirm_then_act, int_or_none, page


def _list_page(request: HttpRequest, admin: User, **extra: object) -> HttpResponse:
    return page(
        request,
        admin,
        "scim_tokens.html",
        "scim-tokens",
        tokens=list(scim_tokens_listed()),
        provider_choices=provider_choices(),
        **extra,
    )


@require_GET
@administrator_required
def scim_token_list(request: HttpRequest, admin: User) -> HttpResponse:
    return _list_page(request, admin)


@require_POST
@administrator_required
def scim_token_new(request: HttpRequest, admin: User) -> HttpResponse:
    provider_id = int_or_none(request.POST.get("provider"))
    provider = IdentityProvider.objects.filter(pk=provider_id).first() if provider_id else None
    if provider_id and provider is None:
        messages.error(request, "Refused: no such identity provider; nothing changed.")
        return redirect(reverse("console:scim-tokens"))
    outcome = act(
        request,
        "The SCIM token is created",
        lambda: scim_token_create(
            name=request.POST.get("name", ""), provider=provider, actor=admin
        ),
    )
    if outcome.result is None:
        return redirect(reverse("console:scim-tokens"))
    token, secret = outcome.result
    response = _list_page(request, admin, created=token, secret=secret)
    add_never_cache_headers(response)  # the secret must not be kept by any cache
    return response


@require_POST
@administrator_required
def scim_token_revoke_view(request: HttpRequest, admin: User, token_id: int) -> HttpResponse:
    token = scim_token_by_id(token_id=token_id)
    if token is None:
        raise Http404("no such SCIM token")
    back = reverse("console:scim-tokens")
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Revoke the SCIM token {token.name}?",
            consequence="The identity provider's provisioning client is refused from its next "
            "request; nothing it provisioned changes.",
            verb="Revoke",
        ),
        section="scim-tokens",
        done=f"SCIM token {token.name} is revoked",
        work=lambda: scim_token_revoke(token=token, actor=admin),
        then=back,
    )
