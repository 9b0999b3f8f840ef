"""The Concordance DAT load file read back: its delimiters, one native per message at the
path it names, control numbers in order, and the verifier checking it."""

import email
import email.policy
from pathlib import Path

import pytest

from compliance.export import services
from compliance.export.formats.dat import FIELDS, parse_dat

from .conftest import World, public_key_file, run_to_end, unpacked
from .test_verifier import verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(world: World, officer, tmp_path: Path) -> Path:
    job = run_to_end(
        services.export_create(
            user=officer,
            conversation_ids=[world.channel.pk, world.direct.pk],
            formats=["dat", "jsonl"],
        )
    )
    assert job.state == "done", job.error
    return unpacked(job, tmp_path / "got")


def test_the_load_file_parses_back_with_one_native_per_message(folder: Path, world: World):
    data = (folder / "loadfile.dat").read_bytes()
    documents = parse_dat(data)
    by_message = {d["MESSAGEID"]: d for d in documents}

    assert data.startswith(b"\xef\xbb\xbf\xc3\xbe")  # BOM, then þ
    assert data.split(b"\r\n")[0].count(b"\x14") == len(FIELDS) - 1
    assert list(documents[0]) == list(FIELDS)
    assert [d["BEGDOC"] for d in documents] == [f"EIM{n:08d}" for n in range(1, 6)]
    assert all(d["BEGDOC"] == d["ENDDOC"] for d in documents)
    for document in documents:
        native = folder / document["NATIVEPATH"].replace("\\", "/")
        parsed = email.message_from_bytes(native.read_bytes(), policy=email.policy.default)
        assert parsed["X-EIM-Message-Id"] == document["MESSAGEID"]
        assert not parsed.defects
    assert by_message[str(world.edited.pk)]["TEXT"] == "buy 100 shares of ACME, as agreed"
    assert by_message[str(world.edited.pk)]["EDITED"] == "Y"
    assert by_message[str(world.deleted.pk)]["DELETED"] == "Y"
    assert by_message[str(world.reply.pk)]["THREADPARENT"] == str(world.edited.pk)
    assert by_message[str(world.reply.pk)]["TEXT"] == "株式 取引 — understood, 👍"
    assert by_message[str(world.unrelated.pk)]["CONVERSATIONID"] == str(world.direct.pk)


def test_a_line_break_in_a_message_is_written_as_the_registered_sign(officer, alice, bob, tmp_path):
    from archive.services.archiving import archive_pending
    from archive.services.checkpoints import checkpoint_create
    from tests.factories import ChannelFactory, send

    channel = ChannelFactory(creator=alice, name="notes", members=[bob])
    send(alice, channel, "first line\nsecond line")
    archive_pending()
    checkpoint_create()
    job = run_to_end(
        services.export_create(user=officer, conversation_ids=[channel.pk], formats=["dat"])
    )
    data = (unpacked(job, tmp_path / "got") / "loadfile.dat").read_bytes()

    assert "first line\u00aesecond line".encode() in data
    assert parse_dat(data)[0]["TEXT"] == "first line\nsecond line"


def test_the_verifier_checks_the_load_file_and_names_a_missing_native(folder: Path, tmp_path):
    key = public_key_file(tmp_path)
    code, out = verify(folder, key)
    assert code == 0, out
    assert "load file: 5 documents, each native listed in the manifest" in out

    (folder / "natives" / "EIM00000002.eml").unlink()
    code, out = verify(folder, key)

    assert code == 1
    assert "files: natives/EIM00000002.eml is missing (removed)" in out
