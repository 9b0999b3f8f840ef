"""The export's prover keeps the roots of complete blocks of records (ArchiveBlockRoot) and
trusts none of them: an export made from kept roots is the one made without them, byte for
byte, in one process or in step processes; a kept root that lies, or a block whose records
no longer hash to its kept root, fails the export instead of proving it. Blocks of 4 records
here, so that the world's archive has several."""

from pathlib import Path

import pytest
from django.test import override_settings

from accounts.models import User
from archive import proofs
from archive.models import ArchiveBlockRoot
from compliance.export import services
from ledger.canonical import chain_hash
from tests.archive.helpers import rows, sql, triggers_bypassed

from .conftest import World, run_to_end, unpacked
from .test_resume import contents

# The parallel run starts child processes, which read what the test committed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(360)]

PARALLEL = {"EIM_EXPORT_WORKERS": 2, "EIM_EXPORT_PARALLEL_FROM": 0, "EIM_EXPORT_CHUNK": 3}


@pytest.fixture(autouse=True)
def blocks_of_four(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proofs, "PROVER_BLOCK", 4)


def test_an_export_from_kept_roots_is_the_export_without_them(
    world: World, officer: User, tmp_path: Path
):
    asked = {"conversation_ids": [world.channel.pk], "formats": ["jsonl", "csv"]}
    assert not ArchiveBlockRoot.objects.exists()
    first = run_to_end(services.export_create(user=officer, **asked))
    kept = ArchiveBlockRoot.objects.count()

    with override_settings(**PARALLEL):
        again = run_to_end(services.export_create(user=officer, **asked))

    assert kept == first.tree_size // 4 > 1
    assert (first.state, again.state) == ("done", "done")
    assert contents(unpacked(again, tmp_path / "b")) == contents(unpacked(first, tmp_path / "a"))


def test_a_kept_root_that_lies_fails_the_export(world: World, officer: User):
    ArchiveBlockRoot.objects.create(first_seq=5, last_seq=8, root_hash="ab" * 32)

    job = run_to_end(services.export_create(user=officer, conversation_ids=[world.channel.pk]))

    assert job.state == "failed"
    assert "signed root" in job.error


def test_records_that_no_longer_hash_to_their_kept_root_fail_the_export(
    world: World, officer: User
):
    asked = {"conversation_ids": [world.channel.pk, world.direct.pk]}
    assert run_to_end(services.export_create(user=officer, **asked)).state == "done"
    # Record 6 rewritten with a hash that matches its new text: only the block's root, kept
    # from before, and the signed checkpoint can tell.
    (prev_hash, canonical), *_ = rows(
        "SELECT prev_hash, canonical FROM archive_archiverecord WHERE seq = 6"
    )
    rewritten = canonical.replace('"archived_at":"', '"archived_at":"1', 1)
    with triggers_bypassed("archive_archiverecord"):
        sql(
            "UPDATE archive_archiverecord SET canonical = %s, hash = %s WHERE seq = 6",
            [rewritten, chain_hash(prev_hash, rewritten)],
        )

    with override_settings(**PARALLEL):
        job = run_to_end(services.export_create(user=officer, **asked))

    assert job.state == "failed"
    assert "do not hash to their block's root" in job.error
