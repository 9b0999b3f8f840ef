from typing import Any

from django.core.management.base import BaseCommand

from archive.services.archiving import archive_pending
from archive.services.checkpoints import checkpoint_create


class Command(BaseCommand):
    help = "Archive whatever is pending, then sign a checkpoint over all records."

    def handle(self, *args: Any, **options: Any) -> None:
        archived = archive_pending()
        checkpoint = checkpoint_create()
        self.stdout.write(f"archived {archived} pending events")
        if checkpoint is None:
            self.stdout.write("no new records since the last checkpoint")
        else:
            self.stdout.write(f"checkpoint {checkpoint.tree_size}: root {checkpoint.root_hash}")
