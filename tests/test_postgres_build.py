"""`feedwright build` against a PostgreSQL store (``state: postgresql://...``)
publishes byte for byte what it publishes against the SQLite file, first
build and rebuild alike, over real loopback HTTP."""

from __future__ import annotations

from pathlib import Path

from test_aggregate import ATOM, POST, RSS, etag_handler

from feedwright.cli import main


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
