"""Verify the archive; exit 0 when intact, 1 when anything is wrong."""

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from archive.models import ArchiveHead
from archive.services.checkpoints import LEDGER
from archive.verification import Report, verify_archive, verify_archive_in_steps
from ledger.verifier_inputs import trusted_checkpoint_read, verifier_public_keys


class Command(BaseCommand):
    help = (
        "Recompute the hash chain and the signed checkpoints, compare the checkpoints with "
        "their witnesses, check every blob, and check that every outbox event and live message "
        "has its record. Exit 0 if intact, 1 otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON report")
        parser.add_argument(
            "--incremental",
            action="store_true",
            help=(
                "start from the newest checkpoint the witnesses hold as the database does, "
                "plus this hour's window of older records"
            ),
        )
        parser.add_argument(
            "--in-steps",
            action="store_true",
            help=(
                "a full run that commits its progress at witnessed checkpoints and resumes an "
                "unfinished one after a crash"
            ),
        )
        parser.add_argument(
            "--step-records",
            type=int,
            default=None,
            help="records per step of --in-steps (EIM_ARCHIVE_VERIFY_STEP)",
        )
        parser.add_argument(
            "--trusted-checkpoint",
            type=Path,
            help=(
                "a checkpoint file kept outside (a witness file's format): prove the archive "
                "extends it, or say where it does not; implies a full run"
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
        parser.add_argument(
            "--grace",
            type=float,
            default=120.0,
            help="seconds an outbox event may wait before missing counts",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        public_keys = verifier_public_keys(options["public_key"] or [])
        trusted = trusted_checkpoint_read(options["trusted_checkpoint"], ledger=LEDGER)
        total = ArchiveHead.objects.values_list("last_seq", flat=True).first() or 0
        with tqdm(
            total=total,
            unit="rec",
            disable=options["json"] or not sys.stderr.isatty(),
            file=sys.stderr,
            desc="verifying",
        ) as bar:
            grace = timedelta(seconds=options["grace"])
            if options["in_steps"]:
                if options["incremental"] or trusted is not None:
                    raise CommandError("--in-steps is a full run: no --incremental or --trusted")
                report = verify_archive_in_steps(
                    step_records=options["step_records"],
                    public_keys=public_keys,
                    grace=grace,
                    progress=bar.update,
                )
            else:
                report = verify_archive(
                    public_keys=public_keys,
                    incremental=options["incremental"],
                    grace=grace,
                    progress=bar.update,
                    trusted=trusted,
                )
        self._print(report, as_json=options["json"])
        if not report.ok:
            sys.exit(1)

    def _print(self, report: Report, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_dict()))
            return
        if report.window is not None:
            first, last = report.window
            newer = (
                f"records {report.from_seq}..{report.tree_size}"
                if report.tree_size >= report.from_seq
                else "no newer records"
            )
            scope = (
                f"{report.records} records (incremental: {newer} after the witnessed "
                f"checkpoint {report.from_seq - 1}, and records {first}..{last} of the older "
                "history)"
            )
        elif report.records:
            scope = f"records {report.from_seq}..{report.tree_size} ({report.records})"
        else:
            scope = f"no records after seq {report.from_seq - 1}"
        self.stdout.write(
            f"Checked {scope}, {report.checkpoints} checkpoints, {report.blobs} blobs; "
            f"{report.pending} events waiting to be archived."
        )
        if report.trusted is not None:
            self.stdout.write(
                f"The archive extends the trusted checkpoint {report.trusted['tree_size']}: "
                f"the consistency proof to checkpoint {report.trusted['extended_by']} "
                f"({len(report.trusted['consistency_proof'])} hashes, in --json) verifies."
            )
        if report.ok:
            self.stdout.write(self.style.SUCCESS("The archive is intact."))
            return
        self.stdout.write(self.style.ERROR(f"{len(report.problems)} problems:"))
        for problem in report.problems:
            where = ", ".join(
                f"{name} {value}"
                for name, value in (
                    ("seq", problem.seq),
                    ("checkpoint", problem.checkpoint),
                    ("blob", problem.blob),
                )
                if value is not None
            )
            self.stdout.write(f"  [{problem.kind}] {where or 'archive'}: {problem.detail}")
