"""Compliance records: the search index's progress. (The audit trail lives in `audit`.)

The search table itself (one row per message version, see
`compliance.search.query.compile_postgres`) has no model: its columns differ by database
(tsvector and arrays on PostgreSQL), so migration 0002 creates it from the contract DDL and
the search backends read and write it with SQL.
"""

from django.db import models


class SearchIndexState(models.Model):
    """The single progress row: every archive record up to `last_seq` is in the index."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"search index at {self.last_seq}"


# The models of the capability packages, registered under this app.
from .review.models import (  # noqa: E402
    ReviewerNotification,
    ReviewItem,
    ReviewStep,
    SamplingRun,
)
from .scanning.models import Flag, Policy, PolicySetState, PolicyVersion, ScanState  # noqa: E402

__all__ = [
    "Flag",
    "Policy",
    "PolicySetState",
    "PolicyVersion",
    "ReviewItem",
    "ReviewStep",
    "ReviewerNotification",
    "SamplingRun",
    "ScanState",
    "SearchIndexState",
]
