"""A step's stored zip, written record by record, is byte for byte what `zipfile` writes for
the same files, and reads back as they were."""

import hashlib
import io
import zipfile

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
