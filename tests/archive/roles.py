"""Test helpers for PostgreSQL roles: a role of this run's own, a connection as that role, and
the exact state of the append-only tables."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection
from psycopg import sql

from ledger.append_only import APPEND_ONLY_TABLES, COUNTER_TABLES


def role_name(kind: str) -> str:
    """Unique per test run and per test: roles live in the whole cluster, not one database."""
    return f"eim_{kind}_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def superuser_sql(statement: str | sql.Composable, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        text = statement if isinstance(statement, str) else statement.as_string(cursor.connection)
        cursor.execute(text, params)


@contextmanager
def database_role(kind: str = "app", *attributes: str) -> Iterator[str]:
    """A LOGIN role created for the test, dropped afterwards with everything granted to it."""
    name = role_name(kind)
    superuser_sql(
        sql.SQL("CREATE ROLE {} LOGIN {}").format(
            sql.Identifier(name), sql.SQL(" ".join(attributes))
        )
    )
    try:
        yield name
    finally:
        superuser_sql(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        superuser_sql(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def connect_as(role: str, dbname: str | None = None) -> psycopg.Connection:
    """A second connection to the test database (or `dbname`), logged in as `role`."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        dbname=dbname or db["NAME"],
        user=role,
        autocommit=True,
    )


def database_url(role: str, dbname: str | None = None) -> str:
    db = connection.settings_dict
    return f"postgres://{role}@{db['HOST']}:{db['PORT']}/{dbname or db['NAME']}"


def protected_state() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the append-only tables and the counter rows, exactly as stored."""
    state = {}
    with connection.cursor() as cursor:
        for table in APPEND_ONLY_TABLES + COUNTER_TABLES:
            cursor.execute(
                sql.SQL("SELECT * FROM {} ORDER BY 1")
                .format(sql.Identifier(table))
                .as_string(cursor.connection)
            )
            state[table] = cursor.fetchall()
    return state


def attempt(conn: psycopg.Connection, *statements: str) -> str:
    """'refused' when PostgreSQL refused one of the statements, run in one transaction that
    commits if none is; 'went through' otherwise."""
    try:
        with conn.transaction():
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]
    except psycopg.errors.InsufficientPrivilege:
        return "refused"
    return "went through"
