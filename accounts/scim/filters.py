"""SCIM filters (RFC 7644 §3.4.2.2) translated to ORM queries, never evaluated in Python.

scim2-models parses the filter into a tree; each comparison becomes a `Q` on the column the
attribute is stored in. Attributes a filter may name are listed per resource type; any other
is refused with invalidFilter (RFC 7644 §3.4.2.2 lets a provider refuse what it cannot
filter on), rather than silently matching nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Exists, OuterRef, Q
from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from accounts.models import GroupMembership

from .errors import ScimError, ScimType
from .schemas import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA


@dataclass(frozen=True)
class Column:
    """Where an attribute lives, and how its values compare (RFC 7643 caseExact)."""

    field: str
    kind: str = "string"  # string | boolean | datetime | id
    case_exact: bool = False


USER_COLUMNS: dict[str, Column] = {
    "id": Column("pk", "id"),
    "username": Column("username"),
    "externalid": Column("scim__external_id", case_exact=True),
    "displayname": Column("display_name"),
    "active": Column("is_active", "boolean"),
    "name.givenname": Column("first_name"),
    "name.familyname": Column("last_name"),
    "emails": Column("email"),
    "emails.value": Column("email"),
    "meta.created": Column("date_joined", "datetime"),
    "meta.lastmodified": Column("scim__last_modified", "datetime"),
    "department": Column("scim__department"),
    "employeenumber": Column("scim__employee_number"),
    "manager": Column("scim__manager_id", "id"),
    "manager.value": Column("scim__manager_id", "id"),
}

GROUP_COLUMNS: dict[str, Column] = {
    "id": Column("pk", "id"),
    "displayname": Column("display_name"),
    "externalid": Column("external_id", case_exact=True),
    "meta.created": Column("created_at", "datetime"),
    "meta.lastmodified": Column("scim__last_modified", "datetime"),
}

_SCHEMAS = {USER_SCHEMA.lower(), GROUP_SCHEMA.lower(), ENTERPRISE_USER.lower()}

_STRING_LOOKUPS = {
    CompareOperator.eq: "exact",
    CompareOperator.co: "contains",
    CompareOperator.sw: "startswith",
    CompareOperator.ew: "endswith",
}
_ORDER_LOOKUPS = {
    CompareOperator.gt: "gt",
    CompareOperator.ge: "gte",
    CompareOperator.lt: "lt",
    CompareOperator.le: "lte",
}


def parse_filter(text: str) -> FilterNode:
    try:
        return ScimFilter(text).ast
    except (InvalidFilterException, ValueError) as exc:
        raise ScimError(400, f"invalid filter: {exc}", ScimType.INVALID_FILTER) from exc


def user_filter_q(text: str) -> Q:
    return _Translator(USER_COLUMNS, members=False).visit(parse_filter(text))


def group_filter_q(text: str) -> Q:
    return _Translator(GROUP_COLUMNS, members=True).visit(parse_filter(text))


def _refuse(detail: str) -> ScimError:
    return ScimError(400, detail, ScimType.INVALID_FILTER)


class _Translator:
    def __init__(self, columns: dict[str, Column], *, members: bool) -> None:
        self.columns = columns
        self.members = members

    def visit(self, node: FilterNode) -> Q:
        if isinstance(node, LogicalExpr):
            join: Callable[[Q, Q], Q] = Q.__and__ if node.op == LogicalOperator.and_ else Q.__or__
            result = self.visit(node.terms[0])
            for term in node.terms[1:]:
                result = join(result, self.visit(term))
            return result
        if isinstance(node, Not):
            return ~self.visit(node.expr)
        if isinstance(node, ValuePath):
            return self._value_path(node)
        if isinstance(node, Present):
            return self._present(node.attr_path)
        if isinstance(node, Comparison):
            return self._comparison(node.attr_path, node.op, node.value)
        raise _refuse("unsupported filter expression")

    def _column(self, attr_path: AttrPath) -> Column:
        if attr_path.uri is not None and attr_path.uri.lower() not in _SCHEMAS:
            raise _refuse(f"unknown schema {attr_path.uri}")
        name = attr_path.attr.lower()
        if attr_path.sub_attr:
            name = f"{name}.{attr_path.sub_attr.lower()}"
        column = self.columns.get(name)
        if column is None:
            raise _refuse(f"cannot filter on {attr_path}")
        return column

    def _present(self, attr_path: AttrPath) -> Q:
        if self.members and attr_path.attr.lower() == "members":
            return Q(Exists(GroupMembership.objects.filter(group_id=OuterRef("pk"))))
        column = self._column(attr_path)
        if column.kind == "string":
            return Q(**{f"{column.field}__isnull": False}) & ~Q(**{column.field: ""})
        return Q(**{f"{column.field}__isnull": False})

    def _comparison(self, attr_path: AttrPath, op: CompareOperator, value: object) -> Q:
        if self.members and attr_path.attr.lower() == "members":
            return self._members(attr_path.sub_attr or "value", op, value)
        column = self._column(attr_path)
        if op == CompareOperator.ne:
            return ~self._comparison(attr_path, CompareOperator.eq, value) | Q(
                **{f"{column.field}__isnull": True}
            )
        if value is None:
            raise _refuse(f"{attr_path} cannot be compared with null")
        converted = _convert(column, op, value)
        if converted is None:
            return Q(pk__in=[])  # an id that cannot exist, e.g. id eq "abc": matches nothing
        lookup = _ORDER_LOOKUPS.get(op) or _STRING_LOOKUPS[op]
        if column.kind == "string" and not column.case_exact and op in _STRING_LOOKUPS:
            lookup = "i" + lookup  # gt/lt/ge/le compare strings as PostgreSQL collates them
        return Q(**{f"{column.field}__{lookup}": converted})

    def _value_path(self, node: ValuePath) -> Q:
        if not (self.members and node.attr_path.attr.lower() == "members"):
            if node.attr_path.attr.lower() == "emails":
                return self._emails(node.val_filter)
            raise _refuse(f"cannot filter on {node.attr_path}[...]")
        inner = node.val_filter
        if not isinstance(inner, Comparison) or inner.attr_path.attr.lower() != "value":
            raise _refuse('members[...] takes value eq "<id>"')
        return self._members("value", inner.op, inner.value)

    def _emails(self, inner: FilterNode) -> Q:
        # Only the work e-mail is kept: `emails[type eq "work"]` and `emails[value eq "x"]`.
        if isinstance(inner, Comparison) and inner.attr_path.attr.lower() == "value":
            return self._comparison(AttrPath("emails"), inner.op, inner.value)
        if isinstance(inner, Comparison) and inner.attr_path.attr.lower() == "type":
            return self._present(AttrPath("emails"))
        raise _refuse("emails[...] takes value or type")

    def _members(self, sub_attr: str, op: CompareOperator, value: object) -> Q:
        if sub_attr.lower() != "value" or op != CompareOperator.eq:
            raise _refuse('members takes only members[value eq "<id>"]')
        user_id = _as_id(value)
        if user_id is None:
            return Q(pk__in=[])
        return Q(Exists(GroupMembership.objects.filter(group_id=OuterRef("pk"), user_id=user_id)))


def _as_id(value: object) -> int | None:
    text = str(value)
    return int(text) if text.isdigit() and len(text) < 19 else None


def _convert(column: Column, op: CompareOperator, value: object) -> object:
    if column.kind == "boolean":
        if op != CompareOperator.eq or not isinstance(value, bool):
            raise _refuse("a boolean attribute takes eq true or eq false")
        return value
    if column.kind == "datetime":
        if op in _STRING_LOOKUPS and op != CompareOperator.eq:
            raise _refuse("a dateTime takes eq, gt, ge, lt or le")
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise _refuse(f"not a dateTime: {value}") from exc
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if column.kind == "id":
        if op != CompareOperator.eq:
            raise _refuse("an id takes only eq")
        return _as_id(value)
    return str(value)
