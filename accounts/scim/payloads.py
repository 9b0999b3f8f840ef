"""Request bodies read into what eim keeps, validated by scim2-models.

Identity providers send more than eim keeps (phone numbers, addresses, their own extension
schemas); what eim does not keep is accepted and left aside, what it keeps is checked.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, EnterpriseUser
from scim2_models import Group as ScimGroup
from scim2_models import User as ScimUser

from .errors import ScimError, invalid_syntax, invalid_value
from .schemas import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA

USERNAME_MAX = 150
TEXT_MAX = 255
# Parametrising builds a new pydantic class (about 17 ms): once, not per request.
USER_MODEL = ScimUser[EnterpriseUser]


@dataclass
class UserData:
    """A person as a POST or PUT describes them; on PUT an absent attribute is cleared."""

    user_name: str
    display_name: str = ""
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    active: bool = True
    external_id: str = ""
    department: str = ""
    employee_number: str = ""
    manager_id: str = ""


@dataclass
class GroupData:
    display_name: str
    external_id: str = ""
    member_ids: list[str] = field(default_factory=list)


def json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid_syntax(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise invalid_syntax("the body must be a JSON object")
    return body


def require_schema(body: dict[str, Any], schema: str) -> None:
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or schema not in schemas:
        raise invalid_syntax(f'"schemas" must list {schema}')


def _validation_error(exc: ValidationError) -> ScimError:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "body"
    return invalid_value(f"{where}: {first.get('msg', 'invalid')}")


def manager_id_of(value: Any) -> str:
    """A manager as Okta ({"value": id}) or Entra (the id alone) sends it."""
    if isinstance(value, dict):
        value = value.get("value")
    if value is None or value == "":
        return ""
    if not isinstance(value, str | int) or not str(value).isdigit():
        raise invalid_value(f"manager: not a user id: {value!r}")
    return str(value)


def bounded_text(value: str | None, name: str, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise invalid_value(f"{name}: longer than {limit} characters")
    return value


def _primary_email(user: ScimUser) -> str:
    emails = [e for e in user.emails or [] if e.value]
    chosen = next((e for e in emails if e.primary), None) or next(
        (e for e in emails if (e.type or "") == "work"), None
    )
    chosen = chosen or (emails[0] if emails else None)
    return str(chosen.value) if chosen else ""


def user_data(body: dict[str, Any], *, replacing: bool) -> UserData:
    require_schema(body, USER_SCHEMA)
    known = {k: v for k, v in body.items() if not k.startswith("urn:") or k == ENTERPRISE_USER}
    extension = dict(known.get(ENTERPRISE_USER) or {})
    manager = manager_id_of(extension.pop("manager", None))
    if ENTERPRISE_USER in known:
        known[ENTERPRISE_USER] = extension
    known["schemas"] = [s for s in body["schemas"] if s in (USER_SCHEMA, ENTERPRISE_USER)]
    context = (
        Context.RESOURCE_REPLACEMENT_REQUEST if replacing else Context.RESOURCE_CREATION_REQUEST
    )
    try:
        user = USER_MODEL.model_validate(known, scim_ctx=context)
    except ValidationError as exc:
        raise _validation_error(exc) from exc
    enterprise = user[EnterpriseUser] if ENTERPRISE_USER in known else None
    user_name = bounded_text(user.user_name, "userName", USERNAME_MAX)
    if not user_name:
        raise invalid_value("userName: required")
    return UserData(
        user_name=user_name,
        display_name=bounded_text(user.display_name, "displayName", USERNAME_MAX),
        given_name=bounded_text(user.name.given_name if user.name else "", "name.givenName", 150),
        family_name=bounded_text(
            user.name.family_name if user.name else "", "name.familyName", 150
        ),
        email=bounded_text(_primary_email(user), "emails", 254),
        active=True if user.active is None else bool(user.active),
        external_id=bounded_text(user.external_id, "externalId"),
        department=bounded_text(enterprise.department if enterprise else "", "department"),
        employee_number=bounded_text(
            enterprise.employee_number if enterprise else "", "employeeNumber"
        ),
        manager_id=manager,
    )


# The longest value each kept attribute may have (the columns' lengths).
LIMITS = {
    "user_name": ("userName", USERNAME_MAX),
    "display_name": ("displayName", USERNAME_MAX),
    "given_name": ("name.givenName", 150),
    "family_name": ("name.familyName", 150),
    "email": ("emails", 254),
    "external_id": ("externalId", TEXT_MAX),
    "department": ("department", TEXT_MAX),
    "employee_number": ("employeeNumber", TEXT_MAX),
}


def user_data_checked(data: UserData) -> UserData:
    """Refuse what a PATCH made too long to keep (a POST or PUT is checked as it is read)."""
    for attribute, (name, limit) in LIMITS.items():
        if len(getattr(data, attribute)) > limit:
            raise invalid_value(f"{name}: longer than {limit} characters")
    return data


def group_data(body: dict[str, Any], *, replacing: bool) -> GroupData:
    require_schema(body, GROUP_SCHEMA)
    known = {k: v for k, v in body.items() if not k.startswith("urn:")}
    context = (
        Context.RESOURCE_REPLACEMENT_REQUEST if replacing else Context.RESOURCE_CREATION_REQUEST
    )
    try:
        group = ScimGroup.model_validate(known, scim_ctx=context)
    except ValidationError as exc:
        raise _validation_error(exc) from exc
    display_name = bounded_text(group.display_name, "displayName")
    if not display_name:
        raise invalid_value("displayName: required")
    return GroupData(
        display_name=display_name,
        external_id=bounded_text(group.external_id, "externalId"),
        member_ids=member_ids([m.model_dump(by_alias=True) for m in group.members or []]),
    )


def member_ids(values: Any) -> list[str]:
    """The user ids of a members list ([{"value": id}, ...]), as sent."""
    if isinstance(values, dict):
        values = [values]
    if not isinstance(values, list):
        raise invalid_value('members: a list of {"value": id}')
    ids = []
    for member in values:
        value = member.get("value") if isinstance(member, dict) else None
        if not isinstance(value, str | int) or not str(value).isdigit():
            raise invalid_value(f"members: not a user id: {value!r}")
        ids.append(str(value))
    return ids
