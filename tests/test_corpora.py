"""Real-world corpora through the whole pipeline, and the two fast paths against
the libraries they stand beside.

The corpora (feedparser's own test suite, podcastparser's and reader's sample
feeds: ~2,300 documents) are downloaded by ``python tests/corpora/fetch.py``
(.ci/run does it) into tests/corpora/cache/; without them these tests skip.

- Every file, served from 127.0.0.1 and listed as a ``feed:`` source, is
  either aggregated or its source is named in the report with a reason; no
  build raises or overruns its time; every file written is well-formed XML.
- Where the lxml fast path accepts a file (``parser == "lxml"``), feedparser
  gives the same feed and entries; known differences would be listed in
  :data:`KNOWN_DIFFERENCES` with the reason (none today).
- Fetched with ``fetch.transport: asyncio`` and ``httpx``, every file gives
  the same status, headers that matter and bytes (or the same error).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import LoopbackServer
from lxml import etree

import feedwright

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CACHE = Path(__file__).parent / "corpora" / "cache"
BATCH = 400  # sources per build
BUILD_DEADLINE = 240  # seconds for one batch: far above what it takes

# file (relative to the cache) -> why the fast path and feedparser disagree on it
KNOWN_DIFFERENCES: dict[str, str] = {}

_TYPES = {
    ".json": "application/feed+json",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
}
_ENCODINGS = {".gz": "gzip", ".z": "deflate"}


def _corpus() -> list[Path]:
    if not CACHE.is_dir():
        return []
    return [p for p in sorted(CACHE.rglob("*")) if p.is_file() and not p.name.startswith(".")]


CORPUS = _corpus()
pytestmark = pytest.mark.skipif(
    not CORPUS, reason="corpora not downloaded: run `python tests/corpora/fetch.py`"
)


def _rel(path: Path) -> str:
    return path.relative_to(CACHE).as_posix()


def _headers(path: Path) -> dict[str, str]:
    headers = {"Content-Type": _TYPES.get(path.suffix, "application/xml")}
    if path.suffix in _ENCODINGS:
        headers["Content-Encoding"] = _ENCODINGS[path.suffix]
    return headers


def _serve(server: LoopbackServer) -> dict[str, str]:
    """Every corpus file as a route; relative path -> URL."""
    return {
        _rel(p): server.route(f"/{_rel(p)}", body=p.read_bytes(), headers=_headers(p))
        for p in CORPUS
    }


def _reason(problem: str, url: str) -> str:
    """The kind of a reported problem: its first words after the URL."""
    text = problem.removeprefix(url).removeprefix(": ")
    for cut in ("(", ":", ";"):
        text = text.split(cut, 1)[0]
    return " ".join(text.split()[:6]).strip() or "?"


def test_every_corpus_file_is_aggregated_or_named_with_a_reason(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    urls = _serve(http_server)
    names = sorted(urls)
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for start in range(0, len(names), BATCH):
        batch = names[start : start + BATCH]
        folder = tmp_path / f"batch{start // BATCH}"
        folder.mkdir()
        config = folder / "config.yaml"
        config.write_text(
            "site:\n  title: Corpus\n  url: https://corpus.example/\nsources:\n"
            + "".join(f"  - feed: {json.dumps(urls[n])}\n" for n in batch)
            + "output:\n  formats: [atom, rss, json]\n  limit: 20\nfetch:\n  timeout: 10s\n"
        )
        report = _build_in_time(config)
        problems = report.problems
        by_url = {s.url: s for s in report.sources}
        for name in batch:
            result = by_url[urls[name]]
            if result.outcome == "ok":
                outcomes["aggregated"] += 1
                continue
            named = [p for p in problems if p.startswith(urls[name] + ": ")]
            assert named, f"{name}: {result.outcome} but not named in the report"
            assert "Traceback" not in named[0]
            outcomes[result.outcome] += 1
            reasons[_reason(named[0], urls[name])] += 1
        for path in (folder / "feeds").rglob("*"):
            if path.suffix in (".xml", ".opml"):
                etree.parse(str(path))  # well-formed, or this raises
            elif path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
    assert sum(outcomes.values()) == len(CORPUS)
    assert outcomes["aggregated"] > len(CORPUS) * 0.8
    summary = {"files": len(CORPUS), "outcomes": outcomes, "reasons": reasons.most_common()}
    (CACHE / "pipeline-summary.json").write_text(json.dumps(summary, indent=2))


def _build_in_time(config: Path) -> feedwright.BuildReport:
    result: list[object] = []

    def run() -> None:
        try:
            result.append(feedwright.build(config, now=NOW))
        except BaseException as exc:  # reported below, with the config that did it
            result.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(BUILD_DEADLINE)
    assert not worker.is_alive(), f"build of {config} still running after {BUILD_DEADLINE}s"
    (outcome,) = result
    assert isinstance(outcome, feedwright.BuildReport), f"{config}: {outcome!r}"
    return outcome


def test_the_fast_path_gives_what_feedparser_gives_on_every_file_both_read() -> None:
    compared = 0
    differences: dict[str, str] = {}
    for path in CORPUS:
        if path.suffix in _ENCODINGS:
            continue  # compressed: a transfer matter, read after fetching
        name = _rel(path)
        url = f"http://corpus.example/{name}"
        headers = {"Content-Type": _TYPES.get(path.suffix, "application/xml")}
        data = path.read_bytes()
        try:
            fast = feedwright.parse_feed(data, url=url, headers=headers, now=NOW, fast=True)
        except feedwright.ParseError:
            continue
        if fast.parser != "lxml":
            continue
        slow = feedwright.parse_feed(data, url=url, headers=headers, now=NOW, fast=False)
        compared += 1
        mine = (fast.title, fast.link, fast.feed_id, fast.undated_ids, fast.entries)
        theirs = (slow.title, slow.link, slow.feed_id, slow.undated_ids, slow.entries)
        if mine != theirs:
            differences[name] = _first_difference(fast, slow)
    assert compared > 100
    unexplained = {n: d for n, d in differences.items() if n not in KNOWN_DIFFERENCES}
    assert unexplained == {}
    assert set(KNOWN_DIFFERENCES) <= set(differences), "a listed difference is gone: unlist it"


def _first_difference(fast: feedwright.ParsedFeed, slow: feedwright.ParsedFeed) -> str:
    for field in ("title", "link", "feed_id", "undated_ids"):
        if getattr(fast, field) != getattr(slow, field):
            return f"{field}: {getattr(fast, field)!r} != {getattr(slow, field)!r}"
    if len(fast.entries) != len(slow.entries):
        return f"{len(fast.entries)} entries != {len(slow.entries)}"
    for a, b in zip(fast.entries, slow.entries, strict=True):
        for field in a.__dataclass_fields__:
            if getattr(a, field) != getattr(b, field):
                return f"{a.id} {field}: {getattr(a, field)!r} != {getattr(b, field)!r}"[:300]
    return "?"


def test_both_network_backends_fetch_every_file_alike(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    urls = _serve(http_server)
    configs = {}
    for transport in ("asyncio", "httpx"):
        configs[transport] = tmp_path / f"{transport}.yaml"
        configs[transport].write_text(
            "site:\n  title: C\n  url: https://corpus.example/\n"
            f"fetch:\n  transport: {transport}\n  timeout: 10s\n"
        )
    for name, url in urls.items():
        got = {}
        for transport, config in configs.items():
            try:
                response = feedwright.fetch_feed(url, config, now=NOW)
            except feedwright.FetchError as exc:
                got[transport] = ("error", str(exc))
            else:
                got[transport] = (
                    response.status,
                    response.url,
                    response.headers.get("content-type"),
                    response.etag,
                    response.last_modified,
                    response.discovered_from,
                    response.content,
                )
        assert got["asyncio"] == got["httpx"], name
