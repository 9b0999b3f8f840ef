"""/api/v1/admin/channels/: conversations' metadata and members; never a message."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from eim.chat.services import administration

from ..selectors.channels import (
    ChannelFilter,
    channel_by_id,
    channel_overview,
    channels_search,
)
from . import serializers as shapes
from .base import CHANGED, DENIALS, REFUSALS, AdminView, found, valid
from .payloads import channel_payload, channel_row_payload

TAGS = ["admin: channels"]


def _action(operation_id: str, description: str, request: Any = None) -> Any:
    return extend_schema(
        operation_id=operation_id,
        tags=TAGS,
        description=description,
        request=request,
        responses=CHANGED,
    )


class ChannelListView(AdminView):
    @extend_schema(
        operation_id="admin_channels_list",
        tags=TAGS,
        description="Every conversation, newest first (keyset: pass `next_before` as `before`).",
        parameters=[shapes.AdminChannelQueryInput],
        responses={200: shapes.AdminChannelPageOutput, 400: REFUSALS[400], **DENIALS},
    )
    def get(self, request: Request) -> Response:
        data = valid(shapes.AdminChannelQueryInput, request.query_params)
        page = channels_search(
            filters=ChannelFilter(
                q=data["q"].strip(),
                kind=data.get("kind", ""),
                archived=data.get("archived", ""),
                before=data.get("before"),
            )
        )
        return Response(
            {
                "results": [
                    channel_row_payload(c, page.owners.get(c.pk, []), c.member_count)  # type: ignore[attr-defined]
                    for c in page.channels
                ],
                "next_before": page.next_before,
            }
        )


class ChannelView(AdminView):
    @extend_schema(
        operation_id="admin_channel",
        tags=TAGS,
        description="A conversation's metadata and members.",
        responses={200: shapes.AdminChannelOutput, 404: REFUSALS[404], **DENIALS},
    )
    def get(self, request: Request, conversation_id: int) -> Response:
        conversation = found(channel_by_id(conversation_id=conversation_id), "conversation")
        return Response(channel_payload(channel_overview(conversation=conversation)))


class ChannelMembersView(AdminView):
    @_action(
        "admin_channel_members_add",
        "Add active people to a channel (not an archived one, not a direct message).",
        shapes.AdminUsersInput,
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        data = valid(shapes.AdminUsersInput, request.data)
        return self.change(
            lambda: administration.conversation_members_add_by_administrator(
                actor=self.admin, conversation_id=conversation_id, user_ids=data["users"]
            ),
            shape=lambda added: [m.user_id for m in added],
        )


class ChannelMemberView(AdminView):
    @_action(
        "admin_channel_member_remove",
        "Remove a member. Refused for the last owner (last_owner: hand ownership over first) "
        "and in an archived channel (archived).",
    )
    def delete(self, request: Request, conversation_id: int, user_id: int) -> Response:
        return self.change(
            lambda: administration.conversation_member_remove_by_administrator(
                actor=self.admin, conversation_id=conversation_id, user_id=user_id
            )
        )


class ChannelArchiveView(AdminView):
    @_action("admin_channel_archive", "Make a channel read-only.")
    def post(self, request: Request, conversation_id: int) -> Response:
        return self.change(
            lambda: administration.conversation_archive_by_administrator(
                actor=self.admin, conversation_id=conversation_id
            ),
            shape=lambda c: {"archived": c.archived_at is not None},
        )


class ChannelUnarchiveView(AdminView):
    @_action("admin_channel_unarchive", "Open an archived channel again.")
    def post(self, request: Request, conversation_id: int) -> Response:
        return self.change(
            lambda: administration.conversation_unarchive_by_administrator(
                actor=self.admin, conversation_id=conversation_id
            ),
            shape=lambda c: {"archived": c.archived_at is not None},
        )


class ChannelOwnerView(AdminView):
    @_action(
        "admin_channel_ownership_transfer",
        "Make a member the only owner; the present owners stay as members.",
        shapes.AdminUserInput,
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        data = valid(shapes.AdminUserInput, request.data)
        return self.change(
            lambda: administration.conversation_ownership_transfer(
                actor=self.admin, conversation_id=conversation_id, user_id=data["user"]
            )
        )
