"""PATCH (RFC 7644 §3.5.2) as Okta and Entra ID send it, read into the changes eim makes.

Paths are parsed by scim2-models. What the identity providers really send, beyond the RFC:
Entra ID capitalises operation names ("Replace", "Add") and sends booleans as strings
("False"); Okta deprovisions with a path-less replace of {"active": false}; both send
path-less operations whose value is an object of attributes, some keyed by a dotted path
("name.givenName") or a full extension URN.

A user PATCH is applied to the person's current `UserData` and saved as a replacement; a group
PATCH becomes set operations on the members, so that 10,000 members never mean 10,000 writes.
"""

from dataclasses import dataclass, field, replace
from typing import Any

from scim2_models import InvalidPathException, Path
from scim2_models.path import AttrPath, CompareOperator, Comparison, LogicalExpr, ValuePath

from .errors import ScimError, ScimType, invalid_syntax, invalid_value
from .payloads import bounded_text, manager_id_of, member_ids, user_data_checked
from .schemas import ENTERPRISE_USER, PATCH_OP

OPS = ("add", "replace", "remove")

# Core and enterprise attributes eim accepts but does not keep (RFC 7643 §4.1, §4.3).
IGNORED_USER_ATTRIBUTES = frozenset(
    {
        "nickname",
        "profileurl",
        "title",
        "usertype",
        "preferredlanguage",
        "locale",
        "timezone",
        "password",
        "phonenumbers",
        "ims",
        "photos",
        "addresses",
        "entitlements",
        "roles",
        "x509certificates",
        "name.formatted",
        "name.middlename",
        "name.honorificprefix",
        "name.honorificsuffix",
        "costcenter",
        "organization",
        "division",
        "manager.displayname",
    }
)
READ_ONLY = frozenset({"id", "meta", "groups", "schemas"})


@dataclass(frozen=True)
class Operation:
    op: str
    target: str  # the attribute, lower case: "displayname", "name.givenname", "members"...
    value: Any
    selection: Any = None  # a ValuePath's filter (members[value eq "x"])


def operations(body: dict[str, Any]) -> list[Operation]:
    """The operations of a PatchOp body, one per attribute, normalised."""
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or PATCH_OP not in schemas:
        raise invalid_syntax(f'"schemas" must list {PATCH_OP}')
    raw = body.get("Operations", body.get("operations"))
    if not isinstance(raw, list) or not raw:
        raise invalid_syntax('"Operations" must be a non-empty list')
    result: list[Operation] = []
    for item in raw:
        if not isinstance(item, dict):
            raise invalid_syntax("each operation must be an object")
        op = str(item.get("op", "")).lower()
        if op not in OPS:
            raise invalid_syntax(f"op must be add, replace or remove, not {item.get('op')!r}")
        path, value = item.get("path"), item.get("value")
        if path in (None, ""):
            result.extend(_pathless(op, value))
        elif isinstance(path, str):
            result.append(_with_path(op, path, value))
        else:
            raise invalid_syntax("path must be a string")
        if op != "remove" and "value" not in item:
            raise invalid_value(f"{op} needs a value")
    return result


def _pathless(op: str, value: Any) -> list[Operation]:
    if op == "remove":
        raise ScimError(400, "remove needs a path", ScimType.NO_TARGET)
    if not isinstance(value, dict):
        raise invalid_value("an operation without a path takes an object of attributes")
    result: list[Operation] = []
    for key, item in value.items():
        if key == ENTERPRISE_USER and isinstance(item, dict):
            result.extend(Operation(op, k.lower(), v) for k, v in item.items())
        else:
            result.append(_with_path(op, key, item))
    return result


def _target(attr_path: AttrPath) -> str:
    if attr_path.uri is not None and attr_path.uri != ENTERPRISE_USER:
        if attr_path.uri.lower().startswith("urn:ietf:params:scim:schemas:core:2.0:"):
            return _target(AttrPath(attr_path.attr, attr_path.sub_attr))
        raise ScimError(400, f"unknown schema {attr_path.uri}", ScimType.INVALID_PATH)
    name = attr_path.attr.lower()
    return f"{name}.{attr_path.sub_attr.lower()}" if attr_path.sub_attr else name


def _with_path(op: str, path: str, value: Any) -> Operation:
    if path == ENTERPRISE_USER:
        raise ScimError(400, "name an attribute of the extension", ScimType.INVALID_PATH)
    try:
        node = Path(path).ast
    except (InvalidPathException, ValueError) as exc:
        raise ScimError(400, f"invalid path {path!r}: {exc}", ScimType.INVALID_PATH) from exc
    if isinstance(node, ValuePath):
        target = _target(node.attr_path)
        if node.sub_attr:
            target = f"{target}.{node.sub_attr.lower()}"
        return Operation(op, target, value, selection=node.val_filter)
    if isinstance(node, AttrPath):
        return Operation(op, _target(node), value)
    raise ScimError(400, f"invalid path {path!r}", ScimType.INVALID_PATH)


def _text(operation: Operation) -> str:
    if operation.op == "remove":
        return ""
    value = operation.value
    if isinstance(value, dict) and "value" in value:  # Entra wraps some values
        value = value["value"]
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise invalid_value(f"{operation.target}: a string is needed")
    return str(value).strip()


def _boolean(operation: Operation) -> bool:
    value = operation.value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # Entra ID sends "True" / "False"
    if not isinstance(value, bool):
        raise invalid_value(f"{operation.target}: true or false is needed")
    return value


def _email(operation: Operation) -> str:
    value = operation.value
    if operation.op == "remove":
        return ""
    if isinstance(value, list):
        emails = [e for e in value if isinstance(e, dict) and e.get("value")]
        chosen = next((e for e in emails if e.get("primary") in (True, "true", "True")), None)
        chosen = chosen or next((e for e in emails if e.get("type") == "work"), None)
        chosen = chosen or (emails[0] if emails else None)
        return str(chosen["value"]).strip() if chosen else ""
    return _text(operation)


def apply_user_operations(data: Any, ops: list[Operation]) -> Any:
    """`data` (a UserData) with the operations applied, in order."""
    for operation in ops:
        data = _apply_user(data, operation)
    if not data.user_name:
        raise invalid_value("userName cannot be removed")
    return user_data_checked(data)


def _apply_user(data: Any, operation: Operation) -> Any:
    target = operation.target
    text_fields = {
        "username": "user_name",
        "displayname": "display_name",
        "name.givenname": "given_name",
        "name.familyname": "family_name",
        "externalid": "external_id",
        "department": "department",
        "employeenumber": "employee_number",
    }
    if target in text_fields:
        return replace(data, **{text_fields[target]: _text(operation)})
    if target == "name":
        parts = operation.value if isinstance(operation.value, dict) else {}
        if operation.op == "remove":
            return replace(data, given_name="", family_name="")
        given = parts.get("givenName", data.given_name if operation.op == "add" else "")
        family = parts.get("familyName", data.family_name if operation.op == "add" else "")
        return replace(data, given_name=str(given or ""), family_name=str(family or ""))
    if target in ("emails", "emails.value"):
        return replace(data, email=_email(operation))
    if target == "active":
        if operation.op == "remove":
            raise invalid_value("active cannot be removed")
        return replace(data, active=_boolean(operation))
    if target in ("manager", "manager.value"):
        removing = operation.op == "remove"
        return replace(data, manager_id="" if removing else manager_id_of(operation.value))
    if target in IGNORED_USER_ATTRIBUTES or target.split(".")[0] in IGNORED_USER_ATTRIBUTES:
        return data
    if target.split(".")[0] in READ_ONLY:
        raise ScimError(400, f"{target} is read-only", ScimType.MUTABILITY)
    raise ScimError(400, f"no attribute {target}", ScimType.INVALID_PATH)


@dataclass
class GroupChanges:
    """A group PATCH as set operations. `members` is the whole new set when an operation
    replaced it; otherwise `added` and `removed` say what changes."""

    display_name: str | None = None
    external_id: str | None = None
    members: set[str] | None = None
    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)

    def add(self, ids: list[str]) -> None:
        if self.members is not None:
            self.members.update(ids)
        else:
            self.added.update(ids)
            self.removed.difference_update(ids)

    def remove(self, ids: list[str]) -> None:
        if self.members is not None:
            self.members.difference_update(ids)
        else:
            self.removed.update(ids)
            self.added.difference_update(ids)


def group_changes(ops: list[Operation]) -> GroupChanges:
    changes = GroupChanges()
    for operation in ops:
        _apply_group(changes, operation)
    return changes


def _apply_group(changes: GroupChanges, operation: Operation) -> None:
    target, op = operation.target, operation.op
    if target == "displayname":
        if op == "remove" or not _text(operation):
            raise invalid_value("displayName cannot be removed")
        changes.display_name = bounded_text(_text(operation), "displayName")
    elif target == "externalid":
        changes.external_id = bounded_text(_text(operation), "externalId")
    elif target in ("members", "members.value"):
        _apply_members(changes, operation)
    elif target == "id":
        return  # Okta repeats the id in a path-less replace
    elif target.split(".")[0] in READ_ONLY:
        raise ScimError(400, f"{target} is read-only", ScimType.MUTABILITY)
    else:
        raise ScimError(400, f"no attribute {target}", ScimType.INVALID_PATH)


def _apply_members(changes: GroupChanges, operation: Operation) -> None:
    op = operation.op
    if operation.selection is not None:
        if op != "remove":
            raise ScimError(400, "members[...] is only removed", ScimType.INVALID_PATH)
        changes.remove(_selected_ids(operation.selection))
    elif op == "add":
        changes.add(member_ids(operation.value))
    elif op == "replace":
        changes.members = set(member_ids(operation.value))
        changes.added.clear()
        changes.removed.clear()
    elif operation.value is None:  # remove of "members" without a value: all of them
        changes.members = set()
        changes.added.clear()
        changes.removed.clear()
    else:  # Entra ID removes members with a value list instead of a filter
        changes.remove(member_ids(operation.value))


def _selected_ids(selection: Any) -> list[str]:
    """The ids of `value eq "x"` (joined by `or`), what IdPs put in members[...]."""
    terms = selection.terms if isinstance(selection, LogicalExpr) else (selection,)
    if isinstance(selection, LogicalExpr) and selection.op.value != "or":
        raise ScimError(
            400, 'members[...] takes value eq "<id>" joined by or', ScimType.INVALID_FILTER
        )
    ids = []
    for term in terms:
        if not (
            isinstance(term, Comparison)
            and term.attr_path.attr.lower() == "value"
            and term.op == CompareOperator.eq
        ):
            raise ScimError(400, 'members[...] takes value eq "<id>"', ScimType.INVALID_FILTER)
        ids.extend(member_ids([{"value": term.value}]))
    return ids
