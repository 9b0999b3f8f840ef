"""A job's record steps, and then the per-conversation files of the formats that group a
conversation's records (RSMF), written in parallel child processes, so that one export uses
the cores it is given (EIM_EXPORT_WORKERS).

The parent plans the steps exactly as a serial run cuts them (the next EIM_EXPORT_CHUNK
records after the cursor, each step its own part number), hands each to a child, and commits
the cursor past each step in order, only once every step before it is written. A child
writes its step's part files under the step's fixed names and answers with the step's counts;
it never touches the job. So a run killed anywhere resumes from the committed cursor and
redoes the same steps, under the same names, with the same bytes; the folder, the manifest
and the proofs are those of a serial run.

After the steps, the same children write the grouped formats' files: each is handed a
conversation at a time by the parent, whichever child is free taking the next, writes that
conversation's files under their names (each conversation's files depend on its records
alone) and answers with their counts, which the parent sums. Nothing is committed until
every conversation is written, so a run killed during this pass writes it again, the same
names with the same bytes.

The children are plain subprocesses running this module with Django (not multiprocessing: a
Celery prefork worker is daemonic and may not start multiprocessing children). Each gets the
parent's database name and storages first, so that it reads and writes where the parent does.
Frames on the pipes: an 8-byte big-endian length, then canonical JSON. The parent's ends are
unbuffered, so that what `select` says is ready is all there is to read.
"""

import gc
import json
import os
import select
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

_LENGTH = struct.Struct(">Q")
#: Steps (or conversations) handed to each child ahead of the answer awaited, so that none
#: waits idle.
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
    frame = memoryview(_LENGTH.pack(len(data)) + data)
    try:
        while frame:  # an unbuffered pipe may take part of a frame at a time
            frame = frame[stream.write(frame) or 0 :]
        stream.flush()
    except BrokenPipeError as error:
        raise SliceError("an export step process stopped") from error


def _read(stream: IO[bytes], size: int) -> bytes:
    """Exactly `size` bytes (an unbuffered pipe may give fewer at a time)."""
    data = stream.read(size)
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            raise SliceError("an export step process stopped")
        data += more
    return data


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_LENGTH.size)
    if not header:
        raise SliceError("an export step process stopped")
    if len(header) < _LENGTH.size:
        header += _read(stream, _LENGTH.size - len(header))
    (size,) = _LENGTH.unpack(header)
    return json.loads(_read(stream, size))


def _raise_for(answer: dict[str, Any]) -> None:
    """A child's error, raised here: a proof that fails fails the job, as in a serial run."""
    if "error" in answer:
        from archive.proofs import ProofError

        raise (ProofError if answer.get("proof") else SliceError)(answer["error"])


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
    """`count` children writing steps and then the grouped formats' files: `run(steps)`
    yields each step's answer in order, `write_conversations` each conversation's counts."""

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
                bufsize=0,
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
        ahead of the oldest unanswered one. A step goes to the child of the prover's block
        that its first record is in (where the scope has no gap, the block of leaf
        `after_seq`), so that a block's leaves are read and hashed by one child, not by each
        in turn (EIM_EXPORT_CHUNK, half a block, makes a dense scope's steps tile them)."""
        busy: deque[tuple[subprocess.Popen[bytes], Step]] = deque()
        while True:
            while len(busy) < IN_FLIGHT * len(self._children):
                step = next(steps, None)
                if step is None:
                    break
                child = self._children[(step.after_seq // self._block) % len(self._children)]
                _send(child.stdin, step.__dict__)  # type: ignore[arg-type]
                busy.append((child, step))
            if not busy:
                return
            child, step = busy.popleft()
            answer = _receive(child.stdout)  # type: ignore[arg-type]
            _raise_for(answer)
            yield step, answer

    def write_conversations(
        self,
        format_name: str,
        conversation_ids: Iterable[int],
        *,
        beat: Callable[[], None],
        every: float,
    ) -> Iterator[dict[str, int]]:
        """The counts of each conversation's files of one format, as the children answer:
        a conversation at a time, IN_FLIGHT per child, the next one to whichever child
        answers first, so that a child that drew long conversations is not waited for while
        another idles. Each conversation is handed out once. `beat` is called after each
        answer and at least every `every` seconds while none comes (the job's heartbeat)."""
        pending = iter(conversation_ids)
        inputs = {output: input_ for input_, output in map(_pipes, self._children)}
        owed = dict.fromkeys(inputs, 0)

        def hand(output: IO[bytes]) -> None:
            conversation_id = next(pending, None)
            if conversation_id is not None:
                _send(inputs[output], {"format": format_name, "conversations": [conversation_id]})
                owed[output] += 1

        for output in inputs:
            for _ in range(IN_FLIGHT):
                hand(output)
        while waiting := [output for output, count in owed.items() if count]:
            ready, _, _ = select.select(waiting, [], [], every)
            beat()
            for output in ready:
                answer = _receive(output)
                owed[output] -= 1
                _raise_for(answer)
                hand(output)
                yield answer["counts"]

    def close(self) -> None:
        """Stop the children: those idle see their input end; those still writing are killed
        (the steps or conversations they were writing are redone under the same names, same
        bytes)."""
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


def _pipes(child: "subprocess.Popen[bytes]") -> tuple[IO[bytes], IO[bytes]]:
    """A child's input and output (both piped)."""
    return child.stdin, child.stdout  # type: ignore[return-value]


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
    # Django's objects and the run's live as long as this process: out of the cyclic
    # collector's full passes, which walked them all every few thousand records (a quarter
    # of the CPU of RSMF's files).
    gc.collect()
    gc.freeze()
    while header := source.read(_LENGTH.size):
        (size,) = _LENGTH.unpack(header)
        message = json.loads(source.read(size))
        try:
            answer = _answer(run, message)
        except proofs.ProofError as error:  # the job fails, as in a serial run
            _send(sink, {"error": str(error), "proof": True})
            continue
        except Exception as error:  # reported to the parent, which raises
            _send(sink, {"error": f"{type(error).__name__}: {error}"})
            continue
        _send(sink, answer)


def _answer(run: Any, message: dict[str, Any]) -> dict[str, Any]:
    """Write what the message asks: a step, or one format's files of a few conversations."""
    from . import runner

    if "conversations" in message:
        counts = runner.conversation_files_write(
            run, format_name=message["format"], conversation_ids=message["conversations"]
        )
        return {"counts": counts}
    last, records, counts = runner.step_write(run, Step(**message))
    return {"last": last, "records": records, "counts": counts}


if __name__ == "__main__":
    _child_loop(sys.stdin.buffer, sys.stdout.buffer)
