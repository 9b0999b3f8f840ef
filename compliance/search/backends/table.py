"""What the two database-table backends (PostgreSQL and simple) share: the index is a table
in the application's database, so a rebuild is one transaction and a write is visible at
commit."""

from typing import Any, Self

from django.db import connection


class DatabaseTableIndex:
    """The table-level part of SearchBackend for an index held in `self.table`."""

    table: str

    def __init__(self, table: str) -> None:
        self.table = table

    def ensure_ready(self) -> None:
        """The table exists by migration; nothing to do."""

    def delete_all(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self.table}")  # noqa: S608

    def rebuild_start(self) -> Self:
        # The caller holds a transaction: readers keep seeing the old rows until it commits.
        self.delete_all()
        return self

    def rebuild_finish(self, writer: Any) -> None:
        """Nothing to swap: the rebuild's transaction commits the new rows at once."""

    def refresh(self) -> None:
        """Rows are visible at commit."""
