"""The S3 Object Lock blob store against a real S3 endpoint (moto_server on 127.0.0.1).

moto refuses to delete a version locked in COMPLIANCE mode, as S3 does, but it lets anyone
shorten a retention period; the store must refuse that itself.
"""

import hashlib
import io
import subprocess
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from django.test import override_settings
from django.utils import timezone

from archive.blobs import (
    BlobIntegrityError,
    RetentionShorteningError,
    S3ObjectLockBlobStore,
)
from archive.models import ArchiveBlob
from archive.services.archiving import archive_pending
from tests.archive.helpers import archive_verify, problems
from tests.conftest import ROOT, free_port, wait_for_port
from tests.factories import ChannelFactory, send, staged_attachment

pytestmark = pytest.mark.slow

CONTRACT = b"master services agreement, signed copy\n"
CONTRACT_SHA256 = hashlib.sha256(CONTRACT).hexdigest()
RETENTION_DAYS = 30


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A moto S3 server of this module's own, with dummy credentials in the environment."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.delenv("AWS_PROFILE", raising=False)
        try:
            wait_for_port(port)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    name = f"archive-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(
        Bucket=name, ObjectLockEnabledForBucket=True
    )
    return name


@pytest.fixture
def store(s3_endpoint: str, bucket: str) -> S3ObjectLockBlobStore:
    return S3ObjectLockBlobStore(bucket, retention_days=RETENTION_DAYS, endpoint_url=s3_endpoint)


def _lock(store: S3ObjectLockBlobStore, sha256: str) -> tuple:
    """(mode, retain-until) of the blob's current version, as the server reports them."""
    head = store.client.head_object(Bucket=store.bucket, Key=f"blobs/{sha256}")
    return head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]


def _versions(store: S3ObjectLockBlobStore) -> list[str]:
    listed = store.client.list_object_versions(Bucket=store.bucket)
    return [v["VersionId"] for v in listed.get("Versions", [])]


def test_put_stores_the_blob_locked_in_compliance_mode_until_the_retention_date(store):
    before = timezone.now()

    stored = store.put(CONTRACT_SHA256, io.BytesIO(CONTRACT))

    expected = before + timedelta(days=RETENTION_DAYS)
    assert (stored.sha256, stored.size) == (CONTRACT_SHA256, len(CONTRACT))
    assert _lock(store, CONTRACT_SHA256) == ("COMPLIANCE", stored.locked_until)
    assert _versions(store) == [stored.version_id]
    assert abs(stored.locked_until - expected) < timedelta(minutes=1)
    with store.open(CONTRACT_SHA256) as stream:
        assert stream.read() == CONTRACT


def test_deleting_a_locked_version_is_refused_by_the_server(store):
    stored = store.put(CONTRACT_SHA256, io.BytesIO(CONTRACT))

    with pytest.raises(ClientError, match="AccessDenied"):
        store.client.delete_object(
            Bucket=store.bucket,
            Key=f"blobs/{CONTRACT_SHA256}",
            VersionId=stored.version_id,
            BypassGovernanceRetention=True,
        )

    assert _versions(store) == [stored.version_id]
    assert store.exists(CONTRACT_SHA256)


def test_the_retention_can_be_extended(store):
    stored = store.put(CONTRACT_SHA256, io.BytesIO(CONTRACT))
    later = stored.locked_until + timedelta(days=365)

    store.extend_retention(CONTRACT_SHA256, later)

    assert _lock(store, CONTRACT_SHA256) == ("COMPLIANCE", later)


@pytest.mark.parametrize("earlier_by", [timedelta(days=1), timedelta(seconds=1), timedelta(0)])
def test_the_retention_is_never_shortened(store, earlier_by):
    stored = store.put(CONTRACT_SHA256, io.BytesIO(CONTRACT))

    with pytest.raises(RetentionShorteningError):
        store.extend_retention(CONTRACT_SHA256, stored.locked_until - earlier_by)

    assert _lock(store, CONTRACT_SHA256) == ("COMPLIANCE", stored.locked_until)


def test_bytes_that_do_not_match_their_name_are_refused_and_not_uploaded(store):
    with pytest.raises(BlobIntegrityError):
        store.put(CONTRACT_SHA256, io.BytesIO(CONTRACT + b"and an addendum\n"))

    assert not store.exists(CONTRACT_SHA256)
    assert _versions(store) == []


def test_the_same_blob_put_twice_is_stored_once(store):
    first = store.put(CONTRACT_SHA256, io.BytesIO(CONTRACT))

    again = store.put(CONTRACT_SHA256, io.BytesIO(CONTRACT))

    assert _versions(store) == [first.version_id]
    assert (again.version_id, again.size, again.locked_until) == (
        first.version_id,
        first.size,
        first.locked_until,
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("archive_key")
def test_archived_attachments_go_to_the_locked_bucket_and_verify(
    s3_endpoint, bucket, alice, tmp_path: Path
):
    options = {"bucket": bucket, "endpoint_url": s3_endpoint, "retention_days": RETENTION_DAYS}
    s3 = {"BACKEND": "archive.blobs.S3ObjectLockBlobStore", "OPTIONS": options}
    channel = ChannelFactory(creator=alice)
    upload = staged_attachment(alice, channel, CONTRACT, "contract.txt")
    send(alice, channel, "the signed contract", attachment_ids=[upload.pk])

    with override_settings(EIM_ARCHIVE_BLOB_STORE=s3):
        archive_pending()
        code, report = archive_verify()

    blob = ArchiveBlob.objects.get()
    store = S3ObjectLockBlobStore(bucket, retention_days=RETENTION_DAYS, endpoint_url=s3_endpoint)
    assert (code, problems(report), report["blobs"]) == (0, [], 1)
    assert blob.sha256 == CONTRACT_SHA256
    assert blob.version_id == _versions(store)[0]
    assert _lock(store, CONTRACT_SHA256) == ("COMPLIANCE", blob.locked_until)
