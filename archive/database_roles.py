"""What a PostgreSQL role could do to the append-only tables (ledger.append_only).

The application's role may INSERT and SELECT them and nothing more: it owns none of them (an
owner can switch their triggers off), holds no UPDATE, DELETE or TRUNCATE on them, owns neither
their schema nor the database (either could drop them), cannot create roles (a CREATEROLE role
can make itself a member of the owner), and may not call the disposal function. The start-up
check, /healthz and the grant command's own verification all ask `role_findings`.
"""

from typing import Any

import psycopg
from django.db import connection, connections
from psycopg import sql

from ledger.append_only import APPEND_ONLY_TABLES, COUNTER_TABLES

DISPOSE_FUNCTION = "archive_records_dispose(bigint[])"
# Migration archive/0002's trigger let any session that set this delete archive records.
SETTING_DOOR = "eim.archive_disposal"
SUPERUSER = "is a superuser: can bypass every trigger and grant"

_TABLES = """
SELECT t.name, n.nspname,
       pg_has_role(%(role)s, c.relowner, 'MEMBER'),
       pg_has_role(%(role)s, n.nspowner, 'MEMBER'),
       has_any_column_privilege(%(role)s, c.oid, 'UPDATE'),
       has_table_privilege(%(role)s, c.oid, 'DELETE'),
       has_table_privilege(%(role)s, c.oid, 'TRUNCATE')
FROM unnest(%(tables)s::text[]) WITH ORDINALITY AS t(name, position)
JOIN pg_class c ON c.oid = to_regclass(t.name)
JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY t.position
"""


def role_findings(cursor: Any, *, role: str | None = None) -> list[str]:
    """Every way `role` (by default the connected one) could change or remove rows of the
    append-only tables; empty when it can only add and read them. `cursor` is any DB-API
    cursor on the database (Django's or psycopg's)."""
    if role is None:
        cursor.execute("SELECT current_user")
        role = str(cursor.fetchone()[0])
    attributes = _attribute_findings(cursor, role)
    if attributes and attributes[0] == SUPERUSER:
        return [SUPERUSER]  # the rest follows
    return [
        *attributes,
        *_table_findings(cursor, role),
        *_door_findings(cursor, role),
    ]


def _attribute_findings(cursor: Any, role: str) -> list[str]:
    cursor.execute("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = %s", [role])
    superuser, createrole = cursor.fetchone()
    cursor.execute(
        "SELECT pg_has_role(%s, datdba, 'MEMBER') FROM pg_database "
        "WHERE datname = current_database()",
        [role],
    )
    (owns_database,) = cursor.fetchone()
    findings = []
    if superuser:
        findings.append(SUPERUSER)
    if createrole:
        findings.append("may create roles (CREATEROLE): can make itself a member of the owner")
    if owns_database:
        findings.append("owns the database: can drop it with the archive")
    return findings


def _table_findings(cursor: Any, role: str) -> list[str]:
    tables = list(APPEND_ONLY_TABLES + COUNTER_TABLES)
    cursor.execute(_TABLES, {"role": role, "tables": tables})
    findings: list[str] = []
    for table, schema, owns, owns_schema, update, delete, truncate in cursor.fetchall():
        schema_finding = f"owns the schema {schema}: can drop its tables"
        if owns_schema and schema_finding not in findings:
            findings.append(schema_finding)
        if owns:
            trigger = ": can switch its triggers off" if table in APPEND_ONLY_TABLES else ""
            findings.append(f"owns {table}{trigger}")
        if update and table in APPEND_ONLY_TABLES:
            findings.append(f"may UPDATE {table}")
        if delete:
            findings.append(f"may DELETE rows of {table}")
        if truncate:
            findings.append(f"may TRUNCATE {table}")
    return findings


def _door_findings(cursor: Any, role: str) -> list[str]:
    cursor.execute(
        "SELECT position(%s in prosrc) > 0 FROM pg_proc "
        "WHERE oid = to_regprocedure('archive_refuse_change()')",
        [SETTING_DOOR],
    )
    door = cursor.fetchone()
    cursor.execute(
        "SELECT has_function_privilege(%s, to_regprocedure(%s), 'EXECUTE') "
        "WHERE to_regprocedure(%s) IS NOT NULL",
        [role, DISPOSE_FUNCTION, DISPOSE_FUNCTION],
    )
    dispose = cursor.fetchone()
    findings = []
    if door and door[0]:
        findings.append(
            f"any session may delete archive records after SET {SETTING_DOOR} "
            "(the database predates archive/0005: run the migrations)"
        )
    if dispose and dispose[0]:
        findings.append(f"may EXECUTE {DISPOSE_FUNCTION}: can delete archive records")
    return findings


def connected_role_findings(alias: str = "default") -> tuple[str, list[str]]:
    """(role, findings) for the role the settings connect as, on a connection of its own:
    never one of Django's pool, which a Celery worker would otherwise hand to its children."""
    wrapper = connections[alias]
    params = wrapper.get_connection_params()
    assume_role = wrapper.settings_dict.get("OPTIONS", {}).get("assume_role")
    with psycopg.connect(**params, autocommit=True) as conn, conn.cursor() as cursor:
        if assume_role:
            cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(assume_role)))
        role = conn.info.user if not assume_role else str(assume_role)
        return role, role_findings(cursor, role=role)


def database_role_status() -> dict[str, Any]:
    """The /healthz section: the connected role and what it could change."""
    if connection.vendor != "postgresql":
        return {
            "checked": False,
            "note": "no database roles on SQLite: triggers only (docs/database-roles.md)",
        }
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        role = str(cursor.fetchone()[0])
        findings = role_findings(cursor, role=role)
    return {
        "checked": True,
        "role": role,
        "can_change_append_only_tables": bool(findings),
        "findings": findings,
    }
