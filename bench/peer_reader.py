"""Peer client: lemon24/reader's ``update_feeds`` over the benchmark's feeds (issue 5).

Run by ``bench_aggregate.py --peers reader`` with the peer virtualenv's
Python. Adds the F URLs to a fresh reader database in ``--work`` (setup,
not timed), then times two rounds of ``update_feeds_iter``: round 1 fetches,
parses and stores every feed; round 2 asks again with reader's stored
ETag/Last-Modified, so every feed answers 304. ``scheduled=False`` makes
reader update every feed both times (by default it skips feeds updated in
the last hour, which would make round 2 measure nothing).
"""

from __future__ import annotations

import time
from collections import Counter

import peer_common


def main() -> int:
    args = peer_common.arguments(__doc__.splitlines()[0])
    started = time.perf_counter()
    import reader

    imported = time.perf_counter() - started
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.work / "reader.sqlite"
    if db.exists():
        db.unlink()
    rdr = reader.make_reader(str(db))
    for url in peer_common.urls(args.base, args.count):
        rdr.add_feed(url)

    def update(_: int) -> tuple[dict[str, int], list[str]]:
        outcomes: Counter[str] = Counter()
        errors: list[str] = []
        for result in rdr.update_feeds_iter(scheduled=False, workers=args.workers):
            if result.error is not None:
                outcomes["error"] += 1
                errors.append(f"{result.url}: {result.error!r}")
            elif result.updated_feed is None:
                outcomes["not_modified"] += 1
            else:
                outcomes["updated"] += 1
        return dict(outcomes), errors

    rounds = [peer_common.timed_round(args.base, n, update) for n in (1, 2)]
    entries = rdr.get_entry_counts().total
    rdr.close()
    version = f"reader {reader.__version__}, workers={args.workers}"
    peer_common.write(args.result, imported, rounds, entries=entries, version=version)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
