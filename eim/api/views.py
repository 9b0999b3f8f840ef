"""REST API v1: parse, call one service or selector, shape the reply."""

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.exceptions import NotAuthenticated
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import user_directory, user_roles
from eim.chat import selectors
from eim.chat.barriers.rules import barred_group_ids, barred_user_ids_among
from eim.chat.payloads import attachment_payload, conversation_payload, user_payload
from eim.chat.services import (
    administration,
    attachments,
    conversations,
    messages,
    notices,
    preferences,
)
from eim.chat.services.presence import presence_of_users

from . import serializers as inputs
from .schema import refusals


class AuthenticatedView(APIView):
    # Base of every v1 view: IsAuthenticated has run, so `user` is a real account. (A comment,
    # not a docstring: the schema would show a docstring as every operation's description.)

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
    @extend_schema(
        summary="Who am I",
        description="The signed-in user and their roles. The simplest call to check a token.",
        responses=inputs.MeOutput,
    )
    def get(self, request: Request) -> Response:
        roles = sorted(user_roles(user=self.user))
        return Response(user_payload(self.user) | {"roles": roles})


class PreferencesView(AuthenticatedView):
    @extend_schema(
        operation_id="me_preferences_read",
        summary="My chat choices",
        description="Whether desktop notifications are on for this account, and the muted "
        "conversations. Each browser still needs its own permission to show notifications.",
        responses=inputs.PreferencesOutput,
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.chat_preferences_of(user=self.user))

    @extend_schema(
        operation_id="me_preferences_update",
        summary="Change my chat choices",
        description="Turn desktop notifications on or off, and/or mute or unmute one "
        "conversation (`conversation` with `muted`). The person's other open clients hear a "
        "`preferences` frame. Muting a conversation the user cannot see is refused with "
        "404 not_found, one they may see but are not in with 403 not_a_member.",
        request=inputs.PreferencesInput,
        responses={200: inputs.PreferencesOutput, **refusals(404)},
        examples=[
            OpenApiExample("mute one", value={"conversation": 3, "muted": True}, request_only=True)
        ],
    )
    def patch(self, request: Request) -> Response:
        data = _valid(inputs.PreferencesInput, request.data)
        return Response(
            preferences.chat_preferences_update(
                user=self.user,
                notifications=data.get("notifications"),
                conversation_id=data.get("conversation"),
                muted=data.get("muted"),
            )
        )


class UserListView(AuthenticatedView):
    @extend_schema(
        summary="Find people",
        description="The directory of active users with their presence (online, away, "
        "offline): up to 20 whose name or username matches `q`, or exactly those in `ids`.",
        parameters=[
            OpenApiParameter("q", str, description="part of a name or username"),
            OpenApiParameter("ids", str, description="comma-separated user ids (at most 100)"),
        ],
        responses=inputs.DirectoryUserOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        data = _valid(inputs.DirectoryQueryInput, request.query_params)
        # Information barriers: a search never finds barred people; looked up by id (to name
        # the author of an old message) they are shown, but never their presence.
        barred = barred_user_ids_among if data["ids"] else None
        hidden = () if data["ids"] else barred_group_ids(user_id=self.user.pk)
        users = list(
            user_directory(
                query=data["q"],
                ids=data["ids"],
                limit=len(data["ids"]) or 20,
                hidden_group_ids=hidden,
            )
        )
        unseen = barred(user_id=self.user.pk, user_ids=[u.pk for u in users]) if barred else set()
        status = presence_of_users(user_ids=[u.pk for u in users if u.pk not in unseen])
        return Response(
            [user_payload(u) | {"presence": status.get(u.pk, "offline")} for u in users]
        )


class ConversationListView(AuthenticatedView):
    @extend_schema(
        operation_id="conversations_list",
        summary="List my conversations",
        description="The conversations the user is in, each with `last_seq` and `unread`; "
        "with `browse=true`, the public channels they can join instead.",
        parameters=[
            OpenApiParameter("browse", bool, description="public channels to join instead")
        ],
        responses=inputs.ConversationOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        if request.query_params.get("browse") in ("1", "true"):
            return Response(selectors.public_channels_to_join(user=self.user))
        return Response(selectors.conversations_for_user(user=self.user))

    @extend_schema(
        summary="Create a channel",
        description="A public or private channel; the creator is its owner. A name already "
        "taken is refused with 409 already_exists.",
        request=inputs.ChannelCreateInput,
        responses={201: inputs.ConversationOutput, **refusals(409)},
        examples=[
            OpenApiExample(
                "a public channel",
                value={"name": "trading-desk", "private": False, "topic": "Desk chat"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = _valid(inputs.ChannelCreateInput, request.data)
        conversation = conversations.conversation_create_channel(creator=self.user, **data)
        return Response(
            selectors.conversation_for_user(user=self.user, conversation_id=conversation.pk),
            status=201,
        )


class DirectOpenView(AuthenticatedView):
    @extend_schema(
        summary="Open a direct message",
        description="The direct (one other person) or group (up to 8) conversation with these "
        "people, created the first time and the same one afterwards.",
        request=inputs.DirectOpenInput,
        responses=inputs.ConversationOutput,
        examples=[OpenApiExample("with user 2", value={"users": [2]}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        data = _valid(inputs.DirectOpenInput, request.data)
        conversation = conversations.conversation_open_direct(
            creator=self.user, user_ids=data["users"]
        )
        return Response(
            selectors.conversation_for_user(user=self.user, conversation_id=conversation.pk)
        )


class ConversationDetailView(AuthenticatedView):
    @extend_schema(
        summary="Read a conversation",
        description="One conversation the user is in, or a public channel they can see.",
        responses=inputs.ConversationOutput,
    )
    def get(self, request: Request, conversation_id: int) -> Response:
        return Response(
            selectors.conversation_for_user(user=self.user, conversation_id=conversation_id)
        )

    @extend_schema(
        summary="Rename a channel or set its topic or purpose",
        description="Owners only. `history_visible` decides what people who join later read. "
        "Private or public: `POST …/visibility/`.",
        request=inputs.ConversationUpdateInput,
        responses={200: inputs.ConversationOutput, **refusals(409)},
    )
    def patch(self, request: Request, conversation_id: int) -> Response:
        data = _valid(inputs.ConversationUpdateInput, request.data)
        conversation = conversations.conversation_update(
            actor=self.user, conversation_id=conversation_id, **data
        )
        return Response(conversation_payload(conversation))


class ConversationArchiveView(AuthenticatedView):
    @extend_schema(
        summary="Archive a channel",
        description="Owners only. The channel becomes read-only; everything in it is kept.",
        request=None,
        responses={200: inputs.ConversationOutput, **refusals(409)},
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        conversation = conversations.conversation_archive(
            actor=self.user, conversation_id=conversation_id
        )
        return Response(conversation_payload(conversation))


class ConversationVisibilityView(AuthenticatedView):
    @extend_schema(
        operation_id="conversations_visibility_set",
        summary="Make a channel private or public",
        description="A channel's owners may, unless the workspace leaves it to administrators "
        "(then 403 forbidden); an administrator may for any channel, audited. The members stay: "
        "a channel made private keeps everyone in it; one made public is joined by anyone the "
        "information barriers allow. Refused with 409 archived in an archived channel.",
        request=inputs.VisibilityInput,
        responses={200: inputs.ConversationOutput, **refusals(409)},
        examples=[OpenApiExample("make it private", value={"private": True}, request_only=True)],
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(inputs.VisibilityInput, request.data)
        conversation = administration.conversation_visibility_set(
            actor=self.user, conversation_id=conversation_id, private=data["private"]
        )
        return Response(conversation_payload(conversation))


class ConversationJoinView(AuthenticatedView):
    @extend_schema(
        summary="Join a public channel",
        description="Private channels are joined by invitation only.",
        request=None,
        responses={200: inputs.ConversationOutput, **refusals(409)},
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        conversations.membership_join(user=self.user, conversation_id=conversation_id)
        return Response(
            selectors.conversation_for_user(user=self.user, conversation_id=conversation_id)
        )


class ConversationLeaveView(AuthenticatedView):
    @extend_schema(
        summary="Leave a channel",
        description="The user stops receiving its messages; what they said stays.",
        request=None,
        responses={204: None, **refusals(409)},
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        conversations.membership_leave(user=self.user, conversation_id=conversation_id)
        return Response(status=204)


class ConversationOwnerView(AuthenticatedView):
    @extend_schema(
        operation_id="conversations_owner_hand_over",
        summary="Hand ownership over",
        description="An owner hands their ownership to another member and stays a member: how "
        "a channel's last owner may then leave (leaving otherwise answers 409 last_owner). "
        "Refused with 409 archived in an archived channel.",
        request=inputs.OwnerInput,
        responses={204: None, **refusals(409)},
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(inputs.OwnerInput, request.data)
        administration.conversation_ownership_transfer(
            actor=self.user, conversation_id=conversation_id, user_id=data["user"]
        )
        return Response(status=204)


class MemberListView(AuthenticatedView):
    @extend_schema(
        summary="List the members",
        description="The members of a conversation the user can see, with their roles.",
        responses=inputs.MemberOutput(many=True),
    )
    def get(self, request: Request, conversation_id: int) -> Response:
        return Response(
            selectors.conversation_members(user=self.user, conversation_id=conversation_id)
        )

    @extend_schema(
        summary="Invite people",
        description="Members may invite to a channel; the reply is the new member list.",
        request=inputs.InviteInput,
        responses={201: inputs.MemberOutput(many=True), **refusals(409)},
    )
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
    @extend_schema(
        summary="Remove a member",
        description="Owners only. The removed member receives nothing said afterwards.",
        responses={204: None, **refusals(409)},
    )
    def delete(self, request: Request, conversation_id: int, user_id: int) -> Response:
        conversations.membership_remove(
            actor=self.user, conversation_id=conversation_id, user_id=user_id
        )
        return Response(status=204)


class MessageListView(AuthenticatedView):
    @extend_schema(
        summary="Read messages",
        description="A page of messages by `seq`: `before` walks back through history, "
        "`after` forward; `has_more` says whether another page exists. Without `thread`, "
        "top-level messages; with `thread=<root id>`, the root and its replies.",
        parameters=[inputs.MessagePageInput],
        responses=inputs.MessagePageOutput,
    )
    def get(self, request: Request, conversation_id: int) -> Response:
        page = _valid(inputs.MessagePageInput, request.query_params)
        return Response(
            selectors.messages_page(user=self.user, conversation_id=conversation_id, **page)
        )

    @extend_schema(
        summary="Send a message",
        description="201 with the new message, or 200 with the first one when this "
        "`client_id` was sent before (retry safely with the same `client_id`). Upload "
        "attachments first and list their ids. The body is markdown; `html` is its sanitised "
        "rendering.",
        request=inputs.MessageSendInput,
        responses={
            201: inputs.MessageOutput,
            200: inputs.MessageOutput,
            **refusals(409, 429),
        },
        examples=[
            OpenApiExample(
                "a message",
                value={
                    "body": "Hello **team**",
                    "client_id": "6f1c2a7e-8a51-4b8e-9d1e-2f3b4c5d6e7f",
                },
                request_only=True,
            )
        ],
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
            confirm_warnings=data["confirm_warnings"],
        )
        return Response(result.payload, status=201 if result.created else 200)


class MessageDetailView(AuthenticatedView):
    @extend_schema(
        summary="Read a message",
        description="One message the user may read, with its reactions and reply count.",
        responses=inputs.MessageOutput,
    )
    def get(self, request: Request, message_id: int) -> Response:
        return Response(selectors.message_for_user(user=self.user, message_id=message_id))

    @extend_schema(
        summary="Edit a message",
        description="Authors only. The old version stays in the archive.",
        request=inputs.MessageEditInput,
        responses={200: inputs.MessageOutput, **refusals(409, 429)},
    )
    def patch(self, request: Request, message_id: int) -> Response:
        data = _valid(inputs.MessageEditInput, request.data)
        messages.message_edit(
            user=self.user,
            message_id=message_id,
            body=data["body"],
            confirm_warnings=data["confirm_warnings"],
        )
        return Response(selectors.message_for_user(user=self.user, message_id=message_id))

    @extend_schema(
        summary="Delete a message",
        description="Authors only. Members see a tombstone; the archive keeps what was said.",
        responses={204: None, **refusals(409)},
    )
    def delete(self, request: Request, message_id: int) -> Response:
        messages.message_delete(user=self.user, message_id=message_id)
        return Response(status=204)


class ReactionView(AuthenticatedView):
    @extend_schema(
        summary="React to a message",
        description="Adds the user's reaction (an emoji); the reply is the message.",
        request=inputs.ReactionInput,
        responses={200: inputs.MessageOutput, **refusals(409, 429)},
        examples=[OpenApiExample("thumbs up", value={"emoji": "👍"}, request_only=True)],
    )
    def post(self, request: Request, message_id: int) -> Response:
        data = _valid(inputs.ReactionInput, request.data)
        messages.reaction_add(user=self.user, message_id=message_id, emoji=data["emoji"])
        return Response(selectors.message_for_user(user=self.user, message_id=message_id))

    @extend_schema(
        summary="Take a reaction back",
        description="Removes the user's reaction; the reply is the message. The emoji is a "
        "query parameter (or, for clients that send DELETE bodies, `{emoji}`).",
        parameters=[OpenApiParameter("emoji", str, required=True)],
        responses={200: inputs.MessageOutput, **refusals(409, 429)},
    )
    def delete(self, request: Request, message_id: int) -> Response:
        data = _valid(inputs.ReactionInput, request.data or request.query_params)
        messages.reaction_remove(user=self.user, message_id=message_id, emoji=data["emoji"])
        return Response(selectors.message_for_user(user=self.user, message_id=message_id))


class ReadMarkView(AuthenticatedView):
    @extend_schema(
        summary="Mark as read",
        description="Moves the read marker forward to `seq` (never back); the user's other "
        "sockets are told.",
        request=inputs.ReadMarkInput,
        responses=inputs.ReadMarkOutput,
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        data = _valid(inputs.ReadMarkInput, request.data)
        marker = messages.read_mark(
            user=self.user, conversation_id=conversation_id, seq=data["seq"]
        )
        return Response({"conversation": conversation_id, "last_read_seq": marker})


class AttachmentUploadView(AuthenticatedView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Upload an attachment",
        description="A staged file for the next message (list its id in `attachments`). "
        "The content type is sniffed from the bytes; executables are refused.",
        request={"multipart/form-data": inputs.AttachmentUploadInput},
        responses={201: inputs.AttachmentOutput, **refusals(409, 413)},
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
    @extend_schema(
        summary="Download an attachment",
        description="The file, for members who may read its message.",
        responses={(200, "*/*"): OpenApiTypes.BINARY},
    )
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


class NoticeListView(AuthenticatedView):
    @extend_schema(
        operation_id="notices_list",
        summary="List my notices",
        description="The notices written for the signed-in user and not yet dismissed, newest "
        "first (at most 50): today, a content policy's notify action telling the sender that "
        "a message matched it (the policy's name and the matched text only). Open sockets "
        "receive each one live as a `notice.new` frame; a client reads this list when it "
        "starts or reconnects.",
        responses=inputs.NoticeListOutput,
    )
    def get(self, request: Request) -> Response:
        return Response({"notices": selectors.notices_for_user(user=self.user)})


class NoticeDismissView(AuthenticatedView):
    @extend_schema(
        summary="Dismiss notices",
        description="Dismiss the user's own notices among `ids` (1 to 200); ids of notices "
        "that are not theirs, or already dismissed, are ignored. Says how many were dismissed.",
        request=inputs.NoticeDismissInput,
        responses={200: dict},
    )
    def post(self, request: Request) -> Response:
        data = _valid(inputs.NoticeDismissInput, request.data)
        count = notices.user_notices_dismiss(user=self.user, notice_ids=data["ids"])
        return Response({"dismissed": count})
