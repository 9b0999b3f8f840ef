"""Identity: the SSO sign-in round trip as eim spends it, excluding the identity provider.

One sign-in is the two requests a browser makes to eim: pressing the provider's button (POST,
answered by a redirect to the IdP with state, nonce and PKCE) and the IdP's redirect back to
the callback (GET: the code exchanged at the token endpoint, the ID token verified against the
JWKS, the person found by (issuer, subject), groups and roles mapped, the session made). The
IdP is a stub on 127.0.0.1 answering at once (tests/accounts/sso/fake_oidc.py), and the time eim
waits on its HTTP answers is subtracted, so the figure is eim's own. First sign-ins (just-in-time
provisioning: a user, an identity, group memberships, audit events) and returning sign-ins are
timed apart. Prints each run's p50 / p99 / max, the median and spread across runs, and the CPU
each sign-in costs this process (Django runs in it, through its test client).

    .venv/bin/python bench/identity.py                   # 200 people, 3 runs
    .venv/bin/python bench/identity.py --people 500 --runs 5

Needs PostgreSQL and Redis on 127.0.0.1 (database `eim_bench_identity`, Redis db 12).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat import database_ensure, django_setup, percentiles

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eim_bench_identity"
REDIS_URL = "redis://127.0.0.1:6379/12"
WAITED = {"seconds": 0.0}


def options_parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200, help="sign-ins of each kind per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    return parser.parse_args()


def idp_wait_measure() -> None:
    """Count the wall time eim spends waiting on the IdP's HTTP answers."""
    import requests

    send = requests.Session.send

    def timed(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return send(self, request, **kwargs)
        finally:
            WAITED["seconds"] += time.perf_counter() - started

    requests.Session.send = timed  # type: ignore[method-assign]


def provider_ensure(issuer: str, run: int) -> str:
    from accounts.models import IdentityProviderKind, Role
    from accounts.services.identities import group_role_rule_add, identity_provider_create

    slug = f"bench{run}-{int(time.time())}"
    provider = identity_provider_create(
        actor=None,
        slug=slug,
        kind=IdentityProviderKind.OIDC,
        name=slug,
        issuer=issuer,
        groups_claim="groups",
        config={"client_id": "fake-client", "client_secret": "s"},
    )
    group_role_rule_add(actor=None, provider=provider, group_value="staff", role=Role.EMPLOYEE)  # type: ignore[arg-type]
    return slug


def sign_in(fake: Any, slug: str, subject: str) -> tuple[float, float, int]:
    """(eim's wall ms excluding the IdP, CPU ms, SQL queries) for one sign-in."""
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    WAITED["seconds"] = 0.0
    queries = [0]

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries[0] += 1
        return execute(sql, params, many, context)

    wrapper = connection.execute_wrapper(count)
    wrapper.__enter__()
    wall, cpu = time.perf_counter(), time.process_time()
    redirect = client.post(f"/accounts/oidc/{slug}/login/", {"next": "/"})
    query = parse_qs(urlparse(redirect["Location"]).query)
    fake.id_token = fake.signed(fake.claims(query["nonce"][0], sub=subject, groups=["staff"]))
    done = client.get(
        f"/accounts/oidc/{slug}/login/callback/", {"code": "c", "state": query["state"][0]}
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    wrapper.__exit__(None, None, None)
    if done.status_code != 302 or "_auth_user_id" not in client.session:
        raise SystemExit(f"sign-in failed: {done.status_code} {done.content[:300]!r}")
    return (wall - WAITED["seconds"]) * 1000, cpu * 1000, queries[0]


def run_once(fake: Any, people: int, run: int) -> dict[str, Any]:
    slug = provider_ensure(fake.issuer, run)
    stamp = slug.rsplit("-", 1)[1]
    first = [sign_in(fake, slug, f"{stamp}r{run}p{n}") for n in range(people)]
    again = [sign_in(fake, slug, f"{stamp}r{run}p{n}") for n in range(people)]
    return {
        "first": percentiles([ms for ms, _, _ in first]),
        "returning": percentiles([ms for ms, _, _ in again]),
        "cpu_ms_first": round(statistics.mean(c for _, c, _ in first), 2),
        "cpu_ms_returning": round(statistics.mean(c for _, c, _ in again), 2),
        "queries_first": round(statistics.mean(q for _, _, q in first), 1),
        "queries_returning": round(statistics.mean(q for _, _, q in again), 1),
    }


def main() -> None:
    options = options_parse()
    database_ensure(options.database_url, options.redis_url)
    # Every sign-in comes from 127.0.0.1: the per-address SSO throttle would stop the run.
    os.environ.setdefault("EIM_SSO_RATE", "1000000/60")
    django_setup(options.database_url, options.redis_url)
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    from tests.accounts.sso.fake_oidc import FakeIssuer

    idp_wait_measure()
    serving = FakeIssuer().serve()
    fake = next(serving)
    runs = []
    for run in range(options.runs):
        result = run_once(fake, options.people, run)
        runs.append(result)
        print(f"run {run + 1}: {result}")
    for kind in ("first", "returning"):
        p99s = [r[kind]["p99"] for r in runs]
        p50s = [r[kind]["p50"] for r in runs]
        cpu = [r[f"cpu_ms_{kind}"] for r in runs]
        print(
            f"{kind:9} sign-in, eim only: p50 median {statistics.median(p50s):.1f} ms, "
            f"p99 median {statistics.median(p99s):.1f} ms "
            f"(spread {min(p99s):.1f}-{max(p99s):.1f}), "
            f"CPU {statistics.median(cpu):.1f} ms and "
            f"{statistics.median(r[f'queries_{kind}'] for r in runs):.0f} SQL queries per sign-in"
        )


if __name__ == "__main__":
    main()
