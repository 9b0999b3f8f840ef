"""Fail fast, with the fix, when the test suite's PostgreSQL or Redis is unreachable."""

import os
import sys

import psycopg
import redis

HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no",
}


def _postgres(url: str) -> None:
    # Connect to the maintenance database: the suite creates its own test database.
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3) as conn:
        conn.execute("SELECT 1")


def _redis(url: str) -> None:
    redis.Redis.from_url(url, socket_connect_timeout=3).ping()


def main() -> int:
    failures = []
    for name, probe, url in (
        ("PostgreSQL", _postgres, os.environ["DATABASE_URL"]),
        ("Redis", _redis, os.environ["REDIS_URL"]),
    ):
        try:
            probe(url)
        except Exception as exc:
            failures.append(
                f"{name} at {url} is unreachable ({exc}).\n  Start it: {HOW_TO_START[name]}"
            )
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
