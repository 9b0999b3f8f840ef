"""Verify the audit trail; exit 0 when intact, 1 when anything is wrong."""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from audit.models import AuditHead
from audit.verification import Report, verify_audit_trail


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's hash chain, check that its sequence has no gap and that "
        "every event's columns say what was hashed. Exit 0 if intact, 1 otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON report")

    def handle(self, *args: Any, **options: Any) -> None:
        total = AuditHead.objects.values_list("last_seq", flat=True).first() or 0
        with tqdm(
            total=total,
            unit="ev",
            disable=options["json"] or not sys.stderr.isatty(),
            file=sys.stderr,
            desc="verifying",
        ) as bar:
            report = verify_audit_trail(progress=bar.update)
        self._print(report, as_json=options["json"])
        if not report.ok:
            sys.exit(1)

    def _print(self, report: Report, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_dict()))
            return
        self.stdout.write(
            f"Checked {report.events} audit events (seq 1..{report.last_seq}); "
            f"the head is at {report.head_seq}."
        )
        if report.ok:
            self.stdout.write(self.style.SUCCESS("The audit trail is intact."))
            return
        self.stdout.write(self.style.ERROR(f"{len(report.problems)} problems:"))
        for problem in report.problems:
            where = f"seq {problem.seq}" if problem.seq is not None else "audit trail"
            self.stdout.write(f"  [{problem.kind}] {where}: {problem.detail}")
