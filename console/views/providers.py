"""Identity providers (OIDC and SAML) and their group → role rules, through
accounts.services.identities. A client secret is write-only: the form never shows it back,
and leaving its field empty keeps the stored one."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import IdentityProvider, IdentityProviderKind, Role, User
from accounts.services import identities

from ..access import administrator_required
from ..selectors.groups import (
    SECRET_KEYS,
    provider_by_id,
    provider_config_shown,
    provider_rule_by_id,
    provider_rules,
    providers_listed,
)
from .base import Ask, act, confirm_then_act, page

# The config fields the form offers, by kind; any other key is kept as it is.
CONFIG_FIELDS = {
    IdentityProviderKind.OIDC: ("client_id", "client_secret", "subject_claim"),
    IdentityProviderKind.SAML: ("metadata_url", "sso_url", "x509cert"),
}


@require_GET
@administrator_required
def provider_list(request: HttpRequest, admin: User) -> HttpResponse:
    return page(request, admin, "providers.html", "providers", providers=list(providers_listed()))


def _provider(provider_id: int) -> IdentityProvider:
    provider = provider_by_id(provider_id=provider_id)
    if provider is None:
        raise Http404("no such identity provider")
    return provider


def _form_values(post: Any, kind: str, stored: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The provider fields and config the form asks for, and what is wrong with them."""
    values = {
        "name": post.get("name", "").strip(),
        "issuer": post.get("issuer", "").strip(),
        "groups_claim": post.get("groups_claim", "").strip(),
        "jit_provisioning": post.get("jit_provisioning") == "on",
    }
    config = dict(stored)
    for key in CONFIG_FIELDS.get(IdentityProviderKind(kind), ()):
        value = post.get(key, "").strip()
        if key in SECRET_KEYS and not value:
            continue  # write-only: empty keeps what is stored
        if value:
            config[key] = value
        else:
            config.pop(key, None)  # cleared: the SSO sign-in's default applies
    values["config"] = config
    if not values["name"] or len(values["name"]) > 100:
        return values, "a provider's name is 1 to 100 characters"
    if not values["issuer"] or len(values["issuer"]) > 500:
        return values, "the issuer (OIDC issuer URL or SAML entity id) is required"
    return values, ""


def _form_page(
    request: HttpRequest, admin: User, provider: IdentityProvider | None, **extra: Any
) -> HttpResponse:
    kind = provider.kind if provider else request.POST.get("kind", "oidc")
    return page(
        request,
        admin,
        "provider_form.html",
        "providers",
        provider=provider,
        kinds=IdentityProviderKind.choices,
        kind=kind,
        config={
            k: v for k, v in (provider.config if provider else {}).items() if k not in SECRET_KEYS
        },
        secrets_set={
            k: bool(v) for k, v in (provider.config if provider else {}).items() if k in SECRET_KEYS
        },
        config_shown=provider_config_shown(provider=provider) if provider else {},
        rules=provider_rules(provider=provider) if provider else [],
        role_choices=Role.choices,
        **extra,
    )


@require_http_methods(["GET", "POST"])
@administrator_required
def provider_new(request: HttpRequest, admin: User) -> HttpResponse:
    if request.method == "GET":
        return _form_page(request, admin, None)
    kind = request.POST.get("kind", "")
    slug = slugify(request.POST.get("slug", ""))[:50]
    if kind not in IdentityProviderKind.values or not slug:
        messages.error(request, "Nothing changed: choose OIDC or SAML and give a short name.")
        return _form_page(request, admin, None, posted=request.POST)
    values, problem = _form_values(request.POST, kind, {})
    if not problem and IdentityProvider.objects.filter(slug=slug).exists():
        problem = f"a provider named {slug} exists"
    if problem:
        messages.error(request, f"Nothing changed: {problem}.")
        return _form_page(request, admin, None, posted=request.POST)
    outcome = act(
        request,
        f"Identity provider {slug} added",
        lambda: identities.identity_provider_create(
            actor=admin, slug=slug, kind=IdentityProviderKind(kind), **values
        ),
    )
    if outcome.result is None:
        return _form_page(request, admin, None, posted=request.POST)
    return redirect(reverse("console:provider", args=[outcome.result.pk]))


@require_http_methods(["GET", "POST"])
@administrator_required
def provider_edit(request: HttpRequest, admin: User, provider_id: int) -> HttpResponse:
    provider = _provider(provider_id)
    if request.method == "GET":
        return _form_page(request, admin, provider)
    values, problem = _form_values(request.POST, provider.kind, provider.config)
    if problem:
        messages.error(request, f"Nothing changed: {problem}.")
        return _form_page(request, admin, provider)
    act(
        request,
        f"{provider.slug} saved",
        lambda: identities.identity_provider_update(actor=admin, provider=provider, **values),
    )
    return redirect(reverse("console:provider", args=[provider_id]))


@require_POST
@administrator_required
def provider_enable(request: HttpRequest, admin: User, provider_id: int) -> HttpResponse:
    provider = _provider(provider_id)
    enable = request.POST.get("enabled") == "yes"
    ask = Ask(
        question=f"Disable {provider.name}?",
        consequence="Nobody can sign in with it until it is enabled again; people already "
        "signed in stay signed in.",
        verb="Disable",
    )
    return confirm_then_act(
        request,
        admin,
        None if enable else ask,
        section="providers",
        done=f"{provider.slug} {'enabled' if enable else 'disabled'}",
        work=lambda: identities.identity_provider_update(
            actor=admin, provider=provider, enabled=enable
        ),
        then=reverse("console:provider", args=[provider_id]),
    )


@require_POST
@administrator_required
def provider_rule_add(request: HttpRequest, admin: User, provider_id: int) -> HttpResponse:
    provider = _provider(provider_id)
    value, role = request.POST.get("group_value", "").strip(), request.POST.get("role", "")
    if not value or len(value) > 255 or role not in Role.values:
        messages.error(
            request, "Nothing changed: name the group (as the provider sends it) and a role."
        )
    else:
        act(
            request,
            f"Members of {value} should hold {role}",
            lambda: identities.group_role_rule_add(
                actor=admin, provider=provider, group_value=value, role=Role(role)
            ),
        )
    return redirect(reverse("console:provider", args=[provider_id]))


@require_POST
@administrator_required
def provider_rule_remove(
    request: HttpRequest, admin: User, provider_id: int, rule_id: int
) -> HttpResponse:
    provider = _provider(provider_id)
    rule = provider_rule_by_id(provider=provider, rule_id=rule_id)
    if rule is None:
        raise Http404("no such rule")
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Remove the rule {rule.group_value} → {rule.role}?",
            consequence="Roles already granted stay; new members of the group no longer get it.",
            verb="Remove the rule",
        ),
        section="providers",
        done="Rule removed",
        work=lambda: identities.group_role_rule_remove(actor=admin, rule=rule),
        then=reverse("console:provider", args=[provider_id]),
    )
