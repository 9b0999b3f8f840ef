"""Search backends: where the index lives and how a query tree runs against it.

    backend = search_backend()
    backend.index_records(batch)                    # idempotent upsert by archive_seq
    backend.search(tree, scope=..., order=..., after=None, limit=50, facets=True)

Chosen by settings: ELASTICSEARCH_URL set → Elasticsearch; otherwise PostgreSQL full-text
search when the database is PostgreSQL; otherwise the simple backend (SQLite, the embedded
default). Every backend applies the caller's `Scope` first and lets the query only narrow it.
"""

from typing import Protocol

from django.conf import settings
from django.db import connection

from ..documents import IndexBatch
from ..query import Node
from ..results import After, Order, Scope, SearchPage


class SearchBackend(Protocol):
    name: str

    def ensure_ready(self) -> None:
        """Create the index if it does not exist yet (the table exists by migration)."""

    def index_records(self, batch: IndexBatch) -> None:
        """Upsert the batch's documents (by archive_seq) and apply its renames."""

    def delete_all(self) -> None:
        """Remove every document (tests, and the start of a PostgreSQL rebuild)."""

    def rebuild_start(self) -> "SearchBackend":
        """A writer for a fresh, empty index that readers do not see yet."""

    def rebuild_finish(self, writer: "SearchBackend") -> None:
        """Make the writer's index the one readers see, and drop the old one."""

    def refresh(self) -> None:
        """Make what was indexed searchable now (Elasticsearch refreshes every second)."""

    def search(
        self,
        tree: Node,
        *,
        scope: Scope,
        order: Order = Order.NEWEST,
        after: After | None = None,
        limit: int = 50,
        highlights: bool = True,
        facets: bool = False,
    ) -> SearchPage: ...


def search_backend() -> SearchBackend:
    if settings.ELASTICSEARCH_URL:
        from .elasticsearch import ElasticsearchBackend

        return ElasticsearchBackend.from_settings()
    if connection.vendor == "postgresql":
        from .postgres import PostgresBackend

        return PostgresBackend()
    from .simple import SimpleBackend

    return SimpleBackend()


__all__ = ["SearchBackend", "search_backend"]
