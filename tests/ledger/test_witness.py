"""Witnesses keep each checkpoint once and never let it be rewritten unseen."""

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from ledger.checkpoints import CheckpointFormatError, SignedCheckpoint, checkpoint_from_file
from ledger.witness import (
    DirectoryWitness,
    S3ObjectLockWitness,
    WitnessConflictError,
    WitnessError,
)
from tests.archive.test_s3_blobs import s3_endpoint  # noqa: F401 - the moto server fixture

KEPT = b'{"signature":"c2ln","statement":{"tree_size":1000}}'
OTHER = b'{"signature":"b3RoZXI=","statement":{"tree_size":1000}}'


def _checkpoint(**changes: object) -> SignedCheckpoint:
    fields: dict = {
        "ledger": "archive",
        "tree_size": 1000,
        "root_hash": "ab" * 32,
        "head_hash": "cd" * 32,
        "signed_at": "2026-12-04T20:00:00+00:00",
        "key_id": "ef" * 32,
        "signature": "c2lnbmF0dXJl",
        "prev_tree_size": 0,
        "prev_statement_hash": "0" * 64,
    }
    return SignedCheckpoint(**{**fields, **changes})


# --- The directory ---------------------------------------------------------------------------


def test_a_checkpoint_is_written_once_read_only_under_its_ledger_and_size(tmp_path):
    witness = DirectoryWitness(tmp_path)

    witness.put("archive", 1000, KEPT)
    witness.put("archive", 1000, KEPT)  # again, as a retry does: nothing changes

    path = tmp_path / "archive-00000000000000001000.json"
    assert path.read_bytes() == KEPT
    assert path.stat().st_mode & 0o777 == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    assert witness.get("archive", 1000) == KEPT


def test_other_bytes_under_a_kept_name_are_refused_and_the_copy_stays(tmp_path):
    witness = DirectoryWitness(tmp_path)
    witness.put("archive", 1000, KEPT)

    with pytest.raises(WitnessConflictError):
        witness.put("archive", 1000, OTHER)

    assert witness.get("archive", 1000) == KEPT


def test_sizes_lists_one_ledger_only_and_ignores_stray_files(tmp_path):
    witness = DirectoryWitness(tmp_path)
    witness.put("archive", 15, KEPT)
    witness.put("archive", 3, KEPT)
    witness.put("audit", 7, KEPT)
    (tmp_path / ".incoming-abc").write_bytes(b"half written")
    (tmp_path / "archive-12.json").write_bytes(KEPT)

    assert witness.sizes("archive") == [3, 15]
    assert witness.sizes("audit") == [7]


def test_a_directory_that_does_not_exist_holds_nothing(tmp_path):
    witness = DirectoryWitness(tmp_path / "never-made")

    assert (witness.sizes("archive"), witness.get("archive", 1)) == ([], None)


def test_a_directory_that_cannot_be_written_is_a_witness_error(tmp_path):
    blocked = tmp_path / "a-file-not-a-directory"
    blocked.write_bytes(b"")

    with pytest.raises(WitnessError):
        DirectoryWitness(blocked).put("archive", 1, KEPT)


# --- The checkpoint file ---------------------------------------------------------------------


def test_a_checkpoint_file_round_trips_and_names_its_ledger():
    checkpoint = _checkpoint()

    assert checkpoint_from_file(checkpoint.to_file(), ledger="archive") == checkpoint
    with pytest.raises(CheckpointFormatError, match="'archive' ledger, not 'audit'"):
        checkpoint_from_file(checkpoint.to_file(), ledger="audit")


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b'{"statement": {"type": "eim-checkpoint/v2"}, "signature": "x"}',
        _checkpoint(root_hash="not hex").to_file(),
        _checkpoint(tree_size=0).to_file(),
        _checkpoint(prev_tree_size=1000).to_file(),
        _checkpoint().to_file().replace(b'"type"', b'"extra":1,"type"'),
    ],
)
def test_what_is_not_a_checkpoint_file_is_refused(data):
    with pytest.raises(CheckpointFormatError):
        checkpoint_from_file(data, ledger="archive")


# --- S3 with Object Lock (moto) --------------------------------------------------------------


@pytest.fixture
def s3_witness(s3_endpoint: str) -> S3ObjectLockWitness:  # noqa: F811
    bucket = f"witness-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(
        Bucket=bucket, ObjectLockEnabledForBucket=True
    )
    return S3ObjectLockWitness(bucket, retention_days=30, endpoint_url=s3_endpoint)


@pytest.mark.slow
def test_s3_keeps_each_checkpoint_locked_in_compliance_mode(s3_witness):
    s3_witness.put("archive", 1000, KEPT)
    s3_witness.put("archive", 1000, KEPT)

    key = "checkpoints/archive-00000000000000001000.json"
    head = s3_witness.client.head_object(Bucket=s3_witness.bucket, Key=key)
    versions = s3_witness.client.list_object_versions(Bucket=s3_witness.bucket)["Versions"]
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert len(versions) == 1
    assert (s3_witness.get("archive", 1000), s3_witness.sizes("archive")) == (KEPT, [1000])
    with pytest.raises(ClientError, match="AccessDenied"):
        s3_witness.client.delete_object(
            Bucket=s3_witness.bucket, Key=key, VersionId=versions[0]["VersionId"]
        )


@pytest.mark.slow
def test_s3_refuses_other_bytes_and_reports_a_second_version(s3_witness):
    s3_witness.put("archive", 1000, KEPT)

    with pytest.raises(WitnessConflictError):
        s3_witness.put("archive", 1000, OTHER)
    s3_witness.client.put_object(
        Bucket=s3_witness.bucket, Key="checkpoints/archive-00000000000000001000.json", Body=OTHER
    )

    with pytest.raises(WitnessConflictError, match="2 different versions"):
        s3_witness.get("archive", 1000)
