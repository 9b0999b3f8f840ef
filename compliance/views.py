"""The compliance workspace page: the shell of a browser app that reads the compliance API.

The page itself shows no archive data; everything it lists comes from /api/v1/compliance/,
whose services check the role again and audit every read.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from accounts.models import Role, User
from accounts.selectors import user_has_role, user_is_active_administrator

# The operators panel: docs/search.md's quick reference (tests/browser keeps them in step).
OPERATORS = (
    ("trade", "containing trade, trades, trading, traded (stemmed)"),
    ('"insider trading"', 'containing exactly "insider trading", in that order (not stemmed)'),
    ("confid*", 'with a word starting with "confid": confidential, confidentiality'),
    ("insider NEAR/5 trading", "with both words, in either order, at most 5 words apart"),
    ("buy sell", "containing both (same as buy AND sell)"),
    ("buy OR sell", "containing either"),
    ("-sell", "not containing sell (same as NOT sell)"),
    ("(buy OR sell) -hold", "grouping with parentheses"),
    ("from:bob", "written by bob"),
    ("in:trading-desk", "in that channel (in:42: conversation 42)"),
    ("participant:carol", "that carol could see (she was in the conversation at the time)"),
    ("before:2024-03-01", "written before 1 March 2024 began (UTC)"),
    ("after:2024-03-01", "written after 1 March 2024 ended (UTC)"),
    ("on:2024-03-01", "written on 1 March 2024 (UTC)"),
    ("has:attachment", "with at least one attachment"),
    ("is:edited", "messages that were edited (every version)"),
    ("is:deleted", "messages that were deleted (their text stays searchable)"),
    ("is:flagged", "flagged by content scanning"),
    ("policy:promises", "flagged by the policy named promises"),
    ("review:open", "whose review item is open (new or claimed)"),
    ("review:violation", "reviewed and decided a violation"),
)


def _id_url(name: str) -> str:
    """The API route `name` with `{id}` where its id goes, for the page's scripts to fill."""
    return reverse(name, args=[0]).replace("/0/", "/{id}/")


def _officer_page(request: HttpRequest, template: str, context: dict[str, str]) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # login_required let only a real account through
    if not user_has_role(user=user, role=Role.COMPLIANCE_OFFICER):
        return render(request, "compliance/forbidden.html", status=403)
    return render(request, template, context)


@login_required
@never_cache
def review(request: HttpRequest) -> HttpResponse:
    """The review queue (docs/scanning.md, "The review queue"); data from the API."""
    return _officer_page(
        request,
        "compliance/review.html",
        {
            "current": "review",
            "queue_url": reverse("review-queue"),
            "item_url": reverse("review-item", args=[0]).replace("/0", "/{id}"),
            "bulk_url": reverse("review-bulk"),
        },
    )


@login_required
@never_cache
def policies(request: HttpRequest) -> HttpResponse:
    """Content policies, the test box and the back-test; data from the API."""
    return _officer_page(
        request,
        "compliance/policies.html",
        {
            "current": "policies",
            "policies_url": reverse("compliance-policies"),
            "test_url": reverse("policy-test"),
            "backtest_url": reverse("policy-backtest"),
            "groups_url": reverse("policy-groups"),
        },
    )


@login_required
@never_cache
def notifications(request: HttpRequest) -> HttpResponse:
    """The officer's review notifications (a policy's notify action); data from the API."""
    return _officer_page(
        request,
        "compliance/notifications.html",
        {
            "current": "notifications",
            "list_url": reverse("compliance-notifications"),
            "read_url": reverse("compliance-notifications-read"),
        },
    )


@login_required
@never_cache
def report(request: HttpRequest) -> HttpResponse:
    """The supervision report for a period, and its CSV export; data from the API."""
    return _officer_page(
        request,
        "compliance/report.html",
        {"current": "report", "report_url": reverse("review-report")},
    )


@login_required
@never_cache
def workspace(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # login_required let only a real account through
    if not user_has_role(user=user, role=Role.COMPLIANCE_OFFICER):
        response = render(
            request,
            "compliance/forbidden.html",
            {"is_administrator": user_is_active_administrator(user=user)},
            status=403,
        )
    else:
        response = render(
            request,
            "compliance/workspace.html",
            {
                "current": "search",
                "operators": OPERATORS,
                "search_url": reverse("compliance-search"),
                "versions_url": _id_url("compliance-message-versions"),
                "exposure_url": _id_url("compliance-message-exposure"),
                "context_url": _id_url("compliance-record-context"),
                "exports_url": reverse("compliance-exports"),
            },
        )
    return response
