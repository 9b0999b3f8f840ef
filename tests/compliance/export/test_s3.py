"""An export written to S3 (django-storages against moto_server on 127.0.0.1): the runner,
the signer and the packager reach the files through the storage API only, the download
verifies, and deleting the export empties its prefix. No export file touches the disk."""

import io
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
from django.conf import settings
from django.test import override_settings

from compliance.export import services
from compliance.export.files import export_storage

# The module's moto server, shared with the archive's S3 tests.
from tests.archive.test_s3_blobs import s3_endpoint  # noqa: F401

from .conftest import World, public_key_file, run_to_end
from .test_verifier import verify

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def s3_exports(s3_endpoint: str, tmp_path: Path):  # noqa: F811
    bucket = f"exports-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=bucket)
    storages = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": bucket, "endpoint_url": s3_endpoint},
        },
    }
    with override_settings(STORAGES=storages):
        from django.core.files.storage import storages as handler

        handler._storages.pop("exports", None)
        yield client, bucket
        handler._storages.pop("exports", None)


def _keys(client, bucket: str) -> list[str]:
    listed = client.list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_an_export_on_s3_is_signed_packaged_and_verified_through_the_storage_api(
    s3_exports, world: World, officer, tmp_path: Path, django_capture_on_commit_callbacks
):
    client, bucket = s3_exports
    job = run_to_end(
        services.export_create(
            user=officer, conversation_ids=[world.channel.pk], formats=["jsonl", "eml", "dat"]
        )
    )
    assert job.state == "done", job.error
    _, stream = services.export_download(user=officer, export_id=str(job.pk))
    zipfile.ZipFile(io.BytesIO(stream.read())).extractall(tmp_path / "got")
    folder = tmp_path / "got" / f"export-{job.pk}"
    keys = _keys(client, bucket)

    assert type(export_storage()).__name__ == "S3Storage"
    assert f"{job.pk}/export/manifest.dsse.json" in keys
    assert f"{job.pk}/export-{job.pk}.zip" in keys
    assert not (tmp_path / "exports").exists()  # the filesystem storage was never used
    code, out = verify(folder, public_key_file(tmp_path))
    assert code == 0, out

    with django_capture_on_commit_callbacks(execute=True):
        services.export_delete(user=officer, export_id=str(job.pk))

    assert _keys(client, bucket) == []
