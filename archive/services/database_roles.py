"""The application role's grants, given by the owner after every migration.

Run as the owner (`manage.py db_grant_app_role ROLE`, which deploy/release.py runs after
`migrate`). It starts from nothing on every table of the schema and grants exactly what the
application needs, in one transaction, so it is safe to run again and covers tables that later
migrations create:

- every table: SELECT, INSERT, UPDATE, DELETE (the live chat, accounts, sessions, outbox);
- the append-only tables (ledger.append_only): SELECT and INSERT only;
- the counter rows (ledger.append_only.COUNTER_TABLES): SELECT, INSERT and UPDATE;
- sequences: USAGE and SELECT; no TRUNCATE, REFERENCES or TRIGGER anywhere; no EXECUTE on the
  disposal function.

Afterwards it asks the database what the role could still do to the append-only tables (its
memberships count) and fails, rolling everything back, if the answer is anything at all.
"""

import re
from typing import Any

from django.db import connection, transaction
from psycopg import sql

from archive.database_roles import role_findings
from ledger.append_only import APPEND_ONLY_TABLES, COUNTER_TABLES

ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


class RoleGrantError(Exception):
    """The role cannot be made the application's role as asked."""


def app_role_grant(*, role: str) -> list[str]:
    """Give `role` the application's privileges and no more; returns the tables granted."""
    if connection.vendor != "postgresql":
        raise RoleGrantError("database roles exist only on PostgreSQL")
    if not ROLE_NAME.match(role):
        raise RoleGrantError(f"{role!r} is not a role name")
    with transaction.atomic(), connection.cursor() as cursor:
        schema = _check_role(cursor, role)
        tables = _tables(cursor)
        for statement in _statements(role=role, schema=schema, tables=tables):
            cursor.execute(statement.as_string(cursor.connection))
        findings = role_findings(cursor, role=role)
        if findings:
            raise RoleGrantError(f"after the grants, {role} still " + "; ".join(findings))
    return tables


def _check_role(cursor: Any, role: str) -> str:
    cursor.execute("SELECT current_user, current_schema()")
    owner, schema = cursor.fetchone()
    cursor.execute(
        "SELECT rolsuper, pg_has_role(%s, current_user, 'MEMBER') FROM pg_roles WHERE rolname = %s",
        [role, role],
    )
    found = cursor.fetchone()
    if found is None:
        raise RoleGrantError(f"there is no role {role}: CREATE ROLE {role} LOGIN first")
    superuser, member_of_owner = found
    if superuser:
        raise RoleGrantError(f"{role} is a superuser: no grant holds it back")
    if role == owner or member_of_owner:
        raise RoleGrantError(f"{role} is (a member of) {owner}, the owner: use another role")
    return str(schema)


def _tables(cursor: Any) -> list[str]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
    return [row[0] for row in cursor.fetchall()]


def _statements(*, role: str, schema: str, tables: list[str]) -> list[sql.Composable]:
    to = sql.Identifier(role)
    in_schema = sql.Identifier(schema)
    append_only = [t for t in tables if t in APPEND_ONLY_TABLES]
    counters = [t for t in tables if t in COUNTER_TABLES]
    statements: list[sql.Composable] = [
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(in_schema, to),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(in_schema, to),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
            in_schema, to
        ),
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(in_schema, to),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(in_schema, to),
        sql.SQL("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {} FROM {}").format(in_schema, to),
    ]
    if append_only:
        statements.append(
            sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(_names(append_only), to)
        )
    if counters:
        statements.append(sql.SQL("REVOKE DELETE ON {} FROM {}").format(_names(counters), to))
    return statements


def _names(tables: list[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(t) for t in tables)
