"""A category feed's folder, once published, stays its category's.

A feed reader polls ``go-lang/atom.xml`` for category "Go Lang"; a new
category that slugifies to the same folder (``go-lang``) must not take that
address over, or those subscribers silently get another category's posts.
"""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest

from feedwright.cli import main

BASE = """\
site:
  title: Folders
  url: https://example.com/
sources:
  - posts: posts
output:
  dir: out
state: state.db
"""


def write_post(root: Path, name: str, title: str, category: str, day: int = 1) -> None:
    (root / "posts").mkdir(exist_ok=True)
    meta = f"title: {title}\ndate: 2024-05-{day:02d}\ncategories: [{category}]"
    text = f"---\n{meta}\n---\n\nThe body of {title}.\n"
    (root / "posts" / name).write_text(text, encoding="utf-8")


def build(config: Path) -> None:
    assert main(["build", "-q", "-c", str(config)]) == 0


def folders(root: Path) -> dict[str, str]:
    """Each category folder of the output and the category its feed is for."""
    out = {}
    for atom in sorted((root / "out").glob("*/atom.xml")):
        feed = feedparser.parse(atom.read_bytes()).feed
        out[atom.parent.name] = str(feed.title).removeprefix("Folders - ")
    return out


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(BASE, encoding="utf-8")
    return path


def test_a_new_category_never_takes_a_published_categorys_folder(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = config.parent
    write_post(root, "a.md", "First", "Go Lang")
    build(config)
    assert folders(root) == {"go-lang": "Go Lang"}
    # "go-lang" slugifies to go-lang too, and as a name equal to its slug it
    # would win the folder if both were new.
    write_post(root, "b.md", "Second", "go-lang", day=2)
    build(config)
    now = folders(root)
    assert now["go-lang"] == "Go Lang"
    [other] = [f for f, c in now.items() if c == "go-lang"]
    assert other.startswith("go-lang-")
    titles = [
        e.title for e in feedparser.parse((root / "out/go-lang/atom.xml").read_bytes()).entries
    ]
    assert titles == ["First"]
    capsys.readouterr()
    assert main(["check", "-c", str(config)]) == 0
    said = (
        f"{config}: category “go-lang” is published in {other}/, not go-lang/: an earlier"
        " build published category “Go Lang” there"
    )
    assert said in capsys.readouterr().err
    # Built again, nothing moves.
    build(config)
    assert folders(root) == now


def test_both_new_in_one_build_the_category_named_as_the_folder_takes_it(config: Path) -> None:
    root = config.parent
    write_post(root, "a.md", "First", "Go Lang")
    write_post(root, "b.md", "Second", "go-lang", day=2)
    build(config)
    now = folders(root)
    assert now["go-lang"] == "go-lang" and len(now) == 2


def test_a_category_that_leaves_and_comes_back_gets_its_folder_back(config: Path) -> None:
    root = config.parent
    write_post(root, "a.md", "First", "Go Lang")
    build(config)
    (root / "posts/a.md").unlink()
    write_post(root, "b.md", "Second", "go-lang", day=2)
    build(config)
    now = folders(root)
    assert "go-lang" not in now and list(now.values()) == ["go-lang"]
    write_post(root, "a.md", "First", "Go Lang")
    build(config)
    back = folders(root)
    assert back["go-lang"] == "Go Lang" and back == {**now, "go-lang": "Go Lang"}


def test_check_names_a_category_gone_from_the_posts_as_its_feed_spelled_it(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = config.parent
    write_post(root, "a.md", "First", "Go Lang")
    build(config)
    (root / "posts/a.md").unlink()
    write_post(root, "b.md", "Second", "go-lang", day=2)
    capsys.readouterr()
    assert main(["check", "-c", str(config)]) == 0
    assert "an earlier build published category “Go Lang” there" in capsys.readouterr().err


def test_a_category_in_a_hashed_folder_keeps_it_when_the_other_leaves(config: Path) -> None:
    root = config.parent
    write_post(root, "b.md", "Second", "go-lang", day=2)
    build(config)
    write_post(root, "a.md", "First", "Go Lang")
    build(config)
    [hashed] = [f for f, c in folders(root).items() if c == "Go Lang"]
    assert hashed.startswith("go-lang-")
    (root / "posts/b.md").unlink()
    build(config)
    # Its subscribers read the hashed folder: it does not move to go-lang/.
    assert folders(root) == {hashed: "Go Lang"}


def test_output_rename_still_gives_a_folder_to_whom_the_user_says(config: Path) -> None:
    root = config.parent
    write_post(root, "a.md", "First", "Go Lang")
    build(config)
    write_post(root, "b.md", "Second", "go-lang", day=2)
    config.write_text(BASE.replace("  dir: out\n", "  dir: out\n  rename: {go-lang: go-lang}\n"))
    build(config)
    now = folders(root)
    assert now["go-lang"] == "go-lang"
    assert next(f for f, c in now.items() if c == "Go Lang").startswith("go-lang-")


def test_a_new_slug_style_still_moves_every_folder(config: Path) -> None:
    root = config.parent
    write_post(root, "a.md", "First", "Café")
    build(config)
    assert folders(root) == {"café": "Café"}
    config.write_text(BASE.replace("  dir: out\n", "  dir: out\n  slugs: ascii\n"))
    build(config)
    assert folders(root) == {"cafe": "Café"}
    # ... and the folder left behind is barred to another category: its
    # subscribers were Café's.
    write_post(root, "b.md", "Second", "café-", day=2)
    config.write_text(BASE)
    (root / "posts/a.md").unlink()
    build(config)
    [(folder, category)] = folders(root).items()
    assert category == "café-" and folder.startswith("café-")


def test_a_folder_a_rename_left_is_never_given_to_another_category(config: Path) -> None:
    root = config.parent
    write_post(root, "a.md", "First", "Golang")
    config.write_text(BASE.replace("  dir: out\n", "  dir: out\n  rename: {Golang: go}\n"))
    build(config)
    assert folders(root) == {"go": "Golang"}
    config.write_text(BASE)
    write_post(root, "b.md", "Second", "Go", day=2)
    build(config)
    now = folders(root)
    assert now["golang"] == "Golang" and "go" not in now
    assert next(f for f, c in now.items() if c == "Go").startswith("go-")
    # output.rename still gives it to whom the user says.
    config.write_text(BASE.replace("  dir: out\n", "  dir: out\n  rename: {Go: go}\n"))
    build(config)
    assert folders(root)["go"] == "Go"


@pytest.mark.parametrize("formats", ["[atom, rss]", "[rss]"])
def test_a_lost_state_reads_who_owns_which_folder_from_the_published_feeds(
    config: Path, formats: str
) -> None:
    # A state deleted, or made by a feedwright that did not remember folders:
    # the feeds in output.dir say which category each folder is for.
    root = config.parent
    config.write_text(BASE.replace("  dir: out\n", f"  dir: out\n  formats: {formats}\n"))
    write_post(root, "a.md", "First", "Go Lang")
    build(config)
    (root / "state.db").unlink()
    write_post(root, "b.md", "Second", "go-lang", day=2)
    build(config)
    rss = feedparser.parse((root / "out/go-lang/rss.xml").read_bytes())
    assert rss.feed.title == "Folders - Go Lang"
    assert [e.title for e in rss.entries] == ["First"]
