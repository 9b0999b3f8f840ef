"""A step's stored zip, written record by record, is byte for byte what `zipfile` writes for
the same files, and reads back as they were."""

import hashlib
import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.export import files
from ledger.canonical import canonical_json

_NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_NAMES, st.binary(max_size=3000), max_size=12))
def test_a_bundle_is_the_zip_that_zipfile_writes(members: dict[str, bytes]) -> None:
    made = files.bundle_bytes(members)

    assert made == files._bundle_by_zipfile(members)
    with zipfile.ZipFile(io.BytesIO(made)) as bundle:
        assert bundle.testzip() is None
        assert {i.filename: bundle.read(i) for i in bundle.infolist()} == members


def test_a_bundle_of_eml_files_is_the_zip_that_zipfile_writes() -> None:
    members = {f"eml/{n % 7}/{n}.eml": b"From: a\r\n\r\nbody %d\r\n" % n for n in range(2500)}
    members["eml/0/übersicht.eml"] = b""

    assert files.bundle_bytes(members) == files._bundle_by_zipfile(members)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_NAMES, st.binary(max_size=300), max_size=12))
def test_a_bundle_index_lists_each_file_in_canonical_json(members: dict[str, bytes]) -> None:
    lines = files.bundle_index(members).decode().split("\n")[:-1]

    assert lines == [
        canonical_json(
            {"path": p, "sha256": hashlib.sha256(members[p]).hexdigest(), "size": len(members[p])}
        )
        for p in sorted(members)
    ]


def test_the_manifest_lines_of_stored_bundles_are_their_files_in_canonical_json() -> None:
    steps = [{"eml/1/1.eml": b"one", "eml/1/2.eml": b"two"}, {}, {"eml/2/ü.eml": b""}]
    for part, members in enumerate(steps):
        if members:
            files.put(files.part_name("job", part, files.BUNDLE_INDEX), files.bundle_index(members))

    lines = list(files.bundle_lines("job", parts=len(steps)))

    assert lines == [
        canonical_json(
            {"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
        ).encode()
        for members in steps
        for p, d in sorted(members.items())
    ]


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_NAMES, st.binary(max_size=3000), max_size=12))
def test_a_stored_bundle_reads_back_as_zipfile_reads_it(members: dict[str, bytes]) -> None:
    made = files.bundle_bytes(members)
    with zipfile.ZipFile(io.BytesIO(made)) as bundle:
        read = [(info.filename, bundle.read(info)) for info in bundle.infolist()]

    assert files._stored_members(made) == read


def test_the_bundled_files_of_a_job_are_read_back_part_by_part() -> None:
    steps = [{"eml/1/2.eml": b"two", "eml/1/1.eml": b"one"}, {}, {"eml/2/ü.eml": b"x" * 70000}]
    for part, members in enumerate(steps):
        if members:
            files.put(files.bundle_name("job", part), files.bundle_bytes(members))
    zip64 = io.BytesIO()
    with zipfile.ZipFile(zip64, "w") as bundle:
        bundle.writestr("eml/3/1.eml", b"by zipfile", compress_type=zipfile.ZIP_DEFLATED)
    files.put(files.bundle_name("job", 3), zip64.getvalue())

    read = list(files.bundled("job", parts=4))

    assert read == [
        ("eml/1/1.eml", b"one"),
        ("eml/1/2.eml", b"two"),
        ("eml/2/ü.eml", b"x" * 70000),
        ("eml/3/1.eml", b"by zipfile"),
    ]


def test_a_bundle_member_whose_bytes_changed_is_refused() -> None:
    made = bytearray(files.bundle_bytes({"eml/1/1.eml": b"original text"}))
    made[made.index(b"original")] = ord("O")

    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        files._stored_members(bytes(made))
