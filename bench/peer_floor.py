"""Peer client: the floor for bench_aggregate.py (issue 5), aiohttp + bare lxml.

Run by ``bench_aggregate.py --peers floor`` with the peer virtualenv's
Python. Each round fetches the F URLs with one ``aiohttp.ClientSession``,
at most 50 requests in flight (one semaphore, a connector limit of 50), and
hands each 200 body to ``lxml.etree.fromstring`` in the event loop thread as
it arrives: no feed semantics, no sanitising, no storage. Round 2 sends the
ETag each URL answered in round 1, so every feed answers 304 and nothing is
parsed. That is as little as any aggregator can do on these feeds.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import peer_common

CONCURRENCY = 50


def main() -> int:
    args = peer_common.arguments(__doc__.splitlines()[0])
    started = time.perf_counter()
    import aiohttp
    from lxml import etree

    imported = time.perf_counter() - started
    targets = peer_common.urls(args.base, args.count)
    etags: dict[str, str] = {}

    async def fetch_all() -> tuple[dict[str, int], list[str]]:
        outcomes: Counter[str] = Counter()
        errors: list[str] = []
        gate = asyncio.Semaphore(CONCURRENCY)
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        timeout = aiohttp.ClientTimeout(total=120)

        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def one(url: str) -> None:
                headers = {"If-None-Match": etags[url]} if url in etags else {}
                try:
                    async with gate, session.get(url, headers=headers) as resp:
                        body = await resp.read()
                        status = resp.status
                        etag = resp.headers.get("ETag")
                    if status == 304:
                        outcomes["not_modified"] += 1
                        return
                    if status != 200:
                        outcomes["error"] += 1
                        errors.append(f"{url}: HTTP {status}")
                        return
                    etree.fromstring(body)
                    if etag is not None:
                        etags[url] = etag
                    outcomes["parsed"] += 1
                except Exception as exc:  # a peer's failure is reported, not fatal
                    outcomes["error"] += 1
                    errors.append(f"{url}: {exc!r}")

            await asyncio.gather(*(one(url) for url in targets))
        return dict(outcomes), errors

    rounds = [
        peer_common.timed_round(args.base, n, lambda _: asyncio.run(fetch_all())) for n in (1, 2)
    ]
    lxml_version = ".".join(map(str, etree.LXML_VERSION[:3]))
    version = f"aiohttp {aiohttp.__version__} + lxml {lxml_version}, {CONCURRENCY} concurrent"
    peer_common.write(args.result, imported, rounds, entries=None, version=version)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
