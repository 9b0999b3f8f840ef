"""Rebuild the search index from the archive (never from the live chat)."""

import sys
from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from archive.selectors import archive_head_seq
from compliance.search.backends import search_backend
from compliance.search.indexing import index_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the search index from the archive. On Elasticsearch a new index is filled and "
        "the alias swapped at the end; on PostgreSQL the table is refilled in one transaction."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        backend = search_backend()
        total = archive_head_seq()
        with tqdm(
            total=total,
            unit="record",
            disable=not sys.stderr.isatty(),
            desc=f"reindexing ({backend.name})",
        ) as bar:
            indexed = index_rebuild(backend=backend, progress=bar.update)
        self.stdout.write(f"search index rebuilt from {indexed} archive records ({backend.name})")
