"""REST API v1: parse, call one service or selector, shape the reply."""

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotAuthenticated
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import user_directory, user_roles
from eim.chat import selectors
from eim.chat.payloads import attachment_payload, conversation_payload, user_payload
from eim.chat.services import administration, attachments, conversations, messages
from eim.chat.services.presence import presence_of_users

from . import schema as _schema  # noqa: F401 - registers the Bearer scheme with the schema
from . import serializers as inputs


class AuthenticatedView(APIView):
    """Base of every v1 view: IsAuthenticated has run, so `user` is a real account."""

    @property
    def user(self) -> User:
        user = self.request.user
        if not isinstance(user, User):
            raise NotAuthenticated()
        return user


def _valid(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class MeView(AuthenticatedView):
    @extend_schema(responses=inputs.MeOutput)
    def get(self, request: Request) -> Response:
        roles = sorted(user_roles(user=self.user))
        return Response(user_payload(self.user) | {"roles": roles})


class UserListView(AuthenticatedView):
    @extend_schema(
        parameters=[
            OpenApiParameter("q", str),
            OpenApiParameter("ids", str, description="comma-separated user ids (at most 100)"),
        ],
        responses=inputs.DirectoryUserOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        data = _valid(inputs.DirectoryQueryInput, request.query_params)
        users = list(user_directory(query=data["q"], ids=data["ids"], limit=len(data["ids"]) or 20))
        status = presence_of_users(user_ids=[u.pk for u in users])
        return Response([user_payload(u) | {"presence": status[u.pk]} for u in users])


class ConversationListView(AuthenticatedView):
    @extend_schema(
        operation_id="conversations_list",
        parameters=[OpenApiParameter("browse", bool)],
        responses=inputs.ConversationOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        if request.query_params.get("browse") in ("1", "true"):
            return Response(selectors.public_channels_to_join(user=self.user))
        return Response(selectors.conversations_for_user(user=self.user))

    @extend_schema(request=inputs.ChannelCreateInput, responses={201: inputs.ConversationOutput})
    def post(self, request: Request) -> Response:
        data = _valid(inputs.ChannelCreateInput, request.data)
        conversation = conversations.conversation_create_channel(creator=self.user, **data)
        return Response(
            selectors.conversation_for_user(user=self.user, conversation_id=conversation.pk),
            status=201,
        )


class DirectOpenView(AuthenticatedView):
    @extend_schema(request=inputs.DirectOpenInput, responses=inputs.ConversationOutput)
    def post(self, request: Request) -> Response:
        data = _valid(inputs.DirectOpenInput, request.data)
        conversation = conversations.conversation_open_direct(
            creator=self.user, user_ids=data["users"]
        )
        return Response(
            selectors.conversation_for_user(user=self.user, conversation_id=conversation.pk)
        )


class ConversationDetailView(AuthenticatedView):
    @extend_schema(responses=inputs.ConversationOutput)
    def get(self, request: Request, conversation_id: int) -> Response:
        return Response(
            selectors.conversation_for_user(user=self.user, conversation_id=conversation_id)
        )

    @extend_schema(request=inputs.ConversationUpdateInput, responses=inputs.ConversationOutput)
    def patch(self, request: Request, conversation_id: int) -> Response:
        data = _valid(inputs.ConversationUpdateInput, request.data)
        conversation = conversations.conversation_update(
            actor=self.user, conversation_id=conversation_id, **data
        )
        return Response(conversation_payload(conversation))


class ConversationArchiveView(AuthenticatedView):
    @extend_schema(request=None, responses=inputs.ConversationOutput)
    def post(self, request: Request, conversation_id: int) -> Response:
        conversation = conversations.conversation_archive(
            actor=self.user, conversation_id=conversation_id
        )
        return Response(conversation_payload(conversation))


class ConversationJoinView(AuthenticatedView):
    @extend_schema(request=None, responses=inputs.ConversationOutput)
    def post(self, request: Request, conversation_id: int) -> Response:
        conversations.membership_join(user=self.user, conversation_id=conversation_id)
        return Response(
            selectors.conversation_for_user(user=self.user, conversation_id=conversation_id)
        )


class ConversationLeaveView(AuthenticatedView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, conversation_id: int) -> Response:
        conversations.membership_leave(user=self.user, conversation_id=conversation_id)
        return Response(status=204)


class ConversationOwnerView(AuthenticatedView):
    @extend_schema(
        operation_id="conversations_owner_hand_over",
        description="An owner hands their ownership to another member and stays a member: how "
        "a channel's last owner may then leave (leaving otherwise answers 409 last_owner).",
        request=inputs.OwnerInput,
        responses={204: None},
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(inputs.OwnerInput, request.data)
        administration.conversation_ownership_transfer(
            actor=self.user, conversation_id=conversation_id, user_id=data["user"]
        )
        return Response(status=204)


class MemberListView(AuthenticatedView):
    @extend_schema(responses=inputs.MemberOutput(many=True))
    def get(self, request: Request, conversation_id: int) -> Response:
        return Response(
            selectors.conversation_members(user=self.user, conversation_id=conversation_id)
        )

    @extend_schema(request=inputs.InviteInput, responses={201: inputs.MemberOutput(many=True)})
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(inputs.InviteInput, request.data)
        conversations.membership_invite(
            actor=self.user, conversation_id=conversation_id, user_ids=data["users"]
        )
        return Response(
            selectors.conversation_members(user=self.user, conversation_id=conversation_id),
            status=201,
        )


class MemberDetailView(AuthenticatedView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, conversation_id: int, user_id: int) -> Response:
        conversations.membership_remove(
            actor=self.user, conversation_id=conversation_id, user_id=user_id
        )
        return Response(status=204)


class MessageListView(AuthenticatedView):
    @extend_schema(parameters=[inputs.MessagePageInput], responses=inputs.MessagePageOutput)
    def get(self, request: Request, conversation_id: int) -> Response:
        page = _valid(inputs.MessagePageInput, request.query_params)
        return Response(
            selectors.messages_page(user=self.user, conversation_id=conversation_id, **page)
        )

    @extend_schema(
        request=inputs.MessageSendInput,
        responses={201: inputs.MessageOutput, 200: inputs.MessageOutput},
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(inputs.MessageSendInput, request.data)
        result = messages.message_send(
            author=self.user,
            conversation_id=conversation_id,
            body=data["body"],
            client_id=data["client_id"],
            parent_id=data["parent"],
            attachment_ids=data["attachments"],
        )
        return Response(result.payload, status=201 if result.created else 200)


class MessageDetailView(AuthenticatedView):
    @extend_schema(responses=inputs.MessageOutput)
    def get(self, request: Request, message_id: int) -> Response:
        return Response(selectors.message_for_user(user=self.user, message_id=message_id))

    @extend_schema(request=inputs.MessageEditInput, responses=inputs.MessageOutput)
    def patch(self, request: Request, message_id: int) -> Response:
        data = _valid(inputs.MessageEditInput, request.data)
        messages.message_edit(user=self.user, message_id=message_id, body=data["body"])
        return Response(selectors.message_for_user(user=self.user, message_id=message_id))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, message_id: int) -> Response:
        messages.message_delete(user=self.user, message_id=message_id)
        return Response(status=204)


class ReactionView(AuthenticatedView):
    @extend_schema(request=inputs.ReactionInput, responses=inputs.MessageOutput)
    def post(self, request: Request, message_id: int) -> Response:
        data = _valid(inputs.ReactionInput, request.data)
        messages.reaction_add(user=self.user, message_id=message_id, emoji=data["emoji"])
        return Response(selectors.message_for_user(user=self.user, message_id=message_id))

    @extend_schema(request=inputs.ReactionInput, responses=inputs.MessageOutput)
    def delete(self, request: Request, message_id: int) -> Response:
        data = _valid(inputs.ReactionInput, request.data)
        messages.reaction_remove(user=self.user, message_id=message_id, emoji=data["emoji"])
        return Response(selectors.message_for_user(user=self.user, message_id=message_id))


class ReadMarkView(AuthenticatedView):
    @extend_schema(request=inputs.ReadMarkInput, responses=inputs.ReadMarkOutput)
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(inputs.ReadMarkInput, request.data)
        marker = messages.read_mark(
            user=self.user, conversation_id=conversation_id, seq=data["seq"]
        )
        return Response({"conversation": conversation_id, "last_read_seq": marker})


class AttachmentUploadView(AuthenticatedView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": inputs.AttachmentUploadInput},
        responses={201: inputs.AttachmentOutput},
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(inputs.AttachmentUploadInput, request.data)
        upload = data["file"]
        attachment = attachments.attachment_upload(
            user=self.user,
            conversation_id=conversation_id,
            filename=upload.name,
            stream=upload,
            size=upload.size,
        )
        return Response(attachment_payload(attachment), status=201)


class AttachmentDownloadView(AuthenticatedView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, attachment_id: int) -> FileResponse:
        attachment = selectors.attachment_for_user(user=self.user, attachment_id=attachment_id)
        inline = attachments.attachment_inline(content_type=attachment.content_type)
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=not inline,
            filename=attachment.filename,
            content_type=attachment.content_type,
        )
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response["X-Content-Type-Options"] = "nosniff"
        return response
