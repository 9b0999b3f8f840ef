"""schemathesis against a live Daphne: every operation of the OpenAPI schema, signed in as the
demo's alice, with examples, edge cases, random and stateful input. It fails on any server
error, any status the schema does not document, and any reply that breaks its schema or
content type. Hooks: tests/api/schemathesis_hooks.py."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.core.management import call_command

from accounts.models import User
from accounts.services.tokens import api_token_create
from tests.conftest import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


def test_every_operation_holds_to_the_schema_under_fuzzing(daphne_server: LiveServer, tmp_path):
    call_command("seed_demo", "--password", "fuzz-pass-1", stdout=io.StringIO())
    token = api_token_create(user=User.objects.get(username="alice"))
    env = dict(os.environ, SCHEMATHESIS_HOOKS="tests.api.schemathesis_hooks", PYTHONPATH=str(ROOT))
    schema = _schema_from(daphne_server, tmp_path)

    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            str(schema),
            "--url",
            daphne_server.http_url,
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            "8",
            "--seed",
            "14",
            "--no-shrink",
            "--output-truncate",
            "true",
            "--request-timeout",
            "20",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )

    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", run.stdout)
    assert selected is not None
    assert selected[1] == selected[2]


def _schema_from(server: LiveServer, folder: Path) -> Path:
    """The live server's own schema, fetched here with a generous timeout: schemathesis gives
    a schema URL 10 s, which a busy machine's first drf-spectacular generation can exceed."""
    reply = requests.get(f"{server.http_url}/api/v1/schema/?format=json", timeout=120)
    reply.raise_for_status()
    path = folder / "schema.json"
    path.write_bytes(reply.content)
    return path
