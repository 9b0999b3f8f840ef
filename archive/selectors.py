"""Reads about the archive's own state (no user data)."""

from datetime import datetime
from typing import Any

from django.utils import timezone

from eim.chat import selectors as chat_selectors

from .models import ArchiveHead, ArchiveRecord, Checkpoint

LAG_SAMPLE = 1000


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def archive_status() -> dict[str, Any]:
    """Backlog, lag over the latest records, and the latest signed checkpoint."""
    pending = chat_selectors.events_pending_archive_summary()
    oldest: datetime | None = pending["oldest"]
    recent = ArchiveRecord.objects.order_by("-seq").values_list("occurred_at", "archived_at")
    lags = sorted(
        (archived - occurred).total_seconds() * 1000 for occurred, archived in recent[:LAG_SAMPLE]
    )
    head = ArchiveHead.objects.filter(pk=1).first()
    checkpoint = Checkpoint.objects.order_by("-tree_size").first()
    return {
        "records": head.last_seq if head else 0,
        "backlog": pending["count"],
        "oldest_pending_seconds": (
            round((timezone.now() - oldest).total_seconds(), 1) if oldest else None
        ),
        "lag_ms": {
            "p50": round(_percentile(lags, 0.5), 1) if lags else None,
            "p99": round(_percentile(lags, 0.99), 1) if lags else None,
            "sample": len(lags),
        },
        "checkpoint": {
            "tree_size": checkpoint.tree_size,
            "signed_at": checkpoint.signed_at.isoformat(),
        }
        if checkpoint
        else None,
    }
