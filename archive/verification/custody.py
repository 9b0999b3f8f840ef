"""The checkpoints' custody: the database's copy of each checkpoint against every witness's.

The witnesses are listed before the database snapshot is taken. A checkpoint row commits before
its witness copies are written, so every checkpoint a witness listed is in the snapshot unless
someone removed it; a row whose copies are still on their way is given
EIM_ARCHIVE_WITNESS_GRACE before it counts as missing.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ledger import signing
from ledger.checkpoints import CheckpointFormatError, SignedCheckpoint, checkpoint_from_file
from ledger.witness import Witness, WitnessError

from ..models import Checkpoint
from ..services.checkpoints import LEDGER, signed_checkpoint
from .report import Report


@dataclass
class WitnessView:
    """What each witness listed when verification began, and its copies as read."""

    witnesses: list[Witness]
    listed: dict[str, set[int]] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)
    _copies: dict[tuple[str, int], SignedCheckpoint | str] = field(default_factory=dict)

    @classmethod
    def read(cls, witnesses: list[Witness]) -> "WitnessView":
        view = cls(witnesses)
        for witness in witnesses:
            try:
                view.listed[witness.name] = set(witness.sizes(LEDGER))
            except WitnessError as error:
                view.listed[witness.name] = set()
                view.unreachable[witness.name] = str(error)
        return view

    def sizes(self) -> set[int]:
        return set().union(*self.listed.values()) if self.listed else set()

    def copy(self, witness: Witness, size: int) -> SignedCheckpoint | str | None:
        """The witness's copy of checkpoint `size`; a string says why it is unreadable; None
        when the witness did not list it."""
        if size not in self.listed[witness.name]:
            return None
        if (witness.name, size) not in self._copies:
            self._copies[witness.name, size] = self._read(witness, size)
        return self._copies[witness.name, size]

    @staticmethod
    def _read(witness: Witness, size: int) -> SignedCheckpoint | str:
        try:
            data = witness.get(LEDGER, size)
            if data is None:
                return "gone since it was listed"
            copy = checkpoint_from_file(data, ledger=LEDGER)
        except (WitnessError, CheckpointFormatError) as error:
            return str(error)
        if copy.tree_size != size:
            return f"it holds checkpoint {copy.tree_size} under this name"
        return copy


@dataclass(frozen=True)
class Custody:
    view: WitnessView
    now: datetime
    grace: timedelta
    keys: signing.KeyRing


def report_unreachable(custody: Custody, report: Report) -> None:
    for name, error in custody.view.unreachable.items():
        report.add("witness", f"witness {name} could not be read: {error}")


def copies_of(
    size: int, row: Checkpoint | None, custody: Custody, report: Report
) -> list[SignedCheckpoint]:
    """Compare the database's checkpoint `size` with every witness's copy; returns the distinct
    copies (witnessed ones first), each to be checked against the records."""
    ours = signed_checkpoint(row) if row is not None else None
    copies: list[SignedCheckpoint] = []
    for witness in custody.view.witnesses:
        if witness.name in custody.view.unreachable:
            continue
        copy = custody.view.copy(witness, size)
        if isinstance(copy, str):
            report.add(
                "witness", f"witness {witness.name}'s copy is unreadable: {copy}", checkpoint=size
            )
        elif copy is None:
            if row is not None and row.signed_at < custody.now - custody.grace:
                report.add("witness", f"missing from witness {witness.name}", checkpoint=size)
        else:
            if ours is not None and copy != ours:
                differing = ", ".join(ours.differences(copy))
                report.add(
                    "witness",
                    f"the database's copy differs from witness {witness.name}'s in {differing}",
                    checkpoint=size,
                )
            if copy not in copies:
                copies.append(copy)
    if ours is None and copies:
        report.add(
            "witness",
            "kept by the witnesses but missing from the database (removed)",
            checkpoint=size,
        )
    if ours is not None and ours not in copies:
        copies.append(ours)
    return copies


def check_signature(copy: SignedCheckpoint, keys: signing.KeyRing, report: Report) -> bool:
    public_key = keys.get(copy.key_id)
    if public_key is None:
        report.add("signature", "signed by an unknown key", checkpoint=copy.tree_size)
        return False
    if not signing.signature_valid(public_key, copy.statement(), copy.signature):
        report.add("signature", "the signature does not verify", checkpoint=copy.tree_size)
        return False
    return True


def check_presence(
    sizes: set[int], rows: dict[int, datetime], custody: Custody, report: Report
) -> None:
    """For checkpoints outside the walked range: each is in the database and in every witness."""
    for size in sorted(sizes):
        signed_at = rows.get(size)
        if signed_at is None:
            report.add(
                "witness",
                "kept by the witnesses but missing from the database (removed)",
                checkpoint=size,
            )
            continue
        for witness in custody.view.witnesses:
            listed = custody.view.listed[witness.name]
            if (
                witness.name not in custody.view.unreachable
                and size not in listed
                and signed_at < custody.now - custody.grace
            ):
                report.add("witness", f"missing from witness {witness.name}", checkpoint=size)
