"""Run the test suite: the browser tests beside the rest, in two pytest processes.

`make test` calls this. With arguments it runs one pytest with them (a developer's subset).
Without, the headless-browser tests (`tests/browser/`, mostly waiting on Chromium and the
servers) run in a second process beside the rest: each process has its own test database,
channel-layer and cache prefixes (eim/settings/test.py), and the browser run gets the next Redis
database, so the two runs' Celery queues never meet. The rest's output streams; the browser
run's is written to `var/test-logs/browser.log` and printed when both have ended. The exit code
is non-zero if either failed.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTEST = [sys.executable, "-m", "pytest"]
BROWSER_TESTS = "tests/browser"
REDIS_DATABASES = 16


def next_redis_database(url: str) -> str:
    """The same Redis server, the next numbered database (after 15, 0)."""
    parts = urlsplit(url)
    current = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(current + 1) % REDIS_DATABASES}"))


def run_both() -> int:
    log_path = ROOT / "var" / "test-logs" / "browser.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    browser_env = {**os.environ, "REDIS_URL": next_redis_database(os.environ["REDIS_URL"])}
    started = time.monotonic()
    with open(log_path, "wb") as log:
        browser = subprocess.Popen(
            [*PYTEST, BROWSER_TESTS], cwd=ROOT, env=browser_env, stdout=log, stderr=log
        )
        try:
            rest = subprocess.run([*PYTEST, f"--ignore={BROWSER_TESTS}"], cwd=ROOT).returncode
            browser_code = browser.wait()
        finally:
            if browser.poll() is None:
                browser.terminate()
                browser.wait()
    print(f"\n---- {BROWSER_TESTS} (ran beside the rest; {log_path.relative_to(ROOT)}) ----")
    sys.stdout.write(log_path.read_text(errors="replace"))
    print(
        f"---- the rest: exit {rest}; {BROWSER_TESTS}: exit {browser_code}; "
        f"{time.monotonic() - started:.0f} s in all ----"
    )
    return 1 if rest or browser_code else 0


def main(argv: list[str]) -> int:
    if argv:
        return subprocess.run([*PYTEST, *argv], cwd=ROOT).returncode
    return run_both()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
