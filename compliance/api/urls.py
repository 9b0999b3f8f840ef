from django.urls import path

from . import exports, scanning, views

urlpatterns = [
    path("compliance/search", views.ComplianceSearchView.as_view(), name="compliance-search"),
    path(
        "compliance/messages/<int:message_id>/versions",
        views.MessageVersionsView.as_view(),
        name="compliance-message-versions",
    ),
    path(
        "compliance/messages/<int:message_id>/exposure",
        views.MessageExposureView.as_view(),
        name="compliance-message-exposure",
    ),
    path(
        "compliance/records/<int:archive_seq>/context",
        views.RecordContextView.as_view(),
        name="compliance-record-context",
    ),
    path("search", views.EmployeeSearchView.as_view(), name="search"),
    # Content policies and the review queue (docs/scanning.md)
    path("compliance/policies", scanning.PolicyListView.as_view(), name="compliance-policies"),
    path(
        "compliance/policies/<int:policy_id>",
        scanning.PolicyDetailView.as_view(),
        name="compliance-policy",
    ),
    path("compliance/policies/groups", scanning.PolicyGroupsView.as_view(), name="policy-groups"),
    path("compliance/policies/test", scanning.PolicyTestView.as_view(), name="policy-test"),
    path(
        "compliance/policies/backtest",
        scanning.PolicyBacktestView.as_view(),
        name="policy-backtest",
    ),
    path("compliance/review/items", scanning.ReviewQueueView.as_view(), name="review-queue"),
    path(
        "compliance/review/items/<int:item_id>",
        scanning.ReviewItemView.as_view(),
        name="review-item",
    ),
    path(
        "compliance/review/items/<int:item_id>/claim",
        scanning.ReviewClaimView.as_view(),
        name="review-claim",
    ),
    path(
        "compliance/review/items/<int:item_id>/release",
        scanning.ReviewReleaseView.as_view(),
        name="review-release",
    ),
    path(
        "compliance/review/items/<int:item_id>/decide",
        scanning.ReviewDecideView.as_view(),
        name="review-decide",
    ),
    path(
        "compliance/review/items/<int:item_id>/reopen",
        scanning.ReviewReopenView.as_view(),
        name="review-reopen",
    ),
    path("compliance/review/decide", scanning.ReviewBulkDecideView.as_view(), name="review-bulk"),
    path("compliance/review/report", scanning.ReviewReportView.as_view(), name="review-report"),
    path(
        "compliance/notifications",
        scanning.NotificationListView.as_view(),
        name="compliance-notifications",
    ),
    path(
        "compliance/notifications/read",
        scanning.NotificationReadView.as_view(),
        name="compliance-notifications-read",
    ),
    path("compliance/exports/", exports.ExportListView.as_view(), name="compliance-exports"),
    path(
        "compliance/exports/<uuid:export_id>/",
        exports.ExportDetailView.as_view(),
        name="compliance-export",
    ),
    path(
        "compliance/exports/<uuid:export_id>/cancel/",
        exports.ExportCancelView.as_view(),
        name="compliance-export-cancel",
    ),
    path(
        "compliance/exports/<uuid:export_id>/download/",
        exports.ExportDownloadView.as_view(),
        name="compliance-export-download",
    ),
]
