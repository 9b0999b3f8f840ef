"""/Users and /Groups: create, list (filter, pages), get, replace, PATCH, delete.

Versions (ETags): every single resource answer carries `ETag` (= meta.version); `If-Match`
on a write that no longer matches is refused with 412, `If-None-Match` on a read that still
matches answers 304.
"""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from accounts.models import Group, User

from .errors import ScimError, not_found
from .filters import group_filter_q, user_filter_q
from .patch import apply_user_operations, group_changes, operations
from .payloads import group_data, json_body, user_data
from .representation import group_resource, user_resource
from .schemas import list_response
from .selectors import (
    scim_group,
    scim_group_last_modified,
    scim_group_members,
    scim_groups,
    scim_user,
    scim_users,
)
from .services.groups import (
    scim_group_create,
    scim_group_delete,
    scim_group_patch,
    scim_group_replace,
)
from .services.users import (
    scim_user_create,
    scim_user_deprovision,
    scim_user_replace,
    user_data_of,
)
from .views import ScimView, page_bounds, scim_response


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _if_match(request: HttpRequest, version: str) -> None:
    header = request.headers.get("If-Match")
    if header is None:
        return
    tags = _tags(header)
    if "*" not in tags and version.removeprefix("W/") not in tags:
        raise ScimError(412, "the resource changed since that version (If-Match)")


def _resource_response(body: dict[str, Any], status: int = 200) -> HttpResponse:
    headers = {"Location": body["meta"]["location"]}
    if "version" in body["meta"]:
        headers["ETag"] = body["meta"]["version"]
    return scim_response(body, status, headers)


def _not_modified(request: HttpRequest, body: dict[str, Any]) -> bool:
    header = request.headers.get("If-None-Match")
    version = body["meta"].get("version")
    return bool(header and version and version.removeprefix("W/") in _tags(header))


class UsersView(ScimView):
    def get(self, request: HttpRequest) -> HttpResponse:
        start, count = page_bounds(request)
        users: QuerySet[User] = scim_users(token=self.token)
        if request.GET.get("filter"):
            users = users.filter(user_filter_q(request.GET["filter"]))
        total = users.count()
        page = list(users.order_by("pk")[start - 1 : start - 1 + count]) if count else []
        resources = [user_resource(user, base=self.base()) for user in page]
        return scim_response(list_response(resources, total=total, start_index=start))

    def post(self, request: HttpRequest) -> HttpResponse:
        data = user_data(json_body(request.body), replacing=False)
        user = scim_user_create(token=self.token, data=data)
        return _resource_response(user_resource(user, base=self.base()), 201)


class UserView(ScimView):
    def _user(self, user_id: str) -> User:
        user = scim_user(token=self.token, user_id=user_id)
        if user is None:
            raise not_found(f"no user {user_id}")
        return user

    def get(self, request: HttpRequest, user_id: str) -> HttpResponse:
        body = user_resource(self._user(user_id), base=self.base())
        if _not_modified(request, body):
            return HttpResponse(status=304, headers={"ETag": body["meta"]["version"]})
        return _resource_response(body)

    def put(self, request: HttpRequest, user_id: str) -> HttpResponse:
        user = self._user(user_id)
        _if_match(request, user_resource(user, base=self.base())["meta"]["version"])
        data = user_data(json_body(request.body), replacing=True)
        user = scim_user_replace(token=self.token, user=user, data=data)
        return _resource_response(user_resource(user, base=self.base()))

    def patch(self, request: HttpRequest, user_id: str) -> HttpResponse:
        user = self._user(user_id)
        _if_match(request, user_resource(user, base=self.base())["meta"]["version"])
        ops = operations(json_body(request.body))
        data = apply_user_operations(user_data_of(user), ops)
        user = scim_user_replace(token=self.token, user=user, data=data)
        return _resource_response(user_resource(user, base=self.base()))

    def delete(self, request: HttpRequest, user_id: str) -> HttpResponse:
        user = self._user(user_id)
        _if_match(request, user_resource(user, base=self.base())["meta"]["version"])
        scim_user_deprovision(token=self.token, user=user)
        return scim_response(None, 204)


def _members_wanted(request: HttpRequest) -> bool:
    excluded = {a.strip().lower() for a in request.GET.get("excludedAttributes", "").split(",")}
    attributes = {a.strip().lower() for a in request.GET.get("attributes", "").split(",") if a}
    return "members" not in excluded and (not attributes or "members" in attributes)


class GroupsView(ScimView):
    def _render(self, groups: list[Group], with_members: bool) -> list[dict[str, Any]]:
        ids = [group.pk for group in groups]
        members = scim_group_members(group_ids=ids) if with_members else {}
        modified = scim_group_last_modified(group_ids=ids)
        return [
            group_resource(
                group,
                base=self.base(),
                members=members.get(group.pk) if with_members else None,
                last_modified=modified.get(group.pk),
            )
            for group in groups
        ]

    def get(self, request: HttpRequest) -> HttpResponse:
        start, count = page_bounds(request)
        groups: QuerySet[Group] = scim_groups(token=self.token)
        if request.GET.get("filter"):
            groups = groups.filter(group_filter_q(request.GET["filter"]))
        total = groups.count()
        page = list(groups.order_by("pk")[start - 1 : start - 1 + count]) if count else []
        resources = self._render(page, _members_wanted(request))
        return scim_response(list_response(resources, total=total, start_index=start))

    def post(self, request: HttpRequest) -> HttpResponse:
        data = group_data(json_body(request.body), replacing=False)
        group = scim_group_create(token=self.token, data=data)
        return _resource_response(self._render([group], True)[0], 201)


class GroupView(GroupsView):
    def _group(self, group_id: str) -> Group:
        group = scim_group(token=self.token, group_id=group_id)
        if group is None:
            raise not_found(f"no group {group_id}")
        return group

    def _check_version(self, request: HttpRequest, group: Group) -> None:
        if request.headers.get("If-Match") is not None:
            _if_match(request, self._render([group], True)[0]["meta"]["version"])

    def get(self, request: HttpRequest, group_id: str) -> HttpResponse:  # type: ignore[override]
        body = self._render([self._group(group_id)], _members_wanted(request))[0]
        if _not_modified(request, body):
            return HttpResponse(status=304, headers={"ETag": body["meta"]["version"]})
        return _resource_response(body)

    def put(self, request: HttpRequest, group_id: str) -> HttpResponse:
        group = self._group(group_id)
        self._check_version(request, group)
        data = group_data(json_body(request.body), replacing=True)
        group = scim_group_replace(token=self.token, group=group, data=data)
        return _resource_response(self._render([group], True)[0])

    def patch(self, request: HttpRequest, group_id: str) -> HttpResponse:
        """204 without a body, as Okta and Entra ID expect: a group of 10,000 would otherwise
        be sent back whole after every change of one member."""
        group = self._group(group_id)
        self._check_version(request, group)
        changes = group_changes(operations(json_body(request.body)))
        scim_group_patch(token=self.token, group=group, changes=changes)
        return scim_response(None, 204)

    def delete(self, request: HttpRequest, group_id: str) -> HttpResponse:
        group = self._group(group_id)
        self._check_version(request, group)
        scim_group_delete(token=self.token, group=group)
        return scim_response(None, 204)

    def post(self, request: HttpRequest, group_id: str) -> HttpResponse:  # type: ignore[override]
        return self.http_method_not_allowed(request)
