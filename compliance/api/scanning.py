"""REST for content policies and the review queue: parse, call one service, shape the reply."""

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from compliance.review import reports
from compliance.review import selectors as review_selectors
from compliance.review import services as review
from compliance.review.selectors import item_summary
from compliance.scanning import selectors as policy_selectors
from compliance.scanning import services as policies
from compliance.scanning import trials
from compliance.scanning.selectors import version_json

from .views import ComplianceView, _valid


class PolicyInput(serializers.Serializer):
    name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    conditions = serializers.JSONField()
    scope = serializers.JSONField(required=False, default=dict)
    sampling = serializers.JSONField(required=False, default=dict)
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
    @extend_schema(operation_id="compliance_policies", responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response({"policies": policy_selectors.policies_for_officer(user=self.user)})

    @extend_schema(request=PolicyInput, responses={201: dict})
    def post(self, request: Request) -> Response:
        data = _valid(PolicyInput, request.data)
        version = policies.policy_create(
            user=self.user, name=data.get("name", ""), **_policy_fields(data)
        )
        return Response(version_json(version), status=201)


def _policy_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields = ("conditions", "scope", "sampling", "actions", "enabled", "note")
    return {k: data[k] for k in fields}


class PolicyDetailView(ComplianceView):
    @extend_schema(responses={200: dict})
    def get(self, request: Request, policy_id: int) -> Response:
        history = policy_selectors.policy_history_for_officer(user=self.user, policy_id=policy_id)
        return Response({"versions": history})

    @extend_schema(request=PolicyInput, responses={200: dict})
    def put(self, request: Request, policy_id: int) -> Response:
        data = _valid(PolicyInput, request.data)
        version = policies.policy_change(
            user=self.user, policy_id=policy_id, **_policy_fields(data)
        )
        return Response(version_json(version))


class PolicyTestView(ComplianceView):
    @extend_schema(request=PolicyTestInput, responses={200: dict})
    def post(self, request: Request) -> Response:
        data = _valid(PolicyTestInput, request.data)
        return Response(trials.policy_test(user=self.user, **data))


class PolicyBacktestView(ComplianceView):
    @extend_schema(request=BacktestInput, responses={200: dict})
    def post(self, request: Request) -> Response:
        data = _valid(BacktestInput, request.data)
        return Response(trials.policy_backtest(user=self.user, **data))


class ReviewQueueView(ComplianceView):
    @extend_schema(
        operation_id="compliance_review_queue", parameters=[QueueInput], responses={200: dict}
    )
    def get(self, request: Request) -> Response:
        data = _valid(QueueInput, request.query_params)
        return Response({"items": review_selectors.review_queue(user=self.user, **data)})


class ReviewItemView(ComplianceView):
    @extend_schema(responses={200: dict})
    def get(self, request: Request, item_id: int) -> Response:
        return Response(review.review_item_open(user=self.user, item_id=item_id))


class ReviewClaimView(ComplianceView):
    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request, item_id: int) -> Response:
        return Response(item_summary(review.review_item_claim(user=self.user, item_id=item_id)))


class ReviewReleaseView(ComplianceView):
    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request, item_id: int) -> Response:
        return Response(item_summary(review.review_item_release(user=self.user, item_id=item_id)))


class ReviewDecideView(ComplianceView):
    @extend_schema(request=DecisionInput, responses={200: dict})
    def post(self, request: Request, item_id: int) -> Response:
        data = _valid(DecisionInput, request.data)
        item = review.review_item_decide(user=self.user, item_id=item_id, **data)
        return Response(item_summary(item))


class ReviewBulkDecideView(ComplianceView):
    @extend_schema(request=BulkDecisionInput, responses={200: dict})
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
    @extend_schema(request=ReopenInput, responses={200: dict})
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
        operation_id="compliance_review_report", parameters=[ReportInput], responses={200: dict}
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
