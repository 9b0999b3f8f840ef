from django.urls import path

from . import views

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
]
