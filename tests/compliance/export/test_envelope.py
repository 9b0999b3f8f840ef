"""The manifest's signature (compliance/export/manifest.py): the envelope written as a
stream is the envelope, and the signer refuses a manifest that is not the run's."""

import hashlib
import io
import json

import pytest

from compliance.export import runner, services
from compliance.export.files import export_name, export_storage
from compliance.export.manifest import (
    ENVELOPE,
    MANIFEST,
    PAYLOAD_TYPE,
    envelope_sign,
    envelope_sign_stream,
    pae,
)
from compliance.export.models import ExportState
from ledger import signing

BODIES = [
    b"",
    b"{}",
    b'{"files":[{"path":"eml/1/1.eml"}]}' * 7,
    bytes(range(256)) * ((3 << 20) // 256) + b"tail",  # past one base64 block, not a multiple of 3
    b"x" * (3 << 20),  # exactly one block
]


def _streamed(body: bytes) -> bytes:
    target = io.BytesIO()
    envelope_sign_stream(io.BytesIO(body), len(body), hashlib.sha256(body).hexdigest(), target)
    return target.getvalue()


@pytest.mark.parametrize("body", BODIES, ids=lambda b: f"{len(b)} bytes")
def test_the_streamed_envelope_is_the_envelope(body: bytes) -> None:
    streamed = _streamed(body)

    assert streamed == envelope_sign(body)
    envelope = json.loads(streamed)
    assert envelope["payloadType"] == PAYLOAD_TYPE
    assert envelope["signatures"][0]["keyid"] == signing.key_id()
    assert signing.signature_valid(
        signing.signing_key().public_key(),
        pae(PAYLOAD_TYPE, body),
        envelope["signatures"][0]["sig"],
    )


@pytest.mark.parametrize(
    ("source", "size", "digest_of"),
    [
        (b"manifest, changed", 17, b"manifest, as run"),  # another body
        (b"manifest", 9, b"manifest"),  # shorter than said
        (b"manifest, longer", 8, b"manifest"),  # longer than said
    ],
    ids=["changed", "short", "long"],
)
def test_a_body_that_is_not_the_committed_one_is_refused_unsigned(
    source: bytes, size: int, digest_of: bytes
) -> None:
    target = io.BytesIO()
    with pytest.raises(ValueError, match="not the one its run committed"):
        envelope_sign_stream(
            io.BytesIO(source), size, hashlib.sha256(digest_of).hexdigest(), target
        )
    assert target.getvalue() == b""


def test_the_signer_refuses_a_manifest_changed_after_the_run(world, officer) -> None:
    """An insider with the export storage rewrites manifest.json between the run and the
    signer: nothing is signed and the job stays where it was."""
    job = services.export_create(user=officer, conversation_ids=[world.channel.pk])
    runner.export_run(job_id=str(job.pk))
    storage, name = export_storage(), export_name(str(job.pk), MANIFEST)
    with storage.open(name, "rb") as stream:
        body = stream.read()
    storage.delete(name)
    storage.save(name, io.BytesIO(body.replace(b'"files":[', b'"files":[ ', 1)))

    with pytest.raises(RuntimeError, match="not the one its run committed"):
        services.export_sign(job_id=str(job.pk))

    job.refresh_from_db()
    assert job.state == ExportState.SIGNING
    assert not storage.exists(export_name(str(job.pk), ENVELOPE))
