"""The sealed archive the tamper suites start from.

Records 1..3 open the channel, 4..15 are messages, checkpoint 15 is signed; 16 carries a file
(17 is its attachment.added), 18 is an edit, 19 a reaction, 20..30 are messages, and
checkpoint 30 is signed. Both checkpoints are kept by a witness directory of its own.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from accounts.models import User
from archive.models import ArchiveRecord
from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create
from eim.chat.models import Conversation
from eim.chat.services.messages import message_edit, reaction_add
from tests.factories import ChannelFactory, UserFactory, send, staged_attachment

EARLY = 8  # a message.new record under both checkpoints
LATE = 22  # a message.new record under the last checkpoint only
LEDGER = b"general ledger, closing balances\n"
REWRITE = "UPDATE archive_archiverecord SET canonical = %s WHERE seq = %s"


@dataclass(frozen=True)
class SealedArchive:
    alice: User
    channel: Conversation
    blob: str
    blob_path: Path
    witness: Path


def seal(blob_root: Path, witness: Path) -> SealedArchive:
    alice, bob = UserFactory(username="sealed-alice"), UserFactory(username="sealed-bob")
    channel = ChannelFactory(creator=alice, members=[bob])
    first = [send(alice, channel, f"message {i}") for i in range(12)]
    archive_pending()
    checkpoint_create()
    ledger = staged_attachment(bob, channel, LEDGER, "ledger.txt")
    send(bob, channel, "the ledger", attachment_ids=[ledger.pk])
    message_edit(user=alice, message_id=first[0].pk, body="message 0, corrected")
    reaction_add(user=bob, message_id=first[1].pk, emoji="ok")
    for i in range(11):
        send(bob, channel, f"reply {i}")
    archive_pending()
    checkpoint_create()
    return SealedArchive(
        alice=alice,
        channel=channel,
        blob=ledger.sha256,
        blob_path=blob_root / ledger.sha256[:2] / ledger.sha256[2:4] / ledger.sha256,
        witness=witness,
    )


def canonical_of(seq: int) -> str:
    return ArchiveRecord.objects.get(seq=seq).canonical


def body_changed(seq: int, new_body: str) -> str:
    """Record `seq`'s canonical content with the message body replaced, still canonical."""
    content = json.loads(canonical_of(seq))
    content["payload"]["message"]["body"] = new_body
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def message_of(seq: int) -> int:
    return ArchiveRecord.objects.get(seq=seq).message_id
