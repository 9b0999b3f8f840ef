"""Helpers of the search suites: run the pipeline (archive → index) and read results back."""

from typing import Any

from archive.services.archiving import archive_pending
from compliance.search.backends import SearchBackend
from compliance.search.indexing import index_pending
from compliance.search.query import parse_query
from compliance.search.results import Order, Scope, SearchPage


def archive_and_index(backend: SearchBackend | None = None) -> int:
    """What the pipeline does after a send: archive the outbox, then index the archive."""
    archive_pending()
    indexed = index_pending(backend=backend)
    if backend is not None:
        backend.refresh()
    return indexed


def found(backend: SearchBackend, query: str, scope: Scope, **kwargs: Any) -> SearchPage:
    kwargs.setdefault("limit", 200)
    kwargs.setdefault("order", Order.NEWEST)
    return backend.search(parse_query(query), scope=scope, **kwargs)


def versions(page: SearchPage) -> set[tuple[str, str]]:
    """(body, version_kind) of every hit."""
    return {(h.document.body, h.document.version_kind) for h in page.hits}


def bodies(page: SearchPage) -> set[str]:
    return {h.document.body for h in page.hits}
