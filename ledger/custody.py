"""A ledger's checkpoints in custody: the database's copy of each against every witness's.

Shared by the archive's and the audit trail's verification. The witnesses are listed before
the database's checkpoints are read. A checkpoint row commits before its witness copies are
written, so every checkpoint a witness listed is in the database unless someone removed it; a
row whose copies are still on their way is given a grace period before it counts as missing.

Problems go to a report's `add(kind, detail, checkpoint=..., seq=...)`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from . import signing
from .checkpoints import CheckpointFormatError, SignedCheckpoint, checkpoint_from_file
from .witness import Witness, WitnessError


class ProblemSink(Protocol):
    def add(self, kind: str, detail: str, **where: Any) -> None: ...


@dataclass
class WitnessView:
    """What each witness listed of one ledger when verification began, and its copies as read."""

    ledger: str
    witnesses: list[Witness]
    listed: dict[str, set[int]] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)
    _copies: dict[tuple[str, int], SignedCheckpoint | str] = field(default_factory=dict)

    @classmethod
    def read(cls, witnesses: list[Witness], *, ledger: str) -> "WitnessView":
        view = cls(ledger, witnesses)
        for witness in witnesses:
            try:
                view.listed[witness.name] = set(witness.sizes(ledger))
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

    def _read(self, witness: Witness, size: int) -> SignedCheckpoint | str:
        try:
            data = witness.get(self.ledger, size)
            if data is None:
                return "gone since it was listed"
            copy = checkpoint_from_file(data, ledger=self.ledger)
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


def report_unreachable(custody: Custody, report: ProblemSink) -> None:
    for name, error in custody.view.unreachable.items():
        report.add("witness", f"witness {name} could not be read: {error}")


def copies_of(
    size: int,
    ours: SignedCheckpoint | None,
    signed_at: datetime | None,
    custody: Custody,
    report: ProblemSink,
) -> list[SignedCheckpoint]:
    """Compare the database's checkpoint `size` (`ours`, signed at `signed_at`; None when the
    database has none) with every witness's copy; returns the distinct copies (witnessed ones
    first), each to be checked against the ledger's entries."""
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
            if signed_at is not None and signed_at < custody.now - custody.grace:
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


def check_signature(copy: SignedCheckpoint, keys: signing.KeyRing, report: ProblemSink) -> bool:
    public_key = keys.get(copy.key_id)
    if public_key is None:
        report.add("signature", "signed by an unknown key", checkpoint=copy.tree_size)
        return False
    if not signing.signature_valid(public_key, copy.statement(), copy.signature):
        report.add("signature", "the signature does not verify", checkpoint=copy.tree_size)
        return False
    return True


def check_presence(
    sizes: set[int], rows: dict[int, datetime], custody: Custody, report: ProblemSink
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


def check_chain_link(
    copy: SignedCheckpoint,
    *,
    prev_size: int,
    prev_statement: str,
    held: Callable[[int], bool],
    report: ProblemSink,
) -> None:
    """A chained checkpoint must name the checkpoint before it in the walk (`prev_size`, and
    the SHA-256 of that one's statement); `held(size)` says whether any copy of the one it
    names exists, for the problem's wording."""
    size = copy.tree_size
    if copy.prev_tree_size != prev_size:
        named = copy.prev_tree_size or 0
        report.add(
            "checkpoint",
            f"chains to checkpoint {named}, but the one before it is {prev_size or 'none'}"
            + ("" if named == 0 or held(named) else f"; checkpoint {named} is held nowhere"),
            checkpoint=size,
        )
    elif copy.prev_statement_hash != prev_statement:
        report.add(
            "checkpoint",
            f"chains to another checkpoint {prev_size} than the one signed",
            checkpoint=size,
        )


def age_text(delta: timedelta) -> str:
    """`2 h 5 min`: how long something has waited, for a report."""
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"]
    return " ".join(parts)
