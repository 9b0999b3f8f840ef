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


class SearchRewrite(models.Model):
    """A message whose search documents must be rewritten because its flags or review
    changed: written in the change's transaction, deleted once rewritten. One left behind
    (the process died after the commit, or the backend was down) is rewritten by the sweeper
    (`compliance.search_rewrite_sweep`)."""

    message_id = models.BigIntegerField()
    requested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["requested_at"])]

    def __str__(self) -> str:
        return f"rewrite message {self.message_id}"


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
    "SearchRewrite",
]
