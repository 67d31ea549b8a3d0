"""``feedwright plan``: what the next build would publish, and nothing written.

Real sites in temporary folders; the state on SQLite and on PostgreSQL
(the ``backend`` fixture). Every file's bytes and mtime, and every row of
the state, are compared before and after each plan.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conftest import Backend, run_cli

import feedwright

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TABLES = (
    "builds",
    "entries",
    "feed_history",
    "media_lengths",
    "meta",
    "pings",
    "post_caches",
    "rendered",
)

CONFIG = """\
site:
  title: Plan
  url: https://plan.example/
sources:
  - posts: posts
{extra}output:
  dir: feeds
  limit: 0
state: {state}
"""


def post(
    folder: Path, name: str, title: str, day: int, cats: str = "[Tech]", more: str = ""
) -> None:
    front = f"title: {title}\ndate: 2024-01-{day:02d}\ncategories: {cats}\n{more}"
    (folder / "posts" / name).write_text(f"---\n{front}---\nBody {day}\n", encoding="utf-8")


def site(folder: Path, state: str = ".feedwright/state.db", extra: str = "") -> Path:
    (folder / "posts").mkdir(parents=True)
    for i in range(5):
        post(folder, f"p{i}.md", f"Post {i}", i + 1)
    config = folder / "config.yaml"
    config.write_text(CONFIG.format(state=state, extra=extra), encoding="utf-8")
    return config


def cli(*argv: str) -> tuple[int, str, str]:
    return run_cli(*argv)


def files(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below ``folder`` (the state file included): bytes and mtime."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def rows(backend: Backend) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(map(repr, backend.execute(f"SELECT * FROM {t}"))) for t in TABLES}


def changes(folder: Path, config: Path, backend: Backend | None = None) -> dict[str, Any]:
    """``plan --json``, asserting it left every file and row as it was."""
    before = files(folder), rows(backend) if backend else None
    code, out, err = cli("plan", "--json", "-c", str(config))
    assert "Traceback" not in err
    assert (files(folder), rows(backend) if backend else None) == before
    view: dict[str, Any] = json.loads(out)
    view["code"], view["stderr"] = code, err
    return view


def test_plan_shows_what_readers_would_receive_and_writes_nothing(
    tmp_path: Path, backend: Backend
) -> None:
    config = site(tmp_path, state=backend.location)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    first = changes(tmp_path, config, backend)
    assert first["code"] == 0
    assert all(not (f["added"] or f["removed"] or f["changed"]) for f in first["feeds"])
    assert first["files"]["rewritten"] == [] and first["files"]["created"] == []

    post(tmp_path, "new.md", "Brand new", 20, cats="[Life]")  # added, in a new category
    (tmp_path / "posts" / "p1.md").unlink()  # removed
    post(tmp_path, "p2.md", "Post 2, retitled", 3)  # changed: its title
    (tmp_path / "posts" / "p3.md").rename(tmp_path / "posts" / "moved.md")  # same id
    view = changes(tmp_path, config, backend)
    assert view["code"] == 0, view["stderr"]
    feeds = {f["feed"]: f for f in view["feeds"]}
    top = feeds["atom.xml"]
    assert [e["title"] for e in top["added"]] == ["Brand new"]
    assert [e["id"] for e in top["removed"]] == ["tag:plan.example,2000:p1"]
    assert top["tombstoned"] == ["tag:plan.example,2000:p1"]  # RFC 6721, on by default
    changed = {e["id"]: e["fields"] for e in top["changed"]}
    assert changed["tag:plan.example,2000:p2"] == ["title"]
    assert "link" in changed["tag:plan.example,2000:p3"]  # moved: a new link, the same id
    assert top["id_changes"] == []
    assert "life/atom.xml" in view["files"]["created"]
    assert "moved from posts/p3.md" in view["stderr"]
    assert [e["title"] for e in feeds["life/atom.xml"]["added"]] == ["Brand new"]

    # The build then does what the plan said.
    code, _, err = cli("build", "-q", "-c", str(config))
    assert code == 0, err
    assert "Brand new" in (tmp_path / "feeds" / "life" / "atom.xml").read_text(encoding="utf-8")
    again = changes(tmp_path, config, backend)
    assert all(not f["added"] and not f["changed"] for f in again["feeds"])
    assert all(not f["tombstoned"] for f in again["feeds"])  # announced once, by that build
    _, text, _ = cli("plan", "-c", str(config))
    assert "tombstoned" not in text


def test_plan_names_id_changes_and_the_feeds_build_would_refuse(tmp_path: Path) -> None:
    config = site(tmp_path)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    for i in range(3):
        post(tmp_path, f"p{i}.md", f"Post {i}", i + 1, more=f"id: tag:new.example,2024:{i}\n")
    view = changes(tmp_path, config)
    assert view["code"] == 4
    assert view["refused"] == ["atom.xml", "tech/atom.xml"]
    top = next(f for f in view["feeds"] if f["feed"] == "atom.xml")
    assert {(e["old_id"], e["id"]) for e in top["id_changes"]} == {
        (f"tag:plan.example,2000:p{i}", f"tag:new.example,2024:{i}") for i in range(3)
    }
    assert top["added"] == [] and top["removed"] == []
    code, out, err = cli("plan", "-c", str(config))
    assert code == 4 and "build would refuse" in err
    assert "! tag:plan.example,2000:p0 -> tag:new.example,2024:0  Post 0" in out


def test_plan_on_a_site_never_built_and_through_the_api(tmp_path: Path) -> None:
    config = site(tmp_path)
    before = files(tmp_path)
    found = feedwright.plan(config, now=NOW)
    assert files(tmp_path) == before
    assert not (tmp_path / "feeds").exists() and not (tmp_path / "feedwright.ids").exists()
    top = next(f for f in found.feeds if f.feed == "atom.xml")
    assert len(top.added) == 5 and top.entries == 5
    assert "atom.xml" in found.created and "tech/rss.xml" in found.created
    assert found.refused == []


def test_plan_names_the_real_ledger_not_its_temporary_copy(tmp_path: Path) -> None:
    config = site(tmp_path)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    ledger = tmp_path / "feedwright.ids"
    ledger.write_text(ledger.read_text(encoding="utf-8") + "posts/x.md\tbad\n", encoding="utf-8")
    code, _, err = cli("plan", "-c", str(config))
    assert code == 0
    assert err.count("warning:") == 1, err
    assert f"warning: {ledger}:8: expected 4 tab-separated fields" in err
    assert "feedwright-plan-" not in err


def test_plan_beside_a_writer_copies_what_is_committed(tmp_path: Path) -> None:
    """A daemon may be writing the state while plan copies it (it holds the
    output lock only while it builds): plan neither waits for it nor sees its
    uncommitted work."""
    config = site(tmp_path)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    post(tmp_path, "p9.md", "Post 9", 9)
    writer = sqlite3.connect(tmp_path / ".feedwright" / "state.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM post_caches")  # uncommitted while plan runs
        view = changes(tmp_path, config)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert view["code"] == 0, view["stderr"]
    top = next(f for f in view["feeds"] if f["feed"] == "atom.xml")
    assert [e["title"] for e in top["added"]] == ["Post 9"]


def test_plan_names_a_damaged_state_file_and_changes_nothing(tmp_path: Path) -> None:
    config = site(tmp_path)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    state = tmp_path / ".feedwright" / "state.db"
    state.write_bytes(b"not a database " * 100)
    before = files(tmp_path)
    code, out, err = cli("plan", "-c", str(config))
    assert code == 1 and out == ""
    assert err.startswith(f"feedwright: {state}: cannot use as a state database: file is not a")
    assert "the file is damaged; delete it" in err and "feedwright.ids keeps" in err
    assert files(tmp_path) == before


def test_plan_fetches_only_when_asked(tmp_path: Path, http_server: Any) -> None:
    body = (
        '<rss version="2.0"><channel><title>R</title><item><title>Remote one</title>'
        "<guid>https://r.example/1</guid><link>https://r.example/1</link>"
        "<pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item></channel></rss>"
    )
    url = http_server.route("/feed.xml", body=body.encode())
    config = site(tmp_path, extra=f"  - feed: {url}\n")
    assert cli("build", "-q", "--offline", "-c", str(config))[0] == 0
    asked = len(http_server.requests)
    view = changes(tmp_path, config)
    assert len(http_server.requests) == asked  # no --fetch: nothing fetched
    assert all(not f["added"] for f in view["feeds"])
    before = files(tmp_path)
    code, out, _ = cli("plan", "--fetch", "-c", str(config))
    assert code == 0 and len(http_server.requests) > asked
    assert "+ https://r.example/1  Remote one" in out
    assert files(tmp_path) == before
