"""What a verification found: each problem with where it is."""

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Problem:
    kind: str
    detail: str
    seq: int | None = None
    checkpoint: int | None = None
    blob: str | None = None


@dataclass
class Report:
    from_seq: int = 1
    records: int = 0
    checkpoints: int = 0
    blobs: int = 0
    pending: int = 0
    tree_size: int = 0
    # The older records an incremental run re-verified on its rotation, [first, last].
    window: list[int] | None = None
    # With a trusted checkpoint: the RFC 9162 consistency proof from it to our newest verified
    # checkpoint, so its holder can check the extension with their own tools.
    trusted: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, detail: str, **where: Any) -> None:
        self.problems.append(Problem(kind, detail, **where))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}
