"""The archive's checkpoints in custody: the shared comparison (ledger.custody) over the
archive's checkpoint rows."""

from ledger.checkpoints import SignedCheckpoint
from ledger.custody import (
    Custody,
    ProblemSink,
    WitnessView,
    check_presence,
    check_signature,
    report_unreachable,
)
from ledger.custody import copies_of as _copies_of

from ..models import Checkpoint
from ..services.checkpoints import signed_checkpoint

__all__ = [
    "Custody",
    "WitnessView",
    "check_presence",
    "check_signature",
    "copies_of",
    "report_unreachable",
]


def copies_of(
    size: int, row: Checkpoint | None, custody: Custody, report: ProblemSink
) -> list[SignedCheckpoint]:
    """Compare the database's checkpoint `size` with every witness's copy; returns the distinct
    copies (witnessed ones first), each to be checked against the records."""
    ours = signed_checkpoint(row) if row is not None else None
    return _copies_of(size, ours, row.signed_at if row else None, custody, report)
