from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import barriers, views
from .docs import ApiDocsView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(), name="api-docs"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/preferences/", views.PreferencesView.as_view(), name="me-preferences"),
    path("users/", views.UserListView.as_view(), name="users"),
    path("notices/", views.NoticeListView.as_view(), name="notices"),
    path("notices/dismiss/", views.NoticeDismissView.as_view(), name="notices-dismiss"),
    path("conversations/", views.ConversationListView.as_view(), name="conversations"),
    path("conversations/direct/", views.DirectOpenView.as_view(), name="direct-open"),
    path(
        "conversations/<int:conversation_id>/",
        views.ConversationDetailView.as_view(),
        name="conversation",
    ),
    path(
        "conversations/<int:conversation_id>/archive/",
        views.ConversationArchiveView.as_view(),
        name="conversation-archive",
    ),
    path(
        "conversations/<int:conversation_id>/join/",
        views.ConversationJoinView.as_view(),
        name="conversation-join",
    ),
    path(
        "conversations/<int:conversation_id>/leave/",
        views.ConversationLeaveView.as_view(),
        name="conversation-leave",
    ),
    path(
        "conversations/<int:conversation_id>/owner/",
        views.ConversationOwnerView.as_view(),
        name="conversation-owner",
    ),
    path(
        "conversations/<int:conversation_id>/visibility/",
        views.ConversationVisibilityView.as_view(),
        name="conversation-visibility",
    ),
    path(
        "conversations/<int:conversation_id>/members/",
        views.MemberListView.as_view(),
        name="members",
    ),
    path(
        "conversations/<int:conversation_id>/members/<int:user_id>/",
        views.MemberDetailView.as_view(),
        name="member",
    ),
    path(
        "conversations/<int:conversation_id>/messages/",
        views.MessageListView.as_view(),
        name="messages",
    ),
    path("conversations/<int:conversation_id>/read/", views.ReadMarkView.as_view(), name="read"),
    path(
        "conversations/<int:conversation_id>/attachments/",
        views.AttachmentUploadView.as_view(),
        name="attachments",
    ),
    path("messages/<int:message_id>/", views.MessageDetailView.as_view(), name="message"),
    path("messages/<int:message_id>/reactions/", views.ReactionView.as_view(), name="reactions"),
    path("barriers/", barriers.BarrierListView.as_view(), name="barriers"),
    path("barriers/<int:policy_id>/", barriers.BarrierDetailView.as_view(), name="barrier"),
    path(
        "barriers/<int:policy_id>/proposals/",
        barriers.BarrierProposalView.as_view(),
        name="barrier-proposals",
    ),
    path(
        "barriers/<int:policy_id>/preview/",
        barriers.BarrierPreviewView.as_view(),
        name="barrier-preview",
    ),
    path(
        "barriers/<int:policy_id>/activate/",
        barriers.BarrierActivateView.as_view(),
        name="barrier-activate",
    ),
    path(
        "barriers/<int:policy_id>/withdraw/",
        barriers.BarrierWithdrawView.as_view(),
        name="barrier-withdraw",
    ),
    path(
        "attachments/<int:attachment_id>/download/",
        views.AttachmentDownloadView.as_view(),
        name="attachment-download",
    ),
]
