"""`feedwright build` against a PostgreSQL store (``state: postgresql://...``)
publishes byte for byte what it publishes against the SQLite file, first
build and rebuild alike, over real loopback HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
from conftest import Backend, postgres_backend, run_cli, sqlite_backend
from lxml import etree
from test_aggregate import ATOM, POST, RSS, etag_handler

import feedwright
from feedwright.cli import main
from feedwright.store import entry_row


def make_site(root: Path, server, state: str) -> Path:  # type: ignore[no-untyped-def]
    (root / "posts").mkdir(parents=True)
    (root / "posts" / "brief.md").write_text(POST, encoding="utf-8")
    (root / "config.yaml").write_text(
        f"""\
site:
  title: 江南新闻
  url: https://news.example.com/
  timezone: Asia/Shanghai
sources:
  - posts: posts
  - feed: {server.url("/wire.xml")}
    category_map: {{Finance: 金融, Ads: null}}
  - feed: {server.url("/harbour.xml")}
    title: 港口博客
  - feed: {server.url("/gone.xml")}
state: {state}
fetch:
  timeout: 5s
""",
        encoding="utf-8",
    )
    return root


def published(root: Path) -> dict[str, bytes]:
    out = root / "feeds"
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != ".feedwright.lock"
    }


def test_a_postgresql_store_publishes_the_same_bytes_as_sqlite(  # type: ignore[no-untyped-def]
    tmp_path: Path, http_server, postgres_url: str
) -> None:
    http_server.route("/wire.xml", handler=etag_handler(RSS, '"w1"', "application/rss+xml"))
    http_server.route("/harbour.xml", handler=etag_handler(ATOM, '"h1"', "application/atom+xml"))
    http_server.route("/gone.xml", status=410, body=b"gone")
    embedded = make_site(tmp_path / "sqlite", http_server, ".feedwright/state.db")
    server = make_site(tmp_path / "pg", http_server, f'"{postgres_url}"')

    # Exit 1 both times: the gone feed is reported, the rest published.
    assert [main(["build", "-c", str(site / "config.yaml")]) for site in (embedded, server)] == [
        1,
        1,
    ]
    first = published(embedded)
    assert len(first) > 3
    assert published(server) == first
    assert not (server / ".feedwright").exists()  # nothing on disk: the state is on the server

    # A second build reads everything back from the store (all 304s).
    assert [main(["build", "-c", str(site / "config.yaml")]) for site in (embedded, server)] == [
        0,
        0,
    ]
    assert published(server) == published(embedded) == first
    assert main(["status", "-c", str(server / "config.yaml")]) == 0


# --------------------------------------------------------------------------- today's state
# What builds added to the state on 2026-12-07 (the category folder memory,
# posts' ends and their tombstones, the mending of dates set under a wrong
# clock, feeds never fetched, feeds that moved), built once on each back end.

T1 = datetime(2024, 3, 2, tzinfo=UTC)
FUTURE = datetime(3001, 1, 1, tzinfo=UTC)
AT = "{http://purl.org/atompub/tombstones/1.0}"


def twins(tmp_path: Path, postgres_url: str) -> list[Backend]:
    """The two back ends a scenario runs on: a SQLite file, a PostgreSQL schema."""
    return [sqlite_backend(tmp_path / "sqlite"), postgres_backend(postgres_url)]


def posts_site(root: Path, backend: Backend, posts: dict[str, str]) -> Path:
    (root / "posts").mkdir(parents=True, exist_ok=True)
    for name, text in posts.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    config = root / "config.yaml"
    config.write_text(
        "site:\n  title: Twins\n  url: https://twins.example/\n"
        "sources:\n  - posts: posts\n"
        f'state: "{backend.location}"\n',
        encoding="utf-8",
    )
    return config


def post(title: str, category: str, day: int = 1, **fields: str) -> str:
    meta = {"title": title, "date": f"2024-03-{day:02d}T00:00:00Z", **fields}
    head = "".join(f"{k}: {v}\n" for k, v in meta.items())
    return f"---\n{head}categories: [{category}]\n---\nThe body of {title}.\n"


def feed_title(path: Path) -> str:
    return str(feedparser.parse(path.read_bytes()).feed.title)


def stones(path: Path) -> dict[str, str]:
    """ref -> when of the tombstones of one Atom file."""
    root = etree.parse(str(path)).getroot()
    return {e.get("ref"): e.get("when") for e in root.iter(f"{AT}deleted-entry")}


def test_a_category_folder_stays_its_categorys_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    backends = twins(tmp_path, postgres_url)
    roots = [tmp_path / b.name for b in backends]
    configs = [
        posts_site(r, b, {"a.md": post("First", "Go Lang")})
        for r, b in zip(roots, backends, strict=True)
    ]
    for config in configs:
        assert not feedwright.build(config, now=T1, offline=True).problems
    for root, config in zip(roots, configs, strict=True):
        # "go-lang" slugifies as "Go Lang" does: the folder is remembered as Go Lang's.
        (root / "posts" / "b.md").write_text(post("Second", "go-lang", 2), encoding="utf-8")
        assert not feedwright.build(config, now=T1, offline=True).problems
    embedded, server = (published(r) for r in roots)
    assert server == embedded
    pg = roots[1] / "feeds"
    assert feed_title(pg / "go-lang" / "atom.xml") == "Twins - Go Lang"
    others = [p.parent.name for p in pg.glob("go-lang-*/atom.xml")]
    assert len(others) == 1 and feed_title(pg / others[0] / "atom.xml") == "Twins - go-lang"
    # The memory is the server's (meta `category-folders`), not a file's.
    [(memory,)] = backends[1].execute("SELECT value FROM meta WHERE key = 'category-folders'")
    assert "Go Lang" in memory and not (roots[1] / ".feedwright").exists()
    said = f"category “go-lang” is published in {others[0]}/, not go-lang/"
    assert said in run_cli("check", "-c", str(configs[1]))[2]
    # `plan` builds on a SQLite copy of the server's state: the memory goes with it.
    (roots[1] / "posts" / "c.md").write_text(post("Third", "go-lang", 3), encoding="utf-8")
    code, out, _ = run_cli("plan", "-c", str(configs[1]))
    assert code == 0 and "go-lang/atom.xml: no change" in out
    assert f"{others[0]}/atom.xml: 1 added" in out


def test_a_post_that_ends_between_two_builds_leaves_with_a_tombstone_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    end = T1 + timedelta(hours=2)
    posts = {"a.md": post("Stays", "X"), "b.md": post("Ends", "X", expiryDate=end.isoformat())}
    backends = twins(tmp_path, postgres_url)
    roots = [tmp_path / b.name for b in backends]
    configs = [posts_site(r, b, posts) for r, b in zip(roots, backends, strict=True)]
    for config in configs:
        report = feedwright.build(config, now=T1, offline=True)
        assert not report.problems and report.next_post_at == end
    assert published(roots[1]) == published(roots[0])
    atom = roots[1] / "feeds" / "atom.xml"
    ids = {e.title: e.id for e in feedparser.parse(atom.read_bytes()).entries}
    assert set(ids) == {"Stays", "Ends"}
    # Nothing changed a minute before the end: the last build stands, on both.
    assert all(
        feedwright.build(c, now=end - timedelta(minutes=1), offline=True).cached for c in configs
    )
    for config in configs:
        assert not feedwright.build(config, now=end, offline=True).cached
    assert published(roots[1]) == published(roots[0])
    for feed in (atom, roots[1] / "feeds" / "x" / "atom.xml"):
        assert [e.title for e in feedparser.parse(feed.read_bytes()).entries] == ["Stays"]
        assert stones(feed) == {ids["Ends"]: "2024-03-02T02:00:00Z"}
    [(kept,)] = backends[1].execute("SELECT tombstones FROM feed_history WHERE feed = ''")
    assert json.loads(kept) == {ids["Ends"]: "2024-03-02T02:00:00+00:00"}


UNDATED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    b"<link>https://t.example/</link><description>d</description>"
    b"<item><title>Undated</title><guid>https://t.example/u</guid></item>"
    b"<item><title>Dated</title><guid>https://t.example/d</guid>"
    b"<pubDate>Wed, 01 Jan 2025 00:00:00 GMT</pubDate></item>"
    b"</channel></rss>"
)


def clock_site(root: Path, backend: Backend, url: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.yaml"
    config.write_text(
        "site:\n  title: S\n  url: https://s.example/\n"
        f"sources:\n  - feed: {url}\n    every: 1h\n"
        f'state: "{backend.location}"\n',
        encoding="utf-8",
    )
    return config


def wrong_clock_state(backend: Backend, url: str) -> None:
    """A state an older feedwright wrote while the clock said 3001: the feed's
    entries first seen then (the undated one dated so), its next check an hour
    after, a tombstone of the combined feed set then. Written as raw rows."""
    backend.open().close()  # the tables
    parsed = feedwright.parse_feed(UNDATED, url=url, now=FUTURE)
    for id_, stamp, digest, data in (entry_row(e) for e in parsed.entries):
        backend.execute(
            "INSERT INTO entries (source_key, id, published, first_seen, content_hash, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (url, id_, stamp, FUTURE.isoformat(timespec="microseconds"), digest, data),
        )
    later = (FUTURE + timedelta(hours=1)).isoformat(timespec="microseconds")
    backend.execute(
        "INSERT INTO sources (key, url, last_fetch, next_check, due_at) VALUES (?, ?, ?, ?, ?)",
        (url, url, FUTURE.isoformat(timespec="microseconds"), later, FUTURE.timestamp() + 3600),
    )
    backend.execute(
        "INSERT INTO feed_history (feed, shown, tombstones, pages) VALUES (?, ?, ?, ?)",
        ("", "[]", json.dumps({"https://t.example/gone": FUTURE.isoformat()}), "[]"),
    )


def test_a_state_dated_in_3001_is_mended_by_the_next_build_on_postgresql(
    tmp_path: Path, http_server, postgres_url: str
) -> None:
    url = http_server.route("/f.xml", body=UNDATED, headers={"Content-Type": "application/rss+xml"})
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)
    backends = twins(tmp_path, postgres_url)
    roots = [tmp_path / b.name for b in backends]
    configs = [clock_site(r, b, url) for r, b in zip(roots, backends, strict=True)]
    for backend in backends:
        wrong_clock_state(backend, url)
    for config in configs:
        report = feedwright.build(config, now=now)
        assert report.publish.rejected == [] and not report.problems
        [source] = report.sources
        assert "1 stored entry dated outside the years 1800 to 2999" in (source.note or "")
    # Each due at once, not in 3001: fetched once per site.
    assert [r.path for r in http_server.requests] == ["/f.xml", "/f.xml"]
    assert published(roots[1]) == published(roots[0])
    atom = roots[1] / "feeds" / "atom.xml"
    dates = {e.title: e.published for e in feedparser.parse(atom.read_bytes()).entries}
    assert dates == {"Dated": "2025-01-01T00:00:00Z", "Undated": "2025-06-01T12:00:00Z"}
    text = atom.read_text(encoding="utf-8")
    assert 'ref="https://t.example/gone"' in text and "3001" not in text
    # Mended for good, in the rows themselves: nothing is said again.
    rows = backends[1].execute("SELECT first_seen, published FROM entries ORDER BY id")
    assert all(not first.startswith("3001") and stamp < FUTURE.timestamp() for first, stamp in rows)
    for config in configs:
        report = feedwright.build(config, now=now + timedelta(hours=2))
        assert not any("outside the years" in (s.note or "") for s in report.sources)
    assert published(roots[1]) == published(roots[0])


def test_a_feed_never_fetched_and_a_feed_that_moved_on_postgresql(
    tmp_path: Path, http_server, postgres_url: str
) -> None:
    http_server.route("/old.xml", status=301, headers={"Location": "/new.xml"})
    http_server.route("/new.xml", body=UNDATED, headers={"Content-Type": "application/rss+xml"})
    old = http_server.url("/old.xml")
    backends = twins(tmp_path, postgres_url)
    roots = [tmp_path / b.name for b in backends]
    configs = [clock_site(r, b, old) for r, b in zip(roots, backends, strict=True)]
    for config in configs:  # offline, on a new state: published without its entries, said so
        [source] = feedwright.build(config, now=T1, offline=True).sources
        assert "never fetched into this state" in (source.note or "")
    for config in configs:
        [source] = feedwright.build(config, now=T1).sources
        assert source.moved_to == http_server.url("/new.xml")
    assert published(roots[1]) == published(roots[0])
    # The state keeps the new address: a day on, each site fetches it directly.
    del http_server.requests[:]
    for config in configs:
        [source] = feedwright.build(config, now=T1 + timedelta(days=1)).sources
        assert source.url == http_server.url("/new.xml")
    assert [r.path for r in http_server.requests] == ["/new.xml", "/new.xml"]
    atom = roots[1] / "feeds" / "atom.xml"
    assert {e.title for e in feedparser.parse(atom.read_bytes()).entries} == {"Undated", "Dated"}
