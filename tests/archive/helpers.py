"""Archive test helpers: reading records back, tampering as a superuser, running the verifier."""

import io
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import factory
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db import ProgrammingError, connection, transaction
from factory.django import DjangoModelFactory

from archive.models import AppendOnlyError, ArchiveRecord
from eim.chat.models import Message
from ledger.canonical import chain_hash

ARCHIVE_TABLES = (
    "archive_archiverecord",
    "archive_archiveblob",
    "archive_checkpoint",
    "archive_verificationrun",
    "archive_verificationstep",
    "archive_archiveblockroot",
)


def new_private_key_pem() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def public_key_of(private_pem: str) -> str:
    """The PEM public key of a PEM private key."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def witness_settings(root: Path) -> list[dict[str, Any]]:
    """EIM_WITNESSES for one witness directory."""
    return [{"BACKEND": "ledger.witness.DirectoryWitness", "OPTIONS": {"root": str(root)}}]


def records() -> list[ArchiveRecord]:
    return list(ArchiveRecord.objects.order_by("seq"))


def content(record: ArchiveRecord) -> dict[str, Any]:
    """What the record says, as hashed."""
    return json.loads(record.canonical)


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def rows(query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


@contextmanager
def triggers_bypassed(*tables: str) -> Iterator[None]:
    """A superuser switching the archive's triggers off, then back on ALWAYS."""
    for table in tables or ARCHIVE_TABLES:
        sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    try:
        yield
    finally:
        for table in tables or ARCHIVE_TABLES:
            sql(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only")
            sql(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate")


def archive_verify(*args: str) -> tuple[int, dict[str, Any]]:
    """Run `archive_verify --json`; returns (exit code, report)."""
    out = io.StringIO()
    try:
        call_command("archive_verify", "--json", *args, stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), json.loads(out.getvalue())
    return 0, json.loads(out.getvalue())


def outcome(write: Callable[[], object]) -> str:
    """'refused' when the archive refused the write (model or trigger), else 'went through'.

    The write runs in its own transaction (a savepoint inside a test transaction), so a refused
    statement leaves the connection usable for the next one.
    """
    try:
        with transaction.atomic():
            write()
    except AppendOnlyError:
        return "refused"
    except ProgrammingError as error:
        if "the archive is append-only" not in str(error):
            raise
        return "refused"
    return "went through"


def at(
    kind: str,
    seq: int | None = None,
    checkpoint: int | None = None,
    blob: str | None = None,
) -> tuple[str, int | None, int | None, str | None]:
    """An expected problem: its kind and where it is."""
    return (kind, seq, checkpoint, blob)


def problems(report: dict[str, Any]) -> list[tuple[str, int | None, int | None, str | None]]:
    """(kind, seq, checkpoint, blob) of every problem, in the order reported."""
    return [at(p["kind"], p["seq"], p["checkpoint"], p["blob"]) for p in report["problems"]]


def rehash_from(seq: int, canonical: str) -> None:
    """A superuser's forgery: replace record `seq`'s content and recompute every hash after it
    (and the archive head), so the chain itself is consistent again."""
    rows = list(
        ArchiveRecord.objects.filter(seq__gte=seq)
        .order_by("seq")
        .values_list("seq", "canonical", "prev_hash")
    )
    prev_hash = rows[0][2]
    forged = [(seq, canonical)] + [(s, text) for s, text, _ in rows[1:]]
    with triggers_bypassed("archive_archiverecord"):
        for record_seq, text in forged:
            record_hash = chain_hash(prev_hash, text)
            sql(
                "UPDATE archive_archiverecord SET canonical = %s, prev_hash = %s, hash = %s "
                "WHERE seq = %s",
                [text, prev_hash, record_hash, record_seq],
            )
            prev_hash = record_hash
    sql("UPDATE archive_archivehead SET last_hash = %s", [prev_hash])


class MessageRowFactory(DjangoModelFactory):
    """A message row written behind the services' back: no outbox event, so no record."""

    class Meta:
        model = Message

    conversation: Any = None
    author: Any = None
    body = "written around the services"
    client_id = factory.LazyFunction(uuid.uuid4)
    seq = factory.LazyAttribute(lambda m: m.conversation.last_seq + 1000)
