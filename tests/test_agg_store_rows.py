"""Rows made in the parse workers store exactly what the main process would.

``store.sqlite.entry_row`` runs in the parse workers and
``Store.save_entry_rows`` stores its rows; the reference is
``Store.save_entries``, which makes the rows itself. Both are held to the
same database bytes (every column of every row, first and later saves,
undated ids, repeated ids) on the sample feeds and on entries with every
field set, and the faster row JSON is held to the generic dataclass walk it
replaced. The last tests check the worker job itself and a refresh through
the process pool over loopback.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feedwright import update
from feedwright.config import Config, FeedSource, Site
from feedwright.exceptions import ParseError
from feedwright.model import Body, Enclosure, Entry, Person, Provenance
from feedwright.sources.feeds import parse_feed
from feedwright.store import Store, from_json, to_json
from feedwright.store.sqlite import _to_row, entry_row

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
LATER = NOW + timedelta(hours=5)
FEEDS = Path(__file__).parent / "data" / "feeds"
SKIP = (".expected.json", ".headers.json")


# --------------------------------------------------------------------------- the reference


def _ref_small(value: Person | Enclosure | Provenance | Body) -> dict[str, object]:
    # The generic walk the store used before its parts were written out.
    return {
        f.name: getattr(value, f.name) for f in fields(value) if getattr(value, f.name) != f.default
    }


def _ref_data(e: Entry) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": e.id,
        "title": e.title,
        "published": e.published.astimezone(UTC).isoformat(timespec="microseconds"),
        "updated": e.updated.astimezone(UTC).isoformat(timespec="microseconds"),
    }
    optional = {
        "link": e.link,
        "authors": [_ref_small(p) for p in e.authors] or None,
        "categories": e.categories or None,
        "tags": e.tags or None,
        "summary": e.summary,
        "content": e.content,
        "body": None if e.body is None else _ref_small(e.body),
        "enclosures": [_ref_small(x) for x in e.enclosures] or None,
        "source": None if e.source is None else _ref_small(e.source),
        "language": e.language,
        "origin": e.origin or None,
    }
    data.update((k, v) for k, v in optional.items() if v is not None)
    return data


def _ref_row(e: Entry) -> tuple[str, str | None, str | None, str | None]:
    data = _ref_data(e)
    summary = data.pop("summary", None)
    content = data.pop("content", None)
    body_text = data["body"].pop("text") if "body" in data else None
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")), summary, content, body_text


def _ref_json(e: Entry) -> str:
    return json.dumps(_ref_data(e), ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- inputs


def _full(id_: str = "full-1", **changes: Any) -> Entry:
    entry = Entry(
        id=id_,
        title='Tïtle "quoted" </script> \u2028',
        published=NOW - timedelta(days=2),
        updated=NOW - timedelta(days=1, microseconds=7),
        link="https://f.example/1",
        authors=(
            Person("Ann", "ann@f.example", "https://f.example/ann"),
            Person("Bob"),
            Person("Cy", email="", uri=None),
        ),
        categories=("Café", "b"),
        tags=("t1",),
        summary="<p>summary ✓</p>",
        content='<p>content with \\ backslash and "quotes"</p>',
        body=Body(text="# md", format="markdown", base_url="https://f.example/", digest="d1"),
        enclosures=(
            Enclosure("https://f.example/a.mp3", "audio/mpeg", 12),
            Enclosure("https://f.example/b.jpg", "image/jpeg"),
        ),
        source=Provenance(url="https://f.example/feed", title="F", link="https://f.example/"),
        language="fr",
        origin="https://f.example/feed",
    )
    return replace(entry, **changes)


def _sparse_variants() -> list[Entry]:
    bare = Entry(id="bare", title="", published=NOW, updated=NOW)
    return [
        bare,
        _full("no-digest", body=Body(text="x", format="html", base_url="https://b/")),
        _full("no-body-text", body=Body(text=None, format="html", base_url="", digest="d")),
        _full("no-body", body=None, summary=None),
        _full("provenance-url-only", source=Provenance(url="https://p.example/")),
        _full("provenance-id", source=Provenance(url="https://p/", id="urn:p", link=None)),
        _full("empty-texts", summary="", content="", link=""),
        _full("whole-second", published=datetime(2025, 1, 1, tzinfo=UTC)),
    ]


def _sample_feeds() -> list[tuple[str, list[Entry], frozenset[str]]]:
    out = []
    for path in sorted(FEEDS.iterdir()):
        if path.name.endswith(SKIP):
            continue
        headers_file = path.with_name(path.name.rsplit(".", 1)[0] + ".headers.json")
        headers = json.loads(headers_file.read_text()) if headers_file.exists() else {}
        url = f"https://feeds.example/{path.name}"
        try:
            parsed = parse_feed(
                path.read_bytes(), url=url, headers=headers, source=FeedSource(url=url), now=NOW
            )
        except ParseError:
            continue
        out.append((url, parsed.entries, parsed.undated_ids))
    return out


def _all_inputs() -> list[tuple[str, list[Entry], frozenset[str]]]:
    handmade = [_full(), *_sparse_variants()]
    undated = _full("undated-1", published=NOW, updated=NOW)
    return [
        *_sample_feeds(),
        ("https://hand.example/feed", [*handmade, undated], frozenset({"undated-1"})),
        # An id repeated: the first occurrence wins, the second differs.
        ("https://dup.example/feed", [_full("d"), _full("d", title="second")], frozenset()),
    ]


def _db_rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT source_key, id, published, first_seen, content_hash, data, summary,"
            " content, body_text, typeof(published), typeof(summary), typeof(body_text)"
            " FROM entries ORDER BY source_key, id"
        ).fetchall()


# --------------------------------------------------------------------------- tests


def test_the_inputs_cover_what_they_claim() -> None:
    inputs = _all_inputs()
    names = {key.rsplit("/", 1)[-1] for key, _, _ in inputs}
    assert {"rss20.xml", "dates.xml", "jsonfeed11.json", "rss091.xml"} <= names
    assert sum(len(undated) for _, _, undated in inputs) >= 5
    assert sum(len(entries) for _, entries, _ in inputs) >= 40


def test_row_json_matches_the_generic_walk() -> None:
    for _, entries, _ in _all_inputs():
        for entry in entries:
            assert _to_row(entry) == _ref_row(entry), entry.id
            assert to_json(entry) == _ref_json(entry), entry.id
            assert from_json(to_json(entry)) == entry


def test_entry_row_is_hash_and_row() -> None:
    entry = _full()
    row = entry_row(entry)
    assert row[:3] == (entry.id, entry.published.timestamp(), entry.content_hash())
    assert row[3:] == _to_row(entry)


def _save_both(tmp_path: Path, rounds: list[tuple[datetime, Any]]) -> None:
    """Save each round with save_entries in one store and save_entry_rows in
    another; the results and the stored rows must be the same after each."""
    with (
        Store.open(tmp_path / "main.db") as main,
        Store.open(tmp_path / "rows.db") as rows_store,
    ):
        for now, inputs in rounds:
            for key, entries, undated in inputs:
                expected = main.save_entries(key, entries, now, undated=undated)
                rows = [entry_row(e) for e in entries]
                got = rows_store.save_entry_rows(key, rows, now, undated=undated)
                assert got == expected, key
            assert _db_rows(tmp_path / "rows.db") == _db_rows(tmp_path / "main.db")
            assert main.entries_generation() == rows_store.entries_generation()


def test_precomputed_rows_store_the_same_bytes(tmp_path: Path) -> None:
    inputs = _all_inputs()

    def changed(entries: list[Entry]) -> list[Entry]:
        # Every other entry edited; undated ones arrive with the new `now`,
        # as the parser gives them, and must keep their first_seen dates.
        out = []
        for n, entry in enumerate(entries):
            if entry.published == NOW:
                entry = replace(entry, published=LATER, updated=LATER)
            if n % 2:
                entry = replace(entry, title=entry.title + " (edited)")
            out.append(entry)
        return out

    later = [(key, changed(entries), undated) for key, entries, undated in inputs]
    _save_both(tmp_path, [(NOW, inputs), (LATER, later), (LATER, later)])
    with Store.open(tmp_path / "rows.db") as store:
        stored = {e.id: e for e in store.entries(["https://hand.example/feed"])}
    assert stored["undated-1"].published == NOW  # first_seen, not LATER
    assert stored["undated-1"].title.endswith("(edited)")


def test_save_entry_rows_counts(tmp_path: Path) -> None:
    a, b = _full("a"), _full("b")
    with Store.open(tmp_path / "s.db") as store:
        first = store.save_entry_rows("k", [entry_row(a), entry_row(b)], NOW)
        second = store.save_entry_rows(
            "k", [entry_row(a), entry_row(replace(b, title="new")), entry_row(a)], LATER
        )
        assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
        assert (second.new, second.updated, second.unchanged) == (0, 1, 1)
        generation = store.entries_generation()
        store.save_entry_rows("k", [entry_row(a)], LATER)
        assert store.entries_generation() == generation  # nothing written, nothing bumped


def test_parse_job_makes_the_rows_and_skips_a_known_body() -> None:
    content = (FEEDS / "dates.xml").read_bytes()
    url = "https://feeds.example/dates.xml"
    source = FeedSource(url=url)
    ready = update._parse_job(content, url, {}, source, NOW, None)
    assert isinstance(ready, update._Ready)
    parsed = parse_feed(content, url=url, headers={}, source=source, now=NOW)
    assert ready.rows == [entry_row(e) for e in parsed.entries]
    assert ready.undated_ids == parsed.undated_ids
    assert (ready.title, ready.link, ready.feed_id) == (parsed.title, parsed.link, parsed.feed_id)
    assert update._parse_job(content, url, {}, source, NOW, ready.body_hash) is None
    garbage = update._parse_job(b"\x00not a feed", url, {}, source, NOW, ready.body_hash)
    assert isinstance(garbage, ParseError)


def test_refresh_through_the_pool_stores_what_save_entries_would(
    tmp_path: Path,
    http_server,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = [
        p.name
        for p in sorted(FEEDS.iterdir())
        if p.suffix in (".xml", ".rdf") and not p.name.endswith(SKIP)
    ]
    urls = []
    for name in names:
        headers = {"Content-Type": "application/xml"}
        sidecar = FEEDS / (name.rsplit(".", 1)[0] + ".headers.json")
        if sidecar.exists():
            headers = json.loads(sidecar.read_text())
        urls.append(
            http_server.route(f"/{name}", body=(FEEDS / name).read_bytes(), headers=headers)
        )
    assert len(urls) >= update.POOL_THRESHOLD  # so refresh parses in worker processes
    monkeypatch.setattr(update, "SAVE_BATCH_ENTRIES", 4)
    config = Config(
        path=tmp_path / "config.yaml",
        site=Site(title="S", url="https://site.example/"),
        sources=tuple(FeedSource(url=u) for u in urls),
    )
    with Store.open(tmp_path / "refresh.db") as store:
        results = asyncio.run(update.refresh(config, store, now=NOW))
    assert {r.outcome for r in results} == {"ok"}
    with Store.open(tmp_path / "main.db") as store:
        for url, name in zip(urls, names, strict=True):
            headers = dict(http_server.routes[f"/{name}"].headers)
            parsed = parse_feed(
                (FEEDS / name).read_bytes(),
                url=url,
                headers=headers,
                source=FeedSource(url=url),
                now=NOW,
            )
            store.save_entries(url, parsed.entries, NOW, undated=parsed.undated_ids)
    assert _db_rows(tmp_path / "refresh.db") == _db_rows(tmp_path / "main.db")
    assert len(_db_rows(tmp_path / "main.db")) >= 20
