"""People and groups as SCIM resources (RFC 7643 §4), with their version (ETag).

The version is a digest of the resource as shown, so a change made by any path (SCIM, the
console, a command) changes it; no counter has to be kept in step.
"""

import hashlib
import json
from datetime import datetime
from typing import Any

from accounts.models import Group, User

from .models import ScimUserProfile
from .schemas import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def resource_version(body: dict[str, Any]) -> str:
    shown = {k: v for k, v in body.items() if k != "meta"}
    digest = hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()
    return f'W/"{digest[:24]}"'


def _enterprise(profile: ScimUserProfile, manager_name: str) -> dict[str, Any]:
    extension: dict[str, Any] = {}
    if profile.department:
        extension["department"] = profile.department
    if profile.employee_number:
        extension["employeeNumber"] = profile.employee_number
    if profile.manager_id:
        extension["manager"] = {"value": str(profile.manager_id), "displayName": manager_name}
    return extension


def user_resource(user: User, *, base: str) -> dict[str, Any]:
    """`user` with its `scim` profile (and the profile's manager) loaded."""
    profile: ScimUserProfile = user.scim
    body: dict[str, Any] = {"schemas": [USER_SCHEMA], "id": str(user.pk)}
    if profile.external_id:
        body["externalId"] = profile.external_id
    body["userName"] = user.username
    if user.display_name:
        body["displayName"] = user.display_name
    name = {"givenName": user.first_name, "familyName": user.last_name}
    name = {k: v for k, v in name.items() if v}
    if name:
        body["name"] = name
    if user.email:
        body["emails"] = [{"value": user.email, "type": "work", "primary": True}]
    body["active"] = user.is_active
    manager = profile.manager.shown_name if profile.manager_id and profile.manager else ""
    extension = _enterprise(profile, manager)
    if extension:
        body["schemas"] = [USER_SCHEMA, ENTERPRISE_USER]
        body[ENTERPRISE_USER] = extension
    body["meta"] = {
        "resourceType": "User",
        "created": _iso(user.date_joined),
        "lastModified": _iso(profile.last_modified),
        "location": f"{base}/Users/{user.pk}",
    }
    body["meta"]["version"] = resource_version(body)
    return body


def group_resource(
    group: Group,
    *,
    base: str,
    members: list[tuple[int, str]] | None,
    last_modified: datetime | None = None,
) -> dict[str, Any]:
    """`members` as (user id, shown name), or None when they were left out of the answer
    (`excludedAttributes=members`): then the version, which covers them, is left out too."""
    body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": str(group.pk)}
    if group.external_id:
        body["externalId"] = group.external_id
    body["displayName"] = group.display_name
    if members is not None:
        body["members"] = [
            {
                "value": str(user_id),
                "display": name,
                "type": "User",
                "$ref": f"{base}/Users/{user_id}",
            }
            for user_id, name in members
        ]
    body["meta"] = {
        "resourceType": "Group",
        "created": _iso(group.created_at),
        "lastModified": _iso(max(group.updated_at, last_modified or group.updated_at)),
        "location": f"{base}/Groups/{group.pk}",
    }
    if members is not None:
        body["meta"]["version"] = resource_version(body)
    return body
