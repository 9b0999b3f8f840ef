from django.urls import path

from . import views

app_name = "compliance"
urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("review/", views.review, name="review"),
    path("policies/", views.policies, name="policies"),
    path("notifications/", views.notifications, name="notifications"),
    path("report/", views.report, name="report"),
]
