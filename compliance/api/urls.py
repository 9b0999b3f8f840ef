from django.urls import path

from . import exports, views

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
