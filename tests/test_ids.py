"""The id ledger (``feedwright.ids``) and the id-change gate (exit 4).

Real sites in temporary folders, built through ``feedwright.cli.main`` and
``feedwright.build``; ids read back from the published Atom files.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Backend, run_cli

import feedwright

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

CONFIG = """\
site:
  title: Ids
  url: {url}
sources:
  - posts: posts
    permalink: "{permalink}"
output:
  dir: feeds
  limit: 0
state: {state}
"""


def site(
    folder: Path,
    n: int = 5,
    *,
    url: str = "https://one.example/",
    permalink: str = "{slug}/",
    state: str = ".feedwright/state.db",
) -> Path:
    (folder / "posts").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / "posts" / f"p{i}.md").write_text(
            f"---\ntitle: Post {i}\ndate: 2024-01-0{i + 1}\ncategories: [Tech]\n---\nBody {i}\n",
            encoding="utf-8",
        )
    return configure(folder, url=url, permalink=permalink, state=state)


def configure(
    folder: Path,
    *,
    url: str = "https://one.example/",
    permalink: str = "{slug}/",
    state: str = ".feedwright/state.db",
    extra: str = "",
) -> Path:
    config = folder / "config.yaml"
    config.write_text(
        CONFIG.format(url=url, permalink=permalink, state=state) + extra, encoding="utf-8"
    )
    return config


def cli(*argv: str) -> tuple[int, str, str]:
    return run_cli(*argv)


def ids(feed: Path) -> dict[str, str]:
    """title -> id of every entry of an Atom file."""
    text = feed.read_text(encoding="utf-8")
    found = re.findall(r"<entry>.*?<id>([^<]+)</id>.*?<title>([^<]*)</title>", text, re.S)
    return {title: id_ for id_, title in found}


def test_the_ledger_is_written_beside_the_config_sorted_and_rewritten_only_on_change(
    tmp_path: Path,
) -> None:
    config = site(tmp_path)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    ledger = tmp_path / "feedwright.ids"
    lines = [line for line in ledger.read_text(encoding="utf-8").splitlines() if line[:1] != "#"]
    assert [line.split("\t")[0] for line in lines] == [f"posts/p{i}.md" for i in range(5)]
    _, _, id_, date = lines[0].split("\t")
    assert id_ == "tag:one.example,2000:p0" and date == "2024-01-01T00:00:00Z"
    before = ledger.stat().st_mtime_ns
    (tmp_path / "posts" / "p9.md").write_text("---\ntitle: New\ndate: 2024-02-01\n---\nx\n")
    os.utime(ledger, ns=(before - 10**9, before - 10**9))
    assert cli("build", "-q", "-c", str(config))[0] == 0
    assert "posts/p9.md" in ledger.read_text(encoding="utf-8")
    kept = ledger.stat().st_mtime_ns
    (tmp_path / "posts" / "p9.md").write_text("---\ntitle: New!\ndate: 2024-02-01\n---\nx\n")
    assert cli("build", "-q", "-c", str(config))[0] == 0  # a title edit: the ledger is the same
    assert ledger.stat().st_mtime_ns == kept


def test_ids_survive_a_new_host_a_new_permalink_and_a_lost_state(tmp_path: Path) -> None:
    config = site(tmp_path)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    first = ids(tmp_path / "feeds" / "atom.xml")
    shutil.rmtree(tmp_path / ".feedwright")
    configure(tmp_path, url="https://two.example/blog/", permalink="{year}/{slug}.html")
    code, _, err = cli("build", "-q", "-c", str(config))
    assert code == 0, err
    assert ids(tmp_path / "feeds" / "atom.xml") == first
    text = (tmp_path / "feeds" / "atom.xml").read_text(encoding="utf-8")
    assert "https://two.example/blog/2024/p1.html" in text  # links do follow the new site


def test_ids_survive_a_category_change_and_a_moved_or_renamed_file(tmp_path: Path) -> None:
    config = site(tmp_path)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    first = ids(tmp_path / "feeds" / "atom.xml")
    posts = tmp_path / "posts"
    (posts / "2024").mkdir()
    (posts / "p1.md").rename(posts / "2024" / "renamed.md")
    text = (posts / "p2.md").read_text(encoding="utf-8").replace("[Tech]", "[Life]")
    (posts / "p2.md").write_text(text, encoding="utf-8")
    code, _, err = cli("build", "-c", str(config))
    assert code == 0, err
    assert "posts/2024/renamed.md: moved from posts/p1.md; keeps its id" in err
    assert ids(tmp_path / "feeds" / "atom.xml") == first
    assert "Post 2" in ids(tmp_path / "feeds" / "life" / "atom.xml")
    ledger = (tmp_path / "feedwright.ids").read_text(encoding="utf-8")
    assert "posts/2024/renamed.md" in ledger and "posts/p1.md" not in ledger


def test_the_ledger_names_posts_as_the_config_does_through_symlinks(tmp_path: Path) -> None:
    """A posts folder that is a symlink (a deploy swapping releases), or the
    site reached through one: the ledger's paths are the config's, the same
    on every machine, and nothing is said to have moved."""
    real = tmp_path / "real"
    config = site(real)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    ledger = (real / "feedwright.ids").read_text(encoding="utf-8")
    assert "\nposts/p0.md\t" in ledger
    link = tmp_path / "current"
    link.symlink_to(real, target_is_directory=True)
    code, _, err = cli("build", "-c", str(link / "config.yaml"))
    assert code == 0 and "moved" not in err, err
    assert (real / "feedwright.ids").read_text(encoding="utf-8") == ledger
    elsewhere = tmp_path / "release-2"
    shutil.move(real / "posts", elsewhere)
    (real / "posts").symlink_to(elsewhere, target_is_directory=True)
    code, _, err = cli("build", "-c", str(config))
    assert code == 0 and "moved" not in err, err
    assert (real / "feedwright.ids").read_text(encoding="utf-8") == ledger


def test_a_fresh_clone_keeps_ids_and_the_dates_of_undated_posts(tmp_path: Path) -> None:
    one = tmp_path / "one"
    config = site(one, n=0)
    (one / "posts" / "undated.md").write_text("---\ntitle: Undated\n---\nHello\n")
    os.utime(one / "posts" / "undated.md", (1_700_000_000, 1_700_000_000))
    assert cli("build", "-q", "-c", str(config))[0] == 0
    published = (one / "feeds" / "atom.xml").read_text(encoding="utf-8")
    assert "2023-11-14T22:13:20Z" in published
    # A clone: the posts and the ledger, not the state or the feeds; every mtime new.
    two = tmp_path / "two"
    (two / "posts").mkdir(parents=True)
    shutil.copy(one / "posts" / "undated.md", two / "posts" / "undated.md")
    shutil.copy(one / "feedwright.ids", two / "feedwright.ids")
    shutil.copy(config, two / "config.yaml")
    assert cli("build", "-q", "-c", str(two / "config.yaml"))[0] == 0
    assert (two / "feeds" / "atom.xml").read_bytes() == (one / "feeds" / "atom.xml").read_bytes()
    (one / "posts" / "undated.md").touch()  # a touch no longer re-dates it
    assert cli("build", "-q", "-c", str(config))[0] == 0
    assert (one / "feeds" / "atom.xml").read_text(encoding="utf-8") == published


def test_resolving_ids_reads_no_unchanged_post_again(tmp_path: Path) -> None:
    """An undated post whose first date the ledger keeps is resolved from the
    post cache on every later build: a file whose stamp is unchanged is not
    read again (not even to ask whether it sets a date of its own now)."""
    config = site(tmp_path, n=2)
    undated = tmp_path / "posts" / "undated.md"
    undated.write_text("---\ntitle: Undated\n---\nHello, world, and hello again\n")
    os.utime(undated, (1_700_000_000, 1_700_000_000))
    assert cli("build", "-q", "-c", str(config))[0] == 0
    undated.touch()  # its own date, the mtime, now differs from the ledger's first date
    assert cli("build", "-q", "-c", str(config))[0] == 0
    published = (tmp_path / "feeds" / "atom.xml").read_text(encoding="utf-8")
    assert "2023-11-14T22:13:20Z" in published
    (tmp_path / "posts" / "p0.md").touch()  # another file changed: a build, not a no-op
    code, _, err = cli("build", "-v", "-c", str(config))
    assert code == 0
    assert "3 post files, 2 from the cache, 1 to read" in err and "reading p0.md" in err
    assert "reading undated.md" not in err
    assert (tmp_path / "feeds" / "atom.xml").read_text(encoding="utf-8") == published


def test_two_posts_swapped_with_the_same_size_and_mtime_are_both_read(tmp_path: Path) -> None:
    """The post cache knows a file by its size and change time: two posts
    swapped with mv (same sizes, mtimes kept) are read again, not taken
    for each other's cached versions."""
    config = site(tmp_path, n=0)
    a, b = tmp_path / "posts" / "a.md", tmp_path / "posts" / "b.md"
    a.write_text("---\ntitle: Post a\ndate: 2024-01-01\n---\nAaa\n")
    b.write_text("---\ntitle: Post b\ndate: 2024-01-02\n---\nBbb\n")
    for path in (a, b):
        os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    assert cli("build", "-q", "-c", str(config))[0] == 0
    swap = tmp_path / "posts" / "swap"
    a.rename(swap)
    b.rename(a)
    swap.rename(b)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    text = (tmp_path / "feeds" / "atom.xml").read_text(encoding="utf-8")
    links = dict(re.findall(r"<title>([^<]*)</title>.*?<link href=\"([^\"]+)\"", text, re.S))
    assert links["Post a"].endswith("/b/") and links["Post b"].endswith("/a/")


def test_an_explicit_id_wins_and_its_change_is_reported(tmp_path: Path) -> None:
    config = site(tmp_path)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    post = tmp_path / "posts" / "p3.md"
    text = post.read_text(encoding="utf-8")
    post.write_text(text.replace("---\nBody", "id: tag:x.example,2024:3\n---\nBody"))
    code, _, err = cli("build", "-c", str(config))
    assert code == 0, err
    assert "posts/p3.md: its id changes from tag:one.example,2000:p3 to tag:x.example,2024:3" in err
    assert ids(tmp_path / "feeds" / "atom.xml")["Post 3"] == "tag:x.example,2024:3"
    # A scheme-less id is the same id under a new host: no change then.
    post.write_text(post.read_text(encoding="utf-8").replace("tag:x.example,2024:3", "three"))
    assert cli("build", "-q", "-c", str(config))[0] == 0
    assert ids(tmp_path / "feeds" / "atom.xml")["Post 3"] == "tag:one.example,2000:three"
    configure(tmp_path, url="https://two.example/")
    code, _, err = cli("build", "-c", str(config))
    assert code == 0 and "id changes" not in err
    assert ids(tmp_path / "feeds" / "atom.xml")["Post 3"] == "tag:one.example,2000:three"


def test_two_posts_with_one_id_never_put_it_in_the_ledger_twice(tmp_path: Path) -> None:
    """A copy of a post with its permalink is a problem and is not published;
    it gets no ledger line with that id (the ledger would hold it twice,
    which its own rules call damage, and stop being rewritten)."""
    config = site(tmp_path, n=2)
    first = tmp_path / "posts" / "p0.md"
    first.write_text(
        first.read_text().replace("---\nBody", "link: https://one.example/same/\n---\nBody")
    )
    assert cli("build", "-q", "-c", str(config))[0] == 0
    ledger = tmp_path / "feedwright.ids"
    before = ledger.read_text(encoding="utf-8")
    copy = tmp_path / "posts" / "copy.md"
    copy.write_text(
        "---\ntitle: Copy\ndate: 2024-02-01\nlink: https://one.example/same/\n---\nNew\n"
    )
    own = tmp_path / "posts" / "p1.md"  # an edit that takes p0's id
    own.write_text(own.read_text().replace("---\nBody", "id: https://one.example/same/\n---\nBody"))
    code, _, err = cli("build", "-c", str(config))
    assert code == 1 and "is also the id of" in err
    assert ledger.read_text(encoding="utf-8") == before
    code, _, err = cli("check", "-c", str(config))
    assert "duplicate id" not in err and "feedwright.ids" not in err, err
    copy.write_text(copy.read_text().replace("/same/", "/copy/"))
    own.write_text(own.read_text().replace("id: https://one.example/same/\n", ""))
    code, _, err = cli("build", "-c", str(config))
    assert code == 0 and "duplicate id" not in err, err
    assert "posts/copy.md\t" in ledger.read_text(encoding="utf-8")
    assert set(ids(tmp_path / "feeds" / "atom.xml").values()) == {
        "https://one.example/same/",
        "https://one.example/copy/",
        "tag:one.example,2000:p1",
    }


def test_many_id_changes_are_refused_with_exit_4_until_allowed(tmp_path: Path) -> None:
    config = site(tmp_path)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    published = {p: p.read_bytes() for p in (tmp_path / "feeds").rglob("*") if p.is_file()}
    ledger = (tmp_path / "feedwright.ids").read_bytes()
    for i in range(3):
        post = tmp_path / "posts" / f"p{i}.md"
        text = post.read_text(encoding="utf-8")
        post.write_text(text.replace("---\nBody", f"guid: tag:new.example,2024:{i}\n---\nBody"))
    code, _, err = cli("build", "-c", str(config))
    assert code == 4
    assert "atom.xml (3 of 5)" in err and "tech/atom.xml (3 of 5)" in err
    assert "--allow-id-changes" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in (tmp_path / "feeds").rglob("*") if p.is_file()} == published
    assert (tmp_path / "feedwright.ids").read_bytes() == ledger
    with pytest.raises(feedwright.IdChangeError) as raised:
        feedwright.build(config, offline=True, now=NOW)
    assert raised.value.feeds == ("atom.xml", "tech/atom.xml")
    code, _, err = cli("build", "-q", "--allow-id-changes", "-c", str(config))
    assert code == 0, err
    assert ids(tmp_path / "feeds" / "atom.xml")["Post 0"] == "tag:new.example,2024:0"
    assert "tag:new.example,2024:0" in (tmp_path / "feedwright.ids").read_text(encoding="utf-8")


def test_without_ledger_and_state_the_published_files_hold_the_ids(tmp_path: Path) -> None:
    """Both the ledger and the state lost, and site.url changed: the ids a
    reader knows are only in the published feeds; the gate reads them there.
    New posts pushing old ones out of a feed are no id change."""
    config = site(tmp_path)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    published = {p: p.read_bytes() for p in (tmp_path / "feeds").rglob("*") if p.is_file()}
    shutil.rmtree(tmp_path / ".feedwright")
    (tmp_path / "feedwright.ids").unlink()
    configure(tmp_path, url="https://two.example/")
    code, _, err = cli("build", "-c", str(config))
    assert code == 4 and "atom.xml (5 of 5)" in err, err
    assert {p: p.read_bytes() for p in (tmp_path / "feeds").rglob("*") if p.is_file()} == published
    code, out, _ = cli("plan", "-c", str(config))
    assert code == 4
    assert "! tag:one.example,2000:p4 -> tag:two.example,2000:p4  Post 4" in out
    # The same site.url again, and three new posts: nothing refused.
    configure(tmp_path, url="https://one.example/")
    text = config.read_text(encoding="utf-8").replace("  limit: 0\n", "  limit: 5\n")
    config.write_text(text, encoding="utf-8")
    assert cli("build", "-q", "--allow-id-changes", "-c", str(config))[0] == 0
    shutil.rmtree(tmp_path / ".feedwright")
    (tmp_path / "feedwright.ids").unlink()
    for i in range(5, 8):
        (tmp_path / "posts" / f"p{i}.md").write_text(
            f"---\ntitle: Post {i}\ndate: 2024-01-0{i + 1}\ncategories: [Tech]\n---\nB{i}\n"
        )
    code, _, err = cli("build", "-c", str(config))
    assert code == 0, err


def test_the_share_is_configurable_and_two_changes_never_count(tmp_path: Path) -> None:
    config = site(tmp_path)
    configure(tmp_path, extra="")
    text = config.read_text(encoding="utf-8").replace(
        "  limit: 0\n", "  limit: 0\n  max_id_changes: 70%\n"
    )
    config.write_text(text, encoding="utf-8")
    assert cli("build", "-q", "-c", str(config))[0] == 0
    for i in range(3):  # 3 of 5 = 60%: under 70%
        post = tmp_path / "posts" / f"p{i}.md"
        own = f"id: tag:n.example,2024:{i}\n---\nBody"
        post.write_text(post.read_text().replace("---\nBody", own))
    assert cli("build", "-q", "-c", str(config))[0] == 0
    config.write_text(text.replace("70%", "0"), encoding="utf-8")
    for i in range(2):  # 2 changes: never refused
        post = tmp_path / "posts" / f"p{i}.md"
        post.write_text(post.read_text().replace("tag:n.example", "tag:m.example"))
    assert cli("build", "-q", "-c", str(config))[0] == 0
    config.write_text(text.replace("70%", "150%"), encoding="utf-8")
    code, _, err = cli("build", "-q", "-c", str(config))
    assert code == 2 and "max_id_changes" in err


def test_a_damaged_ledger_is_a_warning_naming_the_line_and_is_left_alone(tmp_path: Path) -> None:
    config = site(tmp_path)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    ledger = tmp_path / "feedwright.ids"
    lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    first_id = lines[2].split("\t")[2]
    lines[3] = "posts/p1.md\tno tabs enough\n"  # line 4
    lines[4] = lines[4].split("\t")[0] + f"\tabc\t{first_id}\t2024-01-03T00:00:00Z\n"  # line 5
    damaged = "".join(lines)
    ledger.write_text(damaged, encoding="utf-8")
    (tmp_path / "posts" / "p4.md").write_text("---\ntitle: Post 4!\ndate: 2024-01-05\n---\nB\n")
    code, _, err = cli("build", "-c", str(config))
    assert code == 0, err
    assert f"warning: {ledger}:4: expected 4 tab-separated fields" in err
    assert f"warning: {ledger}:5: duplicate id {first_id} (also line 3)" in err
    assert "Traceback" not in err
    assert ledger.read_text(encoding="utf-8") == damaged  # nothing lost
    published = ids(tmp_path / "feeds" / "atom.xml")
    assert len(set(published.values())) == 5  # every post published, each once
    code, _, err = cli("build", "-c", str(config))  # said again, every build
    assert f"{ledger}:4:" in err
    code, _, err = cli("check", "-c", str(config))  # and by check
    assert code == 0 and f"warning: {ledger}:5: duplicate id" in err
    assert ledger.read_text(encoding="utf-8") == damaged


def test_a_line_repeating_an_id_is_dropped_and_the_ledger_kept_up_again(
    tmp_path: Path,
) -> None:
    """What an older feedwright wrote for two posts sharing a permalink: one
    id on two lines. Said once, dropped when the file is next written; the
    file then takes changes again (other damage keeps it as it is)."""
    config = site(tmp_path, n=3)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    ledger = tmp_path / "feedwright.ids"
    text = ledger.read_text(encoding="utf-8")
    first_id = text.splitlines()[2].split("\t")[2]
    ledger.write_text(text + f"posts/gone.md\tabc\t{first_id}\t2024-01-09T00:00:00Z\n")
    (tmp_path / "posts" / "p3.md").write_text("---\ntitle: Post 3\ndate: 2024-01-04\n---\nB3\n")
    code, _, err = cli("build", "-c", str(config))
    assert code == 0, err
    said = f"warning: {ledger}:6: duplicate id {first_id} (also line 3); line ignored, and dropped"
    assert said in err
    after = ledger.read_text(encoding="utf-8")
    assert "posts/gone.md" not in after and "posts/p3.md\t" in after
    code, _, err = cli("build", "-c", str(config))
    assert code == 0 and "warning" not in err


@pytest.mark.parametrize("bad", ["tag:oops", "tag:::1,2000:p1", "tag:one.example,2000:p 1"])
def test_a_line_whose_id_is_a_malformed_tag_uri_costs_no_feed(tmp_path: Path, bad: str) -> None:
    """A hand edit, a bad merge, or what a site.url with an IPv6 host made:
    published, the id failed the gate in every feed holding the post (no
    other post reached them). The line is damaged: the post is published
    under the id it has without it, said once; the line is then rewritten."""
    config = site(tmp_path, n=3)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    ledger = tmp_path / "feedwright.ids"
    text = ledger.read_text(encoding="utf-8")
    ledger.write_text(text.replace("tag:one.example,2000:p1\t", f"{bad}\t"), encoding="utf-8")
    (tmp_path / "posts" / "p3.md").write_text("---\ntitle: Post 3\ndate: 2024-01-04\n---\nB3\n")
    code, _, err = cli("build", "-c", str(config))
    assert code == 0, err
    said = f"warning: {ledger}:4: the id {bad!r} of posts/p1.md is not a tag: URI (RFC 4151"
    assert said in err and "dropped when the file is next written" in err, err
    assert "not published" not in err and "Traceback" not in err
    published = ids(tmp_path / "feeds" / "atom.xml")
    assert published["Post 1"] == "tag:one.example,2000:p1"  # the id it would otherwise get
    assert published["Post 3"] == "tag:one.example,2000:p3"  # the rest is published
    assert "Post 1" in ids(tmp_path / "feeds" / "tech" / "atom.xml")
    after = ledger.read_text(encoding="utf-8")
    assert bad not in after and "posts/p1.md\t" in after and "posts/p3.md\t" in after
    code, _, err = cli("build", "-c", str(config))
    assert code == 0 and "warning" not in err, err
    code, _, err = cli("check", "-c", str(config))
    assert code == 0 and "feedwright.ids" not in err, err


@pytest.mark.parametrize(
    ("url", "instead"),
    [
        ("http://[::1]:8000/", "localhost for this machine (http://localhost:8000/)"),
        ("http://[2001:db8::1]/blog/", "a domain name"),
        ("http://my_site.example/", "a domain name"),
    ],
)
def test_a_site_url_whose_host_cannot_make_tag_ids_is_a_config_error(
    tmp_path: Path, url: str, instead: str
) -> None:
    """Its posts' ids were tag:::1,2000:p0, not tag: URIs: the gate refused
    every feed holding a post, on every build."""
    config = site(tmp_path, n=2, url=url)
    code, out, err = cli("build", "-c", str(config))
    assert code == 2 and out == "", err
    assert err.startswith(f"feedwright: {config}:3: site.url: {url!r}: its host "), err
    assert "(tag:<host>,2000:<path>; RFC 4151 takes a domain name)" in err
    assert f"Write the host as {instead}" in err and "Traceback" not in err
    assert not (tmp_path / "feeds").exists() and not (tmp_path / "feedwright.ids").exists()


def test_a_lost_ledger_is_restored_from_the_state(backend: Backend, tmp_path: Path) -> None:
    config = site(tmp_path, state=backend.location)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    first = ids(tmp_path / "feeds" / "atom.xml")
    saved = (tmp_path / "feedwright.ids").read_text(encoding="utf-8")
    (tmp_path / "feedwright.ids").unlink()
    configure(tmp_path, url="https://three.example/", state=backend.location)
    code, _, err = cli("build", "-q", "-c", str(config))
    assert code == 0, err
    assert ids(tmp_path / "feeds" / "atom.xml") == first
    assert (tmp_path / "feedwright.ids").read_text(encoding="utf-8") == saved


def test_remote_entries_keep_their_own_ids_and_never_count(
    tmp_path: Path, http_server: Any
) -> None:
    def rss(prefix: str) -> bytes:
        items = "".join(
            f"<item><title>R{i}{prefix[-2]}</title><guid>{prefix}{i}</guid>"
            f"<link>{prefix}{i}</link><category>Tech</category>"
            f"<pubDate>Mon, 0{i + 1} Jan 2024 00:00:00 GMT</pubDate></item>"
            for i in range(5)
        )
        return f'<rss version="2.0"><channel><title>R</title>{items}</channel></rss>'.encode()

    url = http_server.route("/feed.xml", body=rss("https://r.example/a/"))
    config = site(tmp_path, n=1)
    config.write_text(config.read_text().replace("sources:\n", f"sources:\n  - feed: {url}\n"))
    code, _, err = cli("build", "-q", "-c", str(config))
    assert code == 0, err
    assert "r.example" not in (tmp_path / "feedwright.ids").read_text(encoding="utf-8")
    http_server.route("/feed.xml", body=rss("https://r.example/b/"))  # every remote id changes
    code, _, err = cli("build", "-q", "--refresh", "-c", str(config))
    assert code == 0, err
    assert "https://r.example/b/0" in (tmp_path / "feeds" / "atom.xml").read_text(encoding="utf-8")


def test_the_daemon_logs_a_refusal_once_and_publishes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from feedwright.daemon import Daemon
    from feedwright.parallel import Pool

    config = site(tmp_path)
    assert cli("build", "-q", "-c", str(config))[0] == 0
    published = {p: p.read_bytes() for p in (tmp_path / "feeds").rglob("*") if p.is_file()}
    for i in range(3):
        post = tmp_path / "posts" / f"p{i}.md"
        own = f"id: tag:d.example,2024:{i}\n---\nBody"
        post.write_text(post.read_text(encoding="utf-8").replace("---\nBody", own))
    caplog.set_level(logging.INFO, logger="feedwright")
    with Pool(1, timeout=60) as pool:
        daemon = Daemon(feedwright.load_config(config), pool)
        assert daemon.rebuild() is None
        assert daemon.rebuild() is None
    refusals = [r for r in caplog.records if "refused to publish" in r.getMessage()]
    assert len(refusals) == 1 and "atom.xml (3 of 5)" in refusals[0].getMessage()
    assert {p: p.read_bytes() for p in (tmp_path / "feeds").rglob("*") if p.is_file()} == published


TWO_FOLDERS = """\
site:
  title: Ids
  url: https://one.example/
sources:
  - posts: posts
    permalink: "{slug}/"
  - posts: notes
    permalink: "notes/{slug}/"
output:
  dir: feeds
  limit: 3
"""


def test_posts_edited_in_place_resolve_as_the_whole_ledger_would(tmp_path: Path) -> None:
    """A build that finds posts only edited in place resolves just those
    against the ledger (the rest as the last build did). Each step is built
    twice from the same files and state: so, and again after someone touched
    the ledger (a comment line), which makes the build resolve every post
    again. Both give the same feeds, ledger and report."""
    one = tmp_path / "site"
    site(one, n=6)
    (one / "notes").mkdir()
    for i in range(3):
        (one / "notes" / f"n{i}.md").write_text(f"---\ntitle: Note {i}\n---\nNote body {i}\n")
        os.utime(one / "notes" / f"n{i}.md", (1_700_000_000 + i, 1_700_000_000 + i))
    config = one / "config.yaml"
    config.write_text(TWO_FOLDERS, encoding="utf-8")
    assert cli("build", "-q", "-c", str(config))[0] == 0
    posts, notes = one / "posts", one / "notes"

    def edit(path: Path, old: str, new: str) -> None:
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")

    def outputs() -> dict[str, bytes]:
        # A tombstone's when= is its build's time to the second: the two
        # builds of a step may fall in different seconds.
        files = [one / "feedwright.ids", *(one / "feeds").rglob("*.xml")]
        return {
            str(p.relative_to(one)): re.sub(rb' when="[^"]*"', b' when="-"', p.read_bytes())
            for p in files
        }

    steps = [
        lambda: edit(posts / "p5.md", "Body 5", "Body 5, edited"),
        lambda: (edit(posts / "p1.md", "Post 1", "Post one"), edit(notes / "n2.md", "2", "two")),
        lambda: edit(posts / "p4.md", "date: 2024-01-05", "date: 2024-03-01"),
        lambda: (notes / "n0.md").touch(),  # an undated post's own date moves; the ledger's stays
        lambda: edit(posts / "p2.md", "title: Post 2", "title: [broken"),
        lambda: edit(posts / "p2.md", "title: [broken", "title: Post 2 fixed"),
        lambda: edit(posts / "p3.md", "---\nBody", "id: tag:x.example,2024:3\n---\nBody"),
        lambda: edit(posts / "p0.md", "title: Post 0", "title: Post 0\ndraft: true"),
        lambda: edit(posts / "p0.md", "draft: true", "draft: false"),
        lambda: (posts / "new.md").write_text("---\ntitle: [bad\n---\nNew\n"),
        lambda: (posts / "new.md").write_text("---\ntitle: New\ndate: 2024-06-01\n---\nNew\n"),
    ]
    before = tmp_path / "before"
    for n, step in enumerate(steps):
        step()
        shutil.copytree(one, before, symlinks=True)  # (file times kept: the same stamps)
        got = cli("build", "-c", str(config)), outputs()
        shutil.rmtree(one)
        before.rename(one)
        with (one / "feedwright.ids").open("a", encoding="utf-8") as ledger:
            ledger.write("# touched: the whole ledger is resolved again\n")
        want = cli("build", "-c", str(config)), outputs()
        assert got == want, n
        assert got[0][0] in (0, 1), got  # 1: a post's problem


# --------------------------------------------------------------------------- a file's time ahead

YEAR_2100 = 4_102_444_800  # 2100-01-01T00:00:00Z


def dates(feed: Path) -> dict[str, str]:
    """title -> published date of every entry of an Atom file."""
    text = feed.read_text(encoding="utf-8")
    found = re.findall(r"<entry>.*?<title>([^<]*)</title>.*?<published>([^<]+)<", text, re.S)
    return dict(found)


def test_an_undated_post_whose_file_is_ahead_of_the_clock_is_dated_by_its_first_build(
    tmp_path: Path,
) -> None:
    """A file's mtime in 2100 (copied from a machine whose clock was wrong) is
    no schedule: the post is published, dated by the build, with a warning
    naming the file and its mtime, and the ledger keeps that date once the
    file's time is set right. A date its author wrote in 2100 is a schedule."""
    config = site(tmp_path, n=1)
    ahead = tmp_path / "posts" / "ahead.md"
    ahead.write_text("---\ntitle: Ahead\n---\nCopied from a machine whose clock ran ahead\n")
    os.utime(ahead, (YEAR_2100, YEAR_2100))
    (tmp_path / "posts" / "later.md").write_text("---\ntitle: Later\ndate: 2100-01-01\n---\nx\n")
    report = feedwright.build(config, now=NOW)
    assert report.held == 1  # later.md only
    said = [w for w in report.warnings if "ahead of the clock" in w]
    assert len(said) == 1, report.warnings
    assert said[0].startswith("posts/ahead.md: its file's mtime, 2100-01-01T00:00:00Z, is ahead")
    assert "dated by the build that first publishes it (this one: 2026-06-01T12:00:00Z)" in said[0]
    atom = tmp_path / "feeds" / "atom.xml"
    assert dates(atom) == {"Ahead": "2026-06-01T12:00:00Z", "Post 0": "2024-01-01T00:00:00Z"}
    recorded = (tmp_path / "feedwright.ids").read_text(encoding="utf-8")
    assert re.search(r"^posts/ahead\.md\t.*\t2026-06-01T12:00:00Z$", recorded, re.M)
    assert re.search(r"^posts/later\.md\t.*\t2100-01-01T00:00:00Z$", recorded, re.M)
    # The file's time set right, and touched: the date stays, said no more.
    os.utime(ahead, (1_700_000_000, 1_700_000_000))
    again = feedwright.build(config, now=datetime(2026, 6, 2, tzinfo=UTC))
    assert again.held == 1 and not [w for w in again.warnings if "ahead" in w]
    assert dates(atom)["Ahead"] == "2026-06-01T12:00:00Z"
    assert (tmp_path / "feedwright.ids").read_text(encoding="utf-8") == recorded


def test_a_ledger_date_ahead_of_the_clock_for_an_undated_post_is_mended(tmp_path: Path) -> None:
    """What an earlier feedwright wrote for such a post (its file's 2100 as its
    first date, held back until then) is mended by the next build: the post
    is dated by it, said once, and the line rewritten."""
    config = site(tmp_path, n=1)
    ahead = tmp_path / "posts" / "ahead.md"
    ahead.write_text("---\ntitle: Ahead\n---\nCopied from a machine whose clock ran ahead\n")
    os.utime(ahead, (1_700_000_000, 1_700_000_000))
    feedwright.build(config, now=NOW)
    ids_file = tmp_path / "feedwright.ids"
    old = ids_file.read_text(encoding="utf-8").replace(
        "2023-11-14T22:13:20Z", "2100-01-01T00:00:00Z"
    )
    ids_file.write_text(old, encoding="utf-8")
    os.utime(ahead, (YEAR_2100, YEAR_2100))
    later = datetime(2026, 6, 2, tzinfo=UTC)
    report = feedwright.build(config, now=later)
    assert report.held == 0
    said = [w for w in report.warnings if "ahead of the clock" in w]
    assert len(said) == 1 and said[0].startswith(
        "posts/ahead.md: its date in the id ledger, 2100-01-01T00:00:00Z, is ahead of the clock"
    ), report.warnings
    assert dates(tmp_path / "feeds" / "atom.xml")["Ahead"] == "2026-06-02T00:00:00Z"
    assert "2100" not in ids_file.read_text(encoding="utf-8")
    assert not feedwright.build(config, now=later).warnings


def test_a_file_a_little_ahead_of_the_clock_is_published_without_a_word(tmp_path: Path) -> None:
    """Clocks of machines sharing a folder differ by seconds: a file up to 5
    minutes ahead is dated by the build, silently; hours ahead, with a
    warning. A build told an earlier time (a replay) still holds back a post
    whose file is later than that time but not ahead of the clock."""
    config = site(tmp_path, n=1)
    posts = tmp_path / "posts"
    clock = datetime.now(UTC).timestamp()
    for name, by in (("skewed.md", 60), ("hours.md", 3 * 3600)):
        (posts / name).write_text(f"---\ntitle: {name}\n---\nWritten {by} seconds ahead\n")
        os.utime(posts / name, (clock + by, clock + by))
    before = datetime.now(UTC).replace(microsecond=0)
    report = feedwright.build(config)
    assert report.held == 0
    said = [w for w in report.warnings if "ahead of the clock" in w]
    assert [w.split(":")[0] for w in said] == ["posts/hours.md"]
    got = dates(tmp_path / "feeds" / "atom.xml")
    for name in ("skewed.md", "hours.md"):
        assert before <= datetime.fromisoformat(got[name]) <= datetime.now(UTC), got

    replay = tmp_path / "replay"
    config = site(replay, n=1)
    (replay / "posts" / "recent.md").write_text("---\ntitle: Recent\n---\nWritten a minute ago\n")
    os.utime(replay / "posts" / "recent.md", (clock - 60, clock - 60))
    report = feedwright.build(config, now=datetime.fromtimestamp(clock - 86_400, UTC))
    assert report.held == 1 and not [w for w in report.warnings if "ahead" in w]


def test_a_scheduled_post_whose_date_is_removed_is_no_longer_held(tmp_path: Path) -> None:
    """Its line keeps the date written then (2100); without a date of its own
    the post has no schedule: the next build publishes it, dated then."""
    config = site(tmp_path, n=1)
    later = tmp_path / "posts" / "later.md"
    later.write_text("---\ntitle: Later\ndate: 2100-01-01\n---\nx\n")
    assert feedwright.build(config, now=NOW).held == 1
    later.write_text("---\ntitle: Later\n---\nx\n")
    report = feedwright.build(config, now=datetime(2026, 6, 2, tzinfo=UTC))
    assert report.held == 0
    assert [w.split(":")[0] for w in report.warnings if "ahead" in w] == ["posts/later.md"]
    assert dates(tmp_path / "feeds" / "atom.xml")["Later"] == "2026-06-02T00:00:00Z"
