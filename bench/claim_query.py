"""Time the claim query (``store.claim_due``, issue 18) with many sources in PostgreSQL.

Fills ``sources`` of a scratch schema with ``--sources`` rows (default
1,000,000, by ``generate_series`` on the server) whose ``due_at`` is spread
over the hour around now (about half due), runs ANALYZE, prints the
query plan (EXPLAIN) of the claim's inner SELECT, then times ``--claims``
claims (default 200) of ``--batch`` sources (default 100) through the store's
public ``claim_due`` (one transaction each, client round trips included) and
prints median, p95 and max in milliseconds. The goal (issue 18): under 50 ms
at 1,000,000 sources. The scratch schema is dropped at the end.

    python bench/claim_query.py [--url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import psycopg

from feedwright.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sources", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    schema = f"fw_bench_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in args.url else "?"
    url = f"{args.url}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(args.url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        run(url, args)
    finally:
        with psycopg.connect(args.url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def run(url: str, args: argparse.Namespace) -> None:
    now = time.time()
    with Store.open(url):
        pass  # the schema, migrated
    with psycopg.connect(url, autocommit=True) as raw:
        started = time.perf_counter()
        raw.execute(
            "INSERT INTO sources (key, url, due_at)"
            " SELECT 'https://feeds' || (i %% 997) || '.example/' || i || '.xml',"
            " 'https://feeds.example/' || i, %s + (random() - 0.5) * 3600"
            " FROM generate_series(1, %s) AS i",
            (now, args.sources),
        )
        raw.execute("ANALYZE sources")
        print(f"filled {args.sources:,} sources in {time.perf_counter() - started:.1f} s")
        plan = raw.execute(
            "EXPLAIN SELECT key FROM sources WHERE due_at <= %s"
            " AND (lease_until IS NULL OR lease_until < %s)"
            " ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED",
            (now, now, args.batch),
        ).fetchall()
        print("plan of the claim's inner SELECT:")
        for (line,) in plan:
            print("   ", line)
        if not any("sources_by_due" in line for (line,) in plan):
            raise SystemExit("the claim does not use the due_at index")

    times: list[float] = []
    claimed = 0
    with Store.open(url) as store:
        for n in range(args.claims):
            started = time.perf_counter()
            got = store.claim_due(f"bench-{n % 4}", now, args.batch, 300)
            times.append((time.perf_counter() - started) * 1000)
            claimed += len(got)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(
        f"claim_due of {args.batch} with {args.sources:,} sources, {args.claims} claims"
        f" ({claimed:,} sources claimed): median {statistics.median(times):.1f} ms,"
        f" p95 {p95:.1f} ms, max {times[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
