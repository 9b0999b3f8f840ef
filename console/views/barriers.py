"""Information barriers: policies listed with their state, a draft made or changed (two
segments picked from the groups), its preview paged through with the decision about what
already violates it, then activation; deactivation ends a policy. Every step is one call to
eim.chat.barriers' services (which authorize and audit again); pages read its selectors."""

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from eim.chat.barriers import selectors, services
from eim.chat.barriers.models import BarrierPolicy, BarrierPolicyVersion, BarrierVersionState
from eim.chat.errors import ChatError

from ..access import administrator_required
from ..selectors.groups import groups_listed
from .base import Ask, act, confirm_then_act, int_or_none, page

#: Violating conversations shown on one page of a preview.
PREVIEW_PAGE = 50


@dataclass
class PolicyRow:
    policy: BarrierPolicy
    in_force: BarrierPolicyVersion | None
    proposed: BarrierPolicyVersion | None
    restricted: int

    @property
    def previewed(self) -> bool:
        return self.proposed is not None and "previewed_at" in self.proposed.decision


def _row(policy: BarrierPolicy, restricted: dict[int, int]) -> PolicyRow:
    versions = {v.state: v for v in policy.versions.all()}
    return PolicyRow(
        policy,
        versions.get(BarrierVersionState.IN_FORCE),
        versions.get(BarrierVersionState.PROPOSED),
        restricted.get(policy.pk, 0),
    )


def outcome_text(version: BarrierPolicyVersion) -> str:
    """What a version's activation did, in words (its audit event has the ids)."""
    decision = version.decision
    if "channels" not in decision:
        if "counts" in decision:
            n = decision["counts"].get("conversations", 0)
            return f"previewed: {n} conversation{'s' if n != 1 else ''} crossed it"
        return ""
    side = {"remove_segment_a": version.segment_a, "remove_segment_b": version.segment_b}
    group = side.get(decision["channels"])
    removed, restricted = len(decision.get("removed", {})), len(decision.get("restricted", []))
    how = "channels made read-only"
    if decision["channels"] in side:
        how = f"members of {group.display_name if group else 'a deleted group'} removed"
    return (
        f"{how}: {removed} channel{'s' if removed != 1 else ''} lost members, "
        f"{restricted} conversation{'s' if restricted != 1 else ''} read-only"
    )


def _policy(admin: User, policy_id: int) -> BarrierPolicy:
    try:
        return selectors.barrier_policy_for_administrator(actor=admin, policy_id=policy_id)
    except ChatError as exc:
        raise Http404("no such barrier policy") from exc


def _back(policy_id: int) -> str:
    return reverse("console:barrier", args=[policy_id])


def _segments(request: HttpRequest) -> dict[str, int | None]:
    return {
        "segment_a": int_or_none(request.POST.get("segment_a")),
        "segment_b": int_or_none(request.POST.get("segment_b")),
    }


@require_GET
@administrator_required
def barrier_list(request: HttpRequest, admin: User) -> HttpResponse:
    restricted = selectors.barrier_restriction_counts(actor=admin)
    rows = [_row(p, restricted) for p in selectors.barrier_policies_for_administrator(actor=admin)]
    return page(
        request, admin, "barriers.html", "barriers", rows=rows, groups=list(groups_listed())
    )


@require_POST
@administrator_required
def barrier_create(request: HttpRequest, admin: User) -> HttpResponse:
    name = request.POST.get("name", "")
    outcome = act(
        request,
        f"Draft policy {name.strip()} saved; preview it before it takes effect",
        lambda: services.barrier_policy_create(actor=admin, name=name, **_segments(request)),
    )
    if outcome.result is not None:
        return redirect(_back(outcome.result.policy_id))
    return redirect(reverse("console:barriers"))


@require_GET
@administrator_required
def barrier_detail(request: HttpRequest, admin: User, policy_id: int) -> HttpResponse:
    policy = _policy(admin, policy_id)
    row = _row(policy, selectors.barrier_restriction_counts(actor=admin))
    versions = [
        (v, outcome_text(v)) for v in sorted(policy.versions.all(), key=lambda v: -v.number)
    ]
    return page(
        request,
        admin,
        "barrier.html",
        "barriers",
        row=row,
        versions=versions,
        in_force_outcome=outcome_text(row.in_force) if row.in_force else "",
        groups=list(groups_listed()),
    )


@require_POST
@administrator_required
def barrier_propose(request: HttpRequest, admin: User, policy_id: int) -> HttpResponse:
    _policy(admin, policy_id)
    act(
        request,
        "New segments proposed; preview them before they take effect",
        lambda: services.barrier_policy_propose(
            actor=admin, policy_id=policy_id, **_segments(request)
        ),
    )
    return redirect(_back(policy_id))


@require_http_methods(["GET", "POST"])
@administrator_required
def barrier_preview(request: HttpRequest, admin: User, policy_id: int) -> HttpResponse:
    """POST runs the preview (recorded and audited: activation requires it) and comes back
    here; GET shows one page of what the proposal would bar today."""
    policy = _policy(admin, policy_id)
    if request.method == "POST":
        outcome = act(
            request,
            "Previewed",
            lambda: services.barrier_policy_preview(actor=admin, policy_id=policy_id),
        )
        if outcome.refused:
            return redirect(_back(policy_id))
        return redirect(reverse("console:barrier-preview", args=[policy_id]))
    number = max(1, int_or_none(request.GET.get("page")) or 1)
    try:
        version, found = selectors.barrier_proposal_violations(
            actor=admin, policy_id=policy_id, offset=(number - 1) * PREVIEW_PAGE, limit=PREVIEW_PAGE
        )
    except ChatError as exc:
        messages.error(request, f"Nothing to preview: {exc.detail}.")
        return redirect(_back(policy_id))
    total = found.counts["conversations"]
    return page(
        request,
        admin,
        "barrier_preview.html",
        "barriers",
        policy=policy,
        version=version,
        found=found,
        previewed="previewed_at" in version.decision,
        page_number=number,
        first_shown=(number - 1) * PREVIEW_PAGE + 1,
        last_shown=(number - 1) * PREVIEW_PAGE + len(found.conversations),
        pages=max(1, -(-total // PREVIEW_PAGE)),
    )


@require_POST
@administrator_required
def barrier_activate(request: HttpRequest, admin: User, policy_id: int) -> HttpResponse:
    policy = _policy(admin, policy_id)
    version = int_or_none(request.POST.get("version"))
    channels = request.POST.get("channels", "")
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Put {policy.name} (version {version}) in force?",
            consequence="Direct and group messages that cross it become read-only; the "
            "channels that cross it are handled as you chose. Its people are barred from "
            "each other from now on.",
            verb="Activate",
            back=reverse("console:barrier-preview", args=[policy_id]),
        ),
        section="barriers",
        done=f"{policy.name} is in force",
        work=lambda: services.barrier_policy_activate(
            actor=admin, policy_id=policy_id, version=version, channels=channels
        ),
        then=_back(policy_id),
    )


@require_POST
@administrator_required
def barrier_withdraw(request: HttpRequest, admin: User, policy_id: int) -> HttpResponse:
    policy = _policy(admin, policy_id)
    version = int_or_none(request.POST.get("version"))
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Withdraw the proposal (version {version}) of {policy.name}?",
            consequence="The version in force, if any, stays as it is.",
            verb="Withdraw",
        ),
        section="barriers",
        done="Proposal withdrawn",
        work=lambda: services.barrier_policy_withdraw(
            actor=admin, policy_id=policy_id, version=version
        ),
        then=_back(policy_id),
    )


@require_POST
@administrator_required
def barrier_deactivate(request: HttpRequest, admin: User, policy_id: int) -> HttpResponse:
    policy = _policy(admin, policy_id)
    return confirm_then_act(
        request,
        admin,
        Ask(
            question=f"Deactivate {policy.name}?",
            consequence="The policy ends: its people may communicate again, and the "
            "conversations it made read-only become writable (unless another policy holds "
            "them). To bar them again, create a new policy.",
            verb="Deactivate",
        ),
        section="barriers",
        done=f"{policy.name} is deactivated",
        work=lambda: services.barrier_policy_remove(actor=admin, policy_id=policy_id),
        then=_back(policy_id),
        onward=reverse("console:barriers"),
    )
