"""The start-up check: a process on PostgreSQL whose role could change the append-only tables
says so loudly, and refuses to start in production (EIM_DEBUG off) unless
EIM_ALLOW_PRIVILEGED_DATABASE_ROLE is set (docs/database-roles.md)."""

from collections.abc import Sequence
from typing import Any

import psycopg
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.db import connections

from .database_roles import connected_role_findings

HINT = (
    "Run eim as a role that may only add to them: set DATABASE_OWNER_URL to the owner and "
    "DATABASE_URL to the application's role, and run deploy/release.py "
    "(docs/database-roles.md). EIM_ALLOW_PRIVILEGED_DATABASE_ROLE=true starts anyway."
)


def database_role_check(
    app_configs: Any = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if "default" not in (databases or ()) or connections["default"].vendor != "postgresql":
        return []
    try:
        role, findings = connected_role_findings("default")
    except psycopg.Error as error:
        return [_message(f"could not check the database role: {error}".strip(), "E002")]
    if not findings:
        return []
    text = f"the database role {role} can change the append-only tables: it " + "; ".join(findings)
    return [_message(text, "E001")]


def _message(text: str, code: str) -> CheckMessage:
    if settings.DEBUG or settings.EIM_ALLOW_PRIVILEGED_DATABASE_ROLE:
        return Warning(text, hint=HINT, id=f"archive.W{code[1:]}")
    return Error(text, hint=HINT, id=f"archive.{code}")
