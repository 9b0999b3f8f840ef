"""The release step: migrate and grant as the owner, before any eim process starts.

    DATABASE_OWNER_URL=postgres://eim_owner@db/eim DATABASE_URL=postgres://eim_app@db/eim \\
        python deploy/release.py

With DATABASE_OWNER_URL, the migrations run as that role (which then owns every table) and
`manage.py db_grant_app_role` gives DATABASE_URL's role exactly the application's privileges.
Without it, the migrations run as DATABASE_URL's role (the embedded default; a development
database on one role, which the start-up check reports). Start the servers and workers with
`process_environment()`: they never see the owner's URL (docs/database-roles.md).
"""

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
OWNER_URL = "DATABASE_OWNER_URL"


class ReleaseError(Exception):
    pass


def manage(*args: str, env: Mapping[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=dict(env), check=True)


def app_role(env: Mapping[str, str]) -> str:
    """The application's role: the user in DATABASE_URL, on the owner's database."""
    app, owner = urlsplit(env.get("DATABASE_URL", "")), urlsplit(env[OWNER_URL])
    if not app.username:
        raise ReleaseError("with DATABASE_OWNER_URL, DATABASE_URL must name the application's role")
    if (app.hostname, app.port, app.path) != (owner.hostname, owner.port, owner.path):
        raise ReleaseError("DATABASE_URL and DATABASE_OWNER_URL must name the same database")
    if unquote(app.username) == unquote(owner.username or ""):
        raise ReleaseError("DATABASE_URL must be the application's role, not the owner")
    return unquote(app.username)


def owner_environment(env: Mapping[str, str]) -> dict[str, str]:
    owner = {key: value for key, value in env.items() if key != OWNER_URL}
    owner.update(DATABASE_URL=env[OWNER_URL], EIM_DB_POOL="false")
    return owner


def process_environment(env: Mapping[str, str]) -> dict[str, str]:
    """What every eim process starts with: the application's role and no owner credentials."""
    return {key: value for key, value in env.items() if key != OWNER_URL}


def release(env: Mapping[str, str]) -> None:
    if not env.get(OWNER_URL):
        manage("migrate", "--verbosity", "0", env=env)
        return
    role = app_role(env)
    owner = owner_environment(env)
    manage("migrate", "--verbosity", "0", env=owner)
    manage("db_grant_app_role", role, env=owner)


def main() -> None:
    try:
        release(os.environ)
    except ReleaseError as error:
        raise SystemExit(f"release: {error}") from error
    except subprocess.CalledProcessError as error:
        # The step printed its own error above; say which one failed, without our traceback.
        step = " ".join(map(str, error.cmd[1:3]))
        raise SystemExit(f"release: {step} failed (exit {error.returncode})") from None


if __name__ == "__main__":
    main()
