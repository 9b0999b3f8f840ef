"""Run Daphne under cProfile counting the event loop thread's CPU time, not wall time.

`python -m cProfile` times functions by the wall clock, so a loop that waits for a database
thread (the GIL, `SimpleQueue.put`) or for epoll looks busy. Here the timer is
`time.thread_time`: what the loop's thread itself spent; the database threads' CPU is
bench/handshake_profile.py's to measure. The stats are written when Daphne stops (SIGINT).

    python bench/daphne_cpu_profile.py OUT.prof -b 127.0.0.1 -p 8000 eim.asgi:application
"""

import cProfile
import sys
import time

from daphne.cli import CommandLineInterface


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    try:
        CommandLineInterface().run(args)
    finally:
        profiler.disable()
        profiler.dump_stats(out)


if __name__ == "__main__":
    main()
