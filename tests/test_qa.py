"""Black-box regressions found by QA: each reproduces a user-visible bug through the CLI.

Tests marked ``xfail(strict=True)`` fail today; whoever fixes the bug removes the mark.
"""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from conftest import LoopbackServer

import feedwright
from feedwright.cli import main
from feedwright.publish.atom_rss import atom_id

SITE = """\
site:
  title: QA
  url: https://news.example.com/
  timezone: Asia/Shanghai
"""


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def site(folder: Path, sources: str, extra: str = "") -> Path:
    return write(folder / "config.yaml", SITE + "sources:\n" + sources + extra)


def build(config: Path, *extra: str) -> int:
    return main(["build", "-c", str(config), *extra])


def titles(feed: Path) -> list[str]:
    return [e.title for e in feedparser.parse(feed.read_bytes()).entries]


def rss(title: str, guid: str, link: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>'
        f"{title}</title><link>{link}</link><description>d</description><item>"
        f"<title>{title} post</title><link>{link}p1</link>"
        f'<guid isPermaLink="false">{guid}</guid>'
        "<pubDate>Wed, 01 Mar 2023 01:00:00 GMT</pubDate></item></channel></rss>"
    ).encode()


def test_bare_guid_shared_by_two_unrelated_feeds_keeps_both(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    headers = {"Content-Type": "application/rss+xml"}
    a = http_server.route("/a.xml", body=rss("Blog A", "1", "http://a.example/"), headers=headers)
    b = http_server.route("/b.xml", body=rss("Blog B", "1", "http://b.example/"), headers=headers)
    config = site(
        tmp_path, f"  - feed: {a}\n    categories: [A]\n  - feed: {b}\n    categories: [B]\n"
    )
    assert build(config) == 0
    feeds = tmp_path / "feeds"
    assert sorted(titles(feeds / "atom.xml")) == ["Blog A post", "Blog B post"]
    assert titles(feeds / "b" / "atom.xml") == ["Blog B post"]


def test_latin1_post_is_not_silently_read_as_gbk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "---\ntitle: Crème brûlée naïve\ndate: 2023-01-10\n---\nCrème brûlée naïve façade\n"
    post = write(tmp_path / "posts" / "latin.md", text.encode("latin-1"))
    config = site(tmp_path, "  - posts: posts\n")
    code = build(config)
    err = capsys.readouterr().err
    published = titles(tmp_path / "feeds" / "atom.xml")
    # Either read correctly, or named as a problem; never published as mojibake.
    assert published == ["Crème brûlée naïve"] or (code == 1 and str(post) in err)


def test_category_feed_url_survives_a_colliding_new_category(tmp_path: Path) -> None:
    write(
        tmp_path / "posts/one.md", "---\ntitle: one\ndate: 2023-01-01\ncategories: [a-b]\n---\nx\n"
    )
    config = site(tmp_path, "  - posts: posts\n")
    assert build(config) == 0
    before = sorted(p.name for p in (tmp_path / "feeds").iterdir() if p.is_dir())
    assert before == ["a-b"]
    write(
        tmp_path / "posts/two.md", "---\ntitle: two\ndate: 2023-01-02\ncategories: [A B]\n---\nx\n"
    )
    assert build(config) == 0
    # Subscribers of feeds/a-b/ must keep getting category "a-b".
    assert titles(tmp_path / "feeds" / "a-b" / "atom.xml") == ["one"]


def test_missing_posts_folder_is_a_config_error_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path / "posts/one.md", "---\ntitle: one\ndate: 2023-01-01\ncategories: [News]\n---\nx\n"
    )
    config = site(tmp_path, "  - posts: posts\n")
    assert build(config) == 0
    capsys.readouterr()
    site(tmp_path, "  - posts: postz\n")
    assert build(config) == 2
    assert "posts" in capsys.readouterr().err
    assert titles(tmp_path / "feeds" / "news" / "atom.xml") == ["one"]


def test_stripped_control_characters_are_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "posts/ctl.md", b"---\ntitle: ctl\n---\nbody \x01\x02\x0b end\n")
    config = site(tmp_path, "  - posts: posts\n")
    assert build(config, "--json") == 0
    assert json.loads(capsys.readouterr().out)["stripped_chars"] == 3


def test_unsafe_urls_in_post_front_matter_are_not_published(tmp_path: Path) -> None:
    write(
        tmp_path / "posts/bad.md",
        "---\ntitle: bad\nlink: javascript:alert(1)\nimage: 'javascript:alert(2)'\n---\nx\n",
    )
    config = site(tmp_path, "  - posts: posts\n")
    build(config)
    for path in (tmp_path / "feeds").rglob("*.xml"):
        assert "javascript:" not in path.read_text(encoding="utf-8"), path


def test_opml_round_trip_does_not_turn_urls_into_title_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = site(tmp_path, "  - feed: https://a.example/feed.xml\n")
    assert main(["export-opml", "-c", str(config)]) == 0
    opml = write(tmp_path / "subs.opml", capsys.readouterr().out)
    (tmp_path / "other" / "posts").mkdir(parents=True)
    other = site(tmp_path / "other", "  - posts: posts\n")
    assert main(["import-opml", "-c", str(other), str(opml)]) == 0
    assert "title: https://a.example/feed.xml" not in other.read_text(encoding="utf-8")


def test_opml_round_trip_keeps_every_category(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Folder names with a comma or a slash, a feed in two folders: exported
    # as folders (a feed in each of its own), read back as the same categories.
    feeds = (
        "  - feed: https://a.example/feed.xml\n    categories: ['Arts, Books', Other]\n"
        "  - feed: https://b.example/feed.xml\n    categories: [AI/ML]\n"
        "  - feed: https://c.example/feed.xml\n"
    )
    config = site(tmp_path, feeds)
    assert main(["export-opml", "-c", str(config)]) == 0
    opml = write(tmp_path / "subs.opml", capsys.readouterr().out)
    (tmp_path / "other" / "posts").mkdir(parents=True)
    other = site(tmp_path / "other", "  - posts: posts\n")
    assert main(["import-opml", "-c", str(other), str(opml)]) == 0
    assert "3 new feeds" in capsys.readouterr().out
    got = {s.url: s.categories for s in feedwright.load_config(other).feed_sources}
    assert got == {
        "https://a.example/feed.xml": ("Arts, Books", "Other"),
        "https://b.example/feed.xml": ("AI/ML",),
        "https://c.example/feed.xml": (),
    }


def test_opml_import_reads_category_attribute(tmp_path: Path) -> None:
    opml = write(
        tmp_path / "subs.opml",
        '<?xml version="1.0"?><opml version="2.0"><body><outline type="rss" text="A"'
        ' xmlUrl="https://a.example/feed.xml" category="资讯"/></body></opml>',
    )
    (tmp_path / "posts").mkdir()
    config = site(tmp_path, "  - posts: posts\n")
    assert main(["import-opml", "-c", str(config), str(opml)]) == 0
    assert "资讯" in config.read_text(encoding="utf-8")


def test_opml_export_carries_the_new_address_of_a_feed_that_moved(
    tmp_path: Path, http_server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reader the OPML is taken to should poll where the feed went (a 301),
    not the address it left; a feed that never moved keeps its own."""
    headers = {"Content-Type": "application/rss+xml"}
    old = http_server.route("/old.xml", status=301, headers={"Location": "/new.xml"})
    body = rss("Moved", "m1", "https://m.example/")
    new = http_server.route("/new.xml", body=body, headers=headers)
    body = rss("Kept", "k1", "https://k.example/")
    kept = http_server.route("/kept.xml", body=body, headers=headers)
    config = site(tmp_path, f"  - feed: {old}\n    categories: [News]\n  - feed: {kept}\n")
    assert main(["export-opml", "-c", str(config)]) == 0  # nothing fetched yet: as configured
    assert f"xmlUrl={json.dumps(old)}" in capsys.readouterr().out
    assert build(config, "-q") == 0
    assert main(["export-opml", "-c", str(config)]) == 0
    exported = capsys.readouterr().out
    assert old not in exported
    moved = f'<outline type="rss" text="Moved" title="Moved" xmlUrl={json.dumps(new)}/>'
    assert f'<outline text="News">\n      {moved}' in exported
    assert f'<outline type="rss" text="Kept" title="Kept" xmlUrl={json.dumps(kept)}/>' in exported
    # Imported back into the config it came from, it adds nothing: the moved
    # feed is there under its old address.
    before = config.read_text(encoding="utf-8")
    opml = write(tmp_path / "back.opml", exported)
    assert main(["import-opml", "-c", str(config), str(opml)]) == 0
    out, err = capsys.readouterr()
    assert config.read_text(encoding="utf-8") == before
    assert "0 new feeds added" in out
    assert f"skipped {new}: already in config.yaml as {old}, which moved there" in err
    assert f"skipped {kept}: already in config.yaml" in err


def test_post_id_does_not_depend_on_posts_folder_name(tmp_path: Path) -> None:
    post = "---\ntitle: one\ndate: 2023-01-01\n---\nx\n"
    ids = []
    for folder in ("posts", "source/_posts"):
        root = tmp_path / folder.replace("/", "_")
        write(root / folder / "one.md", post)
        assert build(site(root, f"  - posts: {folder}\n")) == 0
        ids.append(feedparser.parse((root / "feeds/atom.xml").read_bytes()).entries[0].id)
    assert ids[0] == ids[1]


def test_hexo_json_front_matter(tmp_path: Path) -> None:
    write(tmp_path / "posts/j.md", ';;;\n"title": "Hexo JSON",\n"date": "2023-01-01"\n;;;\nbody\n')
    assert build(site(tmp_path, "  - posts: posts\n")) == 0
    assert titles(tmp_path / "feeds" / "atom.xml") == ["Hexo JSON"]


def test_atom_id_rejects_invalid_urn() -> None:
    assert atom_id("urn:x:a1").startswith("urn:uuid:")
