"""A job's record steps written in parallel child processes, so that one export uses the
cores it is given (EIM_EXPORT_WORKERS).

The parent plans the steps exactly as a serial run cuts them (the next EIM_EXPORT_CHUNK
records after the cursor, each step its own part number), hands each to a child, and commits
the cursor past each step in order, only once every step before it is written. A child
writes its step's part files under the step's fixed names and answers with the step's counts;
it never touches the job. So a run killed anywhere resumes from the committed cursor and
redoes the same steps, under the same names, with the same bytes; the folder, the manifest
and the proofs are those of a serial run.

The children are plain subprocesses running this module with Django (not multiprocessing: a
Celery prefork worker is daemonic and may not start multiprocessing children). Each gets the
parent's database name and storages first, so that it reads and writes where the parent does.
Frames on the pipes: an 8-byte big-endian length, then canonical JSON.
"""

import json
import os
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

_LENGTH = struct.Struct(">Q")
#: Steps handed to each child ahead of the one being committed, so that none waits idle.
IN_FLIGHT = 2


class SliceError(RuntimeError):
    """A child failed a step (its message says why) or stopped."""


@dataclass(frozen=True)
class Step:
    """One step of a run: its part number and the records after `after_seq`, at most `limit`."""

    part: int
    after_seq: int
    limit: int


def _send(stream: IO[bytes], value: Any) -> None:
    data = json.dumps(value, separators=(",", ":"), default=str).encode()
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_LENGTH.size)
    if len(header) != _LENGTH.size:
        raise SliceError("an export step process stopped")
    (size,) = _LENGTH.unpack(header)
    return json.loads(stream.read(size))


def child_context(
    *, job_id: str, tree_size: int, block_roots: list[str], block: int
) -> dict[str, Any]:
    """What a child needs to write this job's steps where the parent would: the database it
    uses, the storages and blob store it writes and reads, and the prover's block roots
    (checked against the signed root once, by the parent)."""
    from django.conf import settings
    from django.db import connection

    return {
        "database": connection.settings_dict["NAME"],
        "settings": {
            "STORAGES": settings.STORAGES,
            "EIM_ARCHIVE_BLOB_STORE": settings.EIM_ARCHIVE_BLOB_STORE,
        },
        "job_id": job_id,
        "tree_size": tree_size,
        "block_roots": block_roots,
        "block": block,
    }


class StepWorkers:
    """`count` children writing steps; `run(steps)` yields each step's answer in order."""

    def __init__(self, count: int, context: dict[str, Any]) -> None:
        from django.conf import settings

        # (Under override_settings, settings.SETTINGS_MODULE is not the module's name.)
        module = os.environ.get("DJANGO_SETTINGS_MODULE") or settings.SETTINGS_MODULE
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": str(module),
            "PYTHONPATH": str(settings.BASE_DIR),
        }
        self._children = [
            subprocess.Popen(  # this module, run by this interpreter
                [sys.executable, "-m", "compliance.export.slices"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                cwd=str(settings.BASE_DIR),
            )
            for _ in range(count)
        ]
        for child in self._children:
            _send(child.stdin, context)  # type: ignore[arg-type]
        self._block = int(context.get("block") or 1)

    def run(self, steps: Iterator[Step]) -> Iterator[tuple[Step, dict[str, Any]]]:
        """(step, answer) for each step, in the order given; the steps are drawn lazily, a few
        ahead of the oldest unanswered one. Consecutive steps go to the same child as long as
        they may share a block of the prover (its leaves read and hashed once, not by every
        child in turn)."""
        busy: deque[tuple[subprocess.Popen[bytes], Step]] = deque()
        turn = 0
        while True:
            while len(busy) < IN_FLIGHT * len(self._children):
                step = next(steps, None)
                if step is None:
                    break
                run = max(1, min(IN_FLIGHT, self._block // max(step.limit, 1)))
                child = self._children[(turn // run) % len(self._children)]
                turn += 1
                _send(child.stdin, step.__dict__)  # type: ignore[arg-type]
                busy.append((child, step))
            if not busy:
                return
            child, step = busy.popleft()
            answer = _receive(child.stdout)  # type: ignore[arg-type]
            if "error" in answer:
                from archive.proofs import ProofError

                raise (ProofError if answer.get("proof") else SliceError)(answer["error"])
            yield step, answer

    def close(self) -> None:
        """Stop the children: those idle see their input end; those still writing are killed
        (the steps they were writing are redone under the same names, same bytes)."""
        for child in self._children:
            if child.stdin:
                child.stdin.close()
        for child in self._children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            if child.stdout:
                child.stdout.close()

    def __enter__(self) -> "StepWorkers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child_setup(context: dict[str, Any]) -> None:
    import django

    django.setup()
    from django.db import connections
    from django.test import override_settings

    connections["default"].settings_dict["NAME"] = context["database"]
    override_settings(**context["settings"]).enable()


def _child_loop(source: IO[bytes], sink: IO[bytes]) -> None:
    context = _receive(source)
    _child_setup(context)
    from archive import proofs

    from . import runner

    run = runner.run_for_steps(
        job_id=context["job_id"],
        prover=proofs.checkpoint_prover_from(
            tree_size=int(context["tree_size"]),
            block_roots=[bytes.fromhex(r) for r in context["block_roots"]],
            block=int(context["block"]),
        ),
    )
    while header := source.read(_LENGTH.size):
        (size,) = _LENGTH.unpack(header)
        step = Step(**json.loads(source.read(size)))
        try:
            last, records, counts = runner.step_write(run, step)
        except proofs.ProofError as error:  # the job fails, as in a serial run
            _send(sink, {"error": str(error), "proof": True})
            continue
        except Exception as error:  # reported to the parent, which raises
            _send(sink, {"error": f"{type(error).__name__}: {error}"})
            continue
        _send(sink, {"last": last, "records": records, "counts": counts})


if __name__ == "__main__":
    _child_loop(sys.stdin.buffer, sys.stdout.buffer)
