"""Verify the audit trail; exit 0 when intact, 1 when anything is wrong."""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from audit.checkpoints import LEDGER
from audit.models import AuditHead
from audit.verification import Report, verify_audit_trail
from ledger.verifier_inputs import trusted_checkpoint_read, verifier_public_keys


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's hash chain, check that its sequence has no gap and that "
        "every event's columns say what was hashed, and check every signed checkpoint against "
        "the events and the witnesses, with public keys only. Exit 0 if intact, 1 otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON report")
        parser.add_argument(
            "--trusted-checkpoint",
            type=Path,
            help=(
                "an audit checkpoint file kept outside (a witness file's format): check that "
                "the trail still hashes to it, or say where it does not"
            ),
        )
        parser.add_argument(
            "--public-key",
            type=Path,
            action="append",
            help=(
                "verify signatures with the PEM public key(s) in this file instead of our own; "
                "repeat it, or put several keys in the file, for keys retired by a rotation"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        public_keys = verifier_public_keys(options["public_key"] or [])
        trusted = trusted_checkpoint_read(options["trusted_checkpoint"], ledger=LEDGER)
        total = AuditHead.objects.values_list("last_seq", flat=True).first() or 0
        with tqdm(
            total=total,
            unit="ev",
            disable=options["json"] or not sys.stderr.isatty(),
            file=sys.stderr,
            desc="verifying",
        ) as bar:
            report = verify_audit_trail(
                public_keys=public_keys or None, trusted=trusted, progress=bar.update
            )
        self._print(report, as_json=options["json"])
        if not report.ok:
            sys.exit(1)

    def _print(self, report: Report, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_dict()))
            return
        self.stdout.write(
            f"Checked {report.events} audit events (seq 1..{report.last_seq}) and "
            f"{report.checkpoints} signed checkpoints; the head is at {report.head_seq}."
        )
        if report.ok:
            self.stdout.write(self.style.SUCCESS("The audit trail is intact."))
            return
        self.stdout.write(self.style.ERROR(f"{len(report.problems)} problems:"))
        for problem in report.problems:
            places = [f"seq {problem.seq}"] * (problem.seq is not None) + [
                f"checkpoint {problem.checkpoint}"
            ] * (problem.checkpoint is not None)
            where = ", ".join(places) or "audit trail"
            self.stdout.write(f"  [{problem.kind}] {where}: {problem.detail}")
