"""A database superuser rewrites a message's archived text and leaves its hash alone: the
proofs (which prove the hash) would still pass, so every export path checks that each record's
text hashes, chained to the one before it, to its hash, and stops the export naming the
record, rather than write the rewritten text into a CSV row, an EML or a JSON line."""

import pytest
from django.test import override_settings

from accounts.models import User
from compliance.export import services
from compliance.export.files import export_name, export_storage, zip_name
from tests.archive.helpers import rows, sql, triggers_bypassed

from .conftest import World, run_to_end

# The step processes read what the test committed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(360)]

PARALLEL = {
    "EIM_EXPORT_WORKERS": 2,
    "EIM_EXPORT_PARALLEL_FROM": 0,
    "EIM_EXPORT_CHUNK": 3,
    "EIM_EXPORT_COMMIT_EVERY": 0,
}


def _rewrite(world: World) -> int:
    """The superuser's rewrite: the instruction to trade becomes an instruction not to."""
    (seq,) = rows(
        "SELECT seq FROM archive_archiverecord WHERE canonical LIKE %s AND event_type = %s",
        ["%buy 100 shares of ACME before the announcement%", "message.new"],
    )[0]
    with triggers_bypassed("archive_archiverecord"):
        sql(
            "UPDATE archive_archiverecord SET canonical = replace(canonical, 'buy 100', "
            "'do not buy') WHERE seq = %s",
            [seq],
        )
    return int(seq)


@pytest.mark.parametrize(
    "formats", [["csv"], ["jsonl"], ["eml", "rsmf"]], ids=["csv", "jsonl-copied", "eml-rsmf"]
)
@pytest.mark.parametrize("by_conversation", [True, False], ids=["by-conversation", "frozen-rows"])
@pytest.mark.parametrize("workers", [{}, PARALLEL], ids=["serial", "parallel"])
def test_a_message_rewritten_in_the_database_stops_every_export_of_it(
    world: World,
    officer: User,
    formats: list[str],
    by_conversation: bool,
    workers: dict[str, int],
):
    seq = _rewrite(world)
    asked = {"conversation_ids": [world.channel.pk], "formats": formats}

    with override_settings(**workers, EIM_EXPORT_CONVERSATION_SCOPES=by_conversation):
        job = run_to_end(services.export_create(user=officer, **asked))

    assert job.state == "failed"
    assert f"record {seq}'s content no longer hashes to its hash" in job.error
    assert "archive_verify" in job.error
    # Nothing to hand anyone: no manifest, no signature, no download.
    assert not export_storage().exists(export_name(str(job.pk), "manifest.json"))
    assert not export_storage().exists(zip_name(str(job.pk)))
