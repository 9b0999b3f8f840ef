"""REST for content policies and the review queue: parse, call one service, shape the reply."""

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from compliance.review import notifications, reports
from compliance.review import selectors as review_selectors
from compliance.review import services as review
from compliance.review.selectors import item_summary
from compliance.scanning import selectors as policy_selectors
from compliance.scanning import services as policies
from compliance.scanning import trials
from compliance.scanning.selectors import version_json

from .serializers import SearchErrorOutput
from .views import ComplianceView, _valid

# review_conflict: the item is not in a state for that (closed, claimed by someone else...).
_CONFLICT: dict[int | str, Any] = {
    409: OpenApiResponse(
        SearchErrorOutput,
        description="The item is not in a state for that: closed, claimed by another "
        "reviewer, not claimed by you, or not closed (to reopen). Code: review_conflict.",
    )
}


class PolicyInput(serializers.Serializer):
    name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    conditions = serializers.JSONField()
    scope = serializers.JSONField(required=False, default=dict)
    sampling = serializers.JSONField(required=False, default=dict)
    notify = serializers.JSONField(required=False, default=dict)
    actions = serializers.ListField(child=serializers.CharField(max_length=16))
    enabled = serializers.BooleanField(required=False, default=True)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class PolicyTestInput(serializers.Serializer):
    conditions = serializers.JSONField()
    text = serializers.CharField(max_length=20_000, trim_whitespace=False)


class BacktestInput(serializers.Serializer):
    conditions = serializers.JSONField()
    scope = serializers.JSONField(required=False, default=dict)
    days = serializers.IntegerField(min_value=1, max_value=90, default=7)


class DecisionInput(serializers.Serializer):
    decision = serializers.CharField(max_length=32)
    comment = serializers.CharField(max_length=4000, allow_blank=True, default="")


class BulkDecisionInput(DecisionInput):
    items = serializers.ListField(child=serializers.IntegerField(), max_length=200)


class ReopenInput(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, allow_blank=True, default="")


class QueueInput(serializers.Serializer):
    queue = serializers.CharField(default="first")
    state = serializers.CharField(default="open")
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)


class PolicyListView(ComplianceView):
    @extend_schema(
        operation_id="compliance_policies",
        summary="List content policies",
        description="Compliance officers only: every content policy with its latest version "
        "(conditions, scope, sampling, actions, whether it is enabled). Anyone else is "
        "refused with `forbidden`.",
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        return Response({"policies": policy_selectors.policies_for_officer(user=self.user)})

    @extend_schema(
        summary="Create a content policy",
        description="Compliance officers only: a new policy and its first version (201). "
        "Refused with `invalid_policy` for bad conditions, scope or actions or a name in use, "
        "and with `forbidden` when its scope names you or one of your groups. Audited.",
        request=PolicyInput,
        responses={201: dict},
    )
    def post(self, request: Request) -> Response:
        data = _valid(PolicyInput, request.data)
        version = policies.policy_create(
            user=self.user, name=data.get("name", ""), **_policy_fields(data)
        )
        return Response(version_json(version), status=201)


def _policy_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields = ("conditions", "scope", "sampling", "notify", "actions", "enabled", "note")
    return {k: data[k] for k in fields}


class PolicyGroupsView(ComplianceView):
    @extend_schema(
        operation_id="compliance_policy_groups",
        summary="List the groups a policy can name",
        description="Compliance officers only: eim's groups (made in the console, or "
        "provisioned by SCIM or single sign-on) with their member counts, by name: what a "
        "policy's scope (`scope.groups`) and reviewer group (`notify.reviewers`) name by id. "
        "A scope follows membership changes as they happen. Anyone else is refused with "
        "`forbidden`.",
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        return Response({"groups": policy_selectors.groups_for_officer(user=self.user)})


class PolicyDetailView(ComplianceView):
    @extend_schema(
        summary="A content policy's versions",
        description="Compliance officers only: every version of one policy, each with who "
        "wrote it and when. `not_found` if there is no such policy.",
        responses={200: dict},
    )
    def get(self, request: Request, policy_id: int) -> Response:
        history = policy_selectors.policy_history_for_officer(user=self.user, policy_id=policy_id)
        return Response({"versions": history})

    @extend_schema(
        summary="Change a content policy",
        description="Compliance officers only: writes the policy's next version (earlier "
        "versions are kept, and flags keep naming the version that raised them). Refused with "
        "`invalid_policy`, and with `forbidden` when the old or new scope names you or one of "
        "your groups (another officer must change it). Audited.",
        request=PolicyInput,
        responses={200: dict},
    )
    def put(self, request: Request, policy_id: int) -> Response:
        data = _valid(PolicyInput, request.data)
        version = policies.policy_change(
            user=self.user, policy_id=policy_id, **_policy_fields(data)
        )
        return Response(version_json(version))


class PolicyTestView(ComplianceView):
    @extend_schema(
        summary="Try a draft on a text",
        description="Compliance officers only: the hits a draft policy's conditions find in a "
        "sample text; nothing is saved and no flag is raised. Refused with `invalid_policy` "
        "for conditions that cannot be used. Audited.",
        request=PolicyTestInput,
        responses={200: dict},
    )
    def post(self, request: Request) -> Response:
        data = _valid(PolicyTestInput, request.data)
        return Response(trials.policy_test(user=self.user, **data))


class PolicyBacktestView(ComplianceView):
    @extend_schema(
        summary="Back-test a draft policy",
        description="Compliance officers only: how many review items a draft (with its scope) "
        "would have raised over the last `days` (1 to 90) of archived messages, with hits per "
        "term and a few examples; no flag is raised. Refused with `invalid_policy`. Audited.",
        request=BacktestInput,
        responses={200: dict},
    )
    def post(self, request: Request) -> Response:
        data = _valid(BacktestInput, request.data)
        return Response(trials.policy_backtest(user=self.user, **data))


class ReviewQueueView(ComplianceView):
    @extend_schema(
        operation_id="compliance_review_queue",
        summary="List the review queue",
        description="Compliance officers only: review items oldest first, from the `first` or "
        "`escalated` queue (or `all`), `open` or in one state. Items about your own messages "
        "or conversations you took part in are left out. `invalid_input` for an unknown "
        "queue or state.",
        parameters=[QueueInput],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        data = _valid(QueueInput, request.query_params)
        return Response({"items": review_selectors.review_queue(user=self.user, **data)})


class ReviewItemView(ComplianceView):
    @extend_schema(
        summary="Open a review item",
        description="Compliance officers only: one item with every flagged version, its hits, "
        "the conversation around it and its history. `not_found` for an item that is not in "
        "your queue (your own message, say). Audited as a view, not as a review.",
        responses={200: dict},
    )
    def get(self, request: Request, item_id: int) -> Response:
        return Response(review.review_item_open(user=self.user, item_id=item_id))


class ReviewClaimView(ComplianceView):
    @extend_schema(
        summary="Claim a review item",
        description="Compliance officers only: take the item so that no other reviewer works on "
        "it (a claim left unfinished is released after 30 minutes by default). Refused with "
        "`review_conflict` (closed, or claimed by someone else) and `self_review` (you wrote "
        "the message or took part around it, or escalated it). Audited.",
        request=None,
        responses={200: dict, **_CONFLICT},
    )
    def post(self, request: Request, item_id: int) -> Response:
        return Response(item_summary(review.review_item_claim(user=self.user, item_id=item_id)))


class ReviewReleaseView(ComplianceView):
    @extend_schema(
        summary="Release a review item",
        description="Compliance officers only: give back an item you claimed, so that it is new "
        "again for any reviewer. Refused with `review_conflict` if you have not claimed it. "
        "Audited.",
        request=None,
        responses={200: dict, **_CONFLICT},
    )
    def post(self, request: Request, item_id: int) -> Response:
        return Response(item_summary(review.review_item_release(user=self.user, item_id=item_id)))


class ReviewDecideView(ComplianceView):
    @extend_schema(
        summary="Decide a review item",
        description="Compliance officers only: close the item as `no_issue`, `false_positive` "
        "or `violation`, or move it to the escalated queue with `escalated`; a comment is "
        "required, and a new item is claimed first. Refused with `invalid_input`, "
        "`review_conflict` and `self_review`. Audited.",
        request=DecisionInput,
        responses={200: dict, **_CONFLICT},
    )
    def post(self, request: Request, item_id: int) -> Response:
        data = _valid(DecisionInput, request.data)
        item = review.review_item_decide(user=self.user, item_id=item_id, **data)
        return Response(item_summary(item))


class ReviewBulkDecideView(ComplianceView):
    @extend_schema(
        summary="Decide many review items",
        description="Compliance officers only: one decision and comment on up to 200 items, "
        "recorded for each item; all or none, so any refusal (`invalid_input`, "
        "`review_conflict`, `self_review`, `not_found`) changes nothing. Each item's decision "
        "is audited.",
        request=BulkDecisionInput,
        responses={
            200: dict,
            404: OpenApiResponse(
                SearchErrorOutput, description="One of the items does not exist. Code: not_found."
            ),
            **_CONFLICT,
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(BulkDecisionInput, request.data)
        items = review.review_items_decide(
            user=self.user,
            item_ids=data["items"],
            decision=data["decision"],
            comment=data["comment"],
        )
        return Response({"items": [item_summary(i) for i in items]})


class ReviewReopenView(ComplianceView):
    @extend_schema(
        summary="Reopen a review item",
        description="Compliance officers only: put a closed item back in its queue as new, "
        "with a reason (required, else `invalid_input`). Refused with `review_conflict` if "
        "the item is not closed. Audited.",
        request=ReopenInput,
        responses={200: dict, **_CONFLICT},
    )
    def post(self, request: Request, item_id: int) -> Response:
        data = _valid(ReopenInput, request.data)
        item = review.review_item_reopen(user=self.user, item_id=item_id, reason=data["reason"])
        return Response(item_summary(item))


class ReportInput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    output = serializers.ChoiceField(choices=["json", "csv"], default="json")


class ReviewReportView(ComplianceView):
    @extend_schema(
        operation_id="compliance_review_report",
        summary="Review report for a period",
        description="Compliance officers only: items raised, reviewed and open with their age "
        "per queue, decisions per reviewer, flags per policy and hits per term between `start` "
        "and `end` (UTC days, at most 366), as JSON or CSV (`output=csv`). `invalid_input` "
        "for a period that runs backwards or is too long. Audited.",
        parameters=[ReportInput],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response | HttpResponse:
        data = _valid(ReportInput, request.query_params)
        report = reports.review_report(user=self.user, start=data["start"], end=data["end"])
        if data["output"] == "csv":
            response = HttpResponse(reports.report_csv(report), content_type="text/csv")
            name = f"review-report-{data['start']}-{data['end']}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return Response(report)


class NotificationQueryInput(serializers.Serializer):
    unread = serializers.BooleanField(default=False)
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)


class NotificationReadInput(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=500
    )
    all = serializers.BooleanField(default=False)


class NotificationListView(ComplianceView):
    @extend_schema(
        operation_id="compliance_notifications",
        summary="List my review notifications",
        description="Compliance officers only: the notifications a policy's notify action "
        "wrote for you (you are in its reviewer group), newest first, with `unread`, how many "
        "are unread. Each names the policy, its version and the review item; never the "
        "message's text (opening the item shows it, and is audited). `unread=true` lists the "
        "unread only. Anyone else is refused with `forbidden`.",
        parameters=[NotificationQueryInput],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        data = _valid(NotificationQueryInput, request.query_params)
        return Response(
            notifications.notifications_for_officer(
                user=self.user, unread_only=data["unread"], limit=data["limit"]
            )
        )


class NotificationReadView(ComplianceView):
    @extend_schema(
        summary="Mark review notifications read",
        description="Compliance officers only: mark your own notifications among `ids` (1 to "
        "500) read, or all of them with `all: true`; others' ids are ignored. Says how many "
        "changed. `invalid_input` when neither is given; anyone else is refused with "
        "`forbidden`.",
        request=NotificationReadInput,
        responses={200: dict},
    )
    def post(self, request: Request) -> Response:
        data = _valid(NotificationReadInput, request.data)
        ids = None if data["all"] else data.get("ids", [])
        count = notifications.notifications_mark_read(user=self.user, ids=ids)
        return Response({"marked": count})
