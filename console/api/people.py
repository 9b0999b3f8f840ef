"""/api/v1/admin/people/ and role requests: the console's people pages, for automation."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import api_token_of_user, role_requests_pending_for_administrator
from accounts.services import roles, tokens, users

from ..selectors.people import PeopleFilter, people_search, person_by_id, person_overview
from . import serializers as shapes
from .base import CHANGED, DENIALS, REFUSALS, AdminView, found, valid
from .payloads import people_page_payload, person_payload, role_request_payload

TAGS = ["admin: people and roles"]


class PeopleListView(AdminView):
    @extend_schema(
        operation_id="admin_people_list",
        tags=TAGS,
        description="People by username, filtered; keyset paging: pass `next_after` back as "
        "`after`. `seen` filters on when they were last seen: the latest sign-in, chat socket "
        "connection or API token use.",
        parameters=[shapes.AdminPeopleQueryInput],
        responses={200: shapes.AdminPeoplePageOutput, 400: REFUSALS[400], **DENIALS},
    )
    def get(self, request: Request) -> Response:
        data = valid(shapes.AdminPeopleQueryInput, request.query_params)
        filters = PeopleFilter(
            q=data["q"].strip(),
            role=data.get("role", ""),
            group=data.get("group"),
            active=data.get("active", ""),
            provider=data.get("provider"),
            seen=data.get("seen", ""),
            after=data["after"],
        )
        return Response(people_page_payload(people_search(filters=filters, limit=data["limit"])))


class PersonView(AdminView):
    @extend_schema(
        operation_id="admin_person",
        tags=TAGS,
        description="One person: identities (issuer, subject), groups, roles and pending role "
        "requests, open web sessions and chat sockets, API tokens (never their secrets).",
        responses={200: shapes.AdminPersonOutput, 404: REFUSALS[404], **DENIALS},
    )
    def get(self, request: Request, user_id: int) -> Response:
        person = found(person_by_id(user_id=user_id), "person")
        return Response(person_payload(person_overview(person=person)))


def _person_action(operation_id: str, description: str) -> Any:
    return extend_schema(
        operation_id=operation_id,
        tags=TAGS,
        description=description,
        request=None,
        responses=CHANGED,
    )


class PersonDeactivateView(AdminView):
    @_person_action(
        "admin_person_deactivate",
        "Deactivate: every session, token and socket of theirs ends. No audit event when "
        "they were inactive already.",
    )
    def post(self, request: Request, user_id: int) -> Response:
        person = found(person_by_id(user_id=user_id), "person")
        return self.change(lambda: users.user_deactivate(user=person, by=self.admin))


class PersonReactivateView(AdminView):
    @_person_action("admin_person_reactivate", "Let a deactivated person sign in again.")
    def post(self, request: Request, user_id: int) -> Response:
        person = found(person_by_id(user_id=user_id), "person")
        return self.change(lambda: users.user_reactivate(user=person, by=self.admin))


class PersonSignOutView(AdminView):
    @_person_action(
        "admin_person_sign_out_everywhere",
        "End every web session and the sockets opened with them; API tokens stay.",
    )
    def post(self, request: Request, user_id: int) -> Response:
        person = found(person_by_id(user_id=user_id), "person")
        return self.change(lambda: users.user_sign_out_everywhere(user=person, by=self.admin))


class PersonTokenView(AdminView):
    @_person_action(
        "admin_person_token_revoke",
        "Revoke the person's API token with this key (the first 8 characters, as listed).",
    )
    def delete(self, request: Request, user_id: int, token_key: str) -> Response:
        person = found(person_by_id(user_id=user_id), "person")
        token = found(api_token_of_user(user_id=person.pk, token_key=token_key), "token")
        return self.change(lambda: tokens.api_token_revoke(token=token, by=self.admin))


class PersonRoleRevokeView(AdminView):
    @extend_schema(
        operation_id="admin_person_role_revoke",
        tags=TAGS,
        description="Take a role away at once (through the role service).",
        request=shapes.AdminRoleRevokeInput,
        responses=CHANGED,
    )
    def post(self, request: Request, user_id: int) -> Response:
        data = valid(shapes.AdminRoleRevokeInput, request.data)
        return self.change(
            lambda: roles.role_revoke(
                actor=self.admin, user_id=user_id, role=data["role"], reason=data["reason"]
            )
        )


class RoleRequestListView(AdminView):
    @extend_schema(
        operation_id="admin_role_requests_pending",
        tags=TAGS,
        description="The four-eyes queue: requests waiting for a second administrator.",
        responses={200: shapes.AdminRoleRequestOutput(many=True), **DENIALS},
    )
    def get(self, request: Request) -> Response:
        pending = role_requests_pending_for_administrator(actor=self.admin)
        return Response([role_request_payload(r) for r in pending])

    @extend_schema(
        operation_id="admin_role_request",
        tags=TAGS,
        description="Ask that a person hold a role. Employee is granted at once; administrator, "
        "compliance officer and auditor wait (pending) for another administrator.",
        request=shapes.AdminRoleRequestInput,
        responses=CHANGED,
    )
    def post(self, request: Request) -> Response:
        data = valid(shapes.AdminRoleRequestInput, request.data)
        return self.change(
            lambda: roles.role_request(
                actor=self.admin, user_id=data["user"], role=data["role"], reason=data["reason"]
            ),
            shape=role_request_payload,
        )


class RoleRequestApproveView(AdminView):
    @_person_action(
        "admin_role_request_approve",
        "Approve a role request. A second administrator (not the requester, not the subject) "
        "approves.",
    )
    def post(self, request: Request, request_id: int) -> Response:
        return self.change(
            lambda: roles.role_request_approve(actor=self.admin, request_id=request_id),
            shape=role_request_payload,
        )


class RoleRequestRefuseView(AdminView):
    @extend_schema(
        operation_id="admin_role_request_refuse",
        tags=TAGS,
        description="Turn a pending request down (the requester's own refusal withdraws it).",
        request=shapes.AdminReasonInput,
        responses=CHANGED,
    )
    def post(self, request: Request, request_id: int) -> Response:
        data = valid(shapes.AdminReasonInput, request.data)
        return self.change(
            lambda: roles.role_request_refuse(
                actor=self.admin, request_id=request_id, reason=data["reason"]
            ),
            shape=role_request_payload,
        )
