from django.urls import path

from . import views

app_name = "auditor"
urlpatterns = [
    path("", views.events, name="events"),
    path("events/<int:seq>/", views.event, name="event"),
    path("export.<str:fmt>", views.export, name="export"),
]
