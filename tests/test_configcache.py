"""``build`` keeps its parsed config in ``.feedwright/<name>.cache`` beside the
config file: these tests check that the kept parse never differs from a fresh
one (a changed text, a re-pointed symlink, a removed folder), and that a
damaged or crafted cache file is parsed again, never run."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from conftest import run_cli

CONFIG = """\
site:
  title: {title}
  url: https://cache.example/
sources:
  - posts: posts
output:
  dir: {out}
state: {state}
"""


def site(folder: Path, title: str = "Kept", out: str = "feeds", state: str = "") -> Path:
    (folder / "posts").mkdir(parents=True, exist_ok=True)
    (folder / "posts" / "a.md").write_text(
        "---\ntitle: 一篇 post\ndate: Mon, 01 Jan 2024 08:00:00 +0800\ncategories: [News]\n---\n"
        "<p>body</p>\n",
        encoding="utf-8",
    )
    config = folder / "config.yaml"
    state = state or ".feedwright/state.db"
    config.write_text(CONFIG.format(title=title, out=out, state=state), encoding="utf-8")
    return config


def build(config: Path) -> tuple[int, str]:
    code, _, err = run_cli("build", "-q", "-c", str(config))
    return code, err


def cache_of(config: Path) -> Path:
    return config.parent / ".feedwright" / f"{config.name}.cache"


def test_a_changed_config_is_read_again(tmp_path: Path) -> None:
    config = site(tmp_path, title="First")
    assert build(config) == (0, "")
    assert cache_of(config).is_file()
    assert build(config) == (0, "")  # from the cache
    assert "<title>First</title>" in (tmp_path / "feeds" / "atom.xml").read_text("utf-8")

    site(tmp_path, title="Second")
    assert build(config) == (0, "")
    assert "<title>Second</title>" in (tmp_path / "feeds" / "atom.xml").read_text("utf-8")


def test_a_re_pointed_symlinked_output_folder_is_followed(tmp_path: Path) -> None:
    (tmp_path / "release-1").mkdir()
    (tmp_path / "release-2").mkdir()
    (tmp_path / "live").symlink_to("release-1")
    config = site(tmp_path, out="live")
    assert build(config) == (0, "")
    assert (tmp_path / "release-1" / "atom.xml").is_file()

    (tmp_path / "live").unlink()
    (tmp_path / "live").symlink_to("release-2")
    assert build(config) == (0, "")
    assert (tmp_path / "release-2" / "atom.xml").is_file()


def test_a_posts_folder_removed_since_is_the_error_a_fresh_parse_gives(tmp_path: Path) -> None:
    config = site(tmp_path)
    assert build(config) == (0, "")
    (tmp_path / "posts").rename(tmp_path / "posts-old")

    cached = build(config)
    cache_of(config).unlink()
    fresh = build(config)
    assert cached == fresh
    assert cached[0] == 2 and "posts" in cached[1] and "no such folder" in cached[1]


class Planted:
    """What a crafted cache file would make: a file, when unpickled by anyone."""

    def __init__(self, mark: Path) -> None:
        self.mark = mark

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (os.rename, (str(self.mark), str(self.mark) + ".moved"))


def test_a_damaged_or_crafted_cache_file_is_parsed_again_never_run(tmp_path: Path) -> None:
    config = site(tmp_path, title="Real")
    assert build(config) == (0, "")
    good = cache_of(config).read_bytes()
    key = good[:16]  # (the file: a 16-byte key, then the pickle)
    mark = tmp_path / "mark"
    mark.write_text("here", encoding="utf-8")

    for planted in (b"garbage", key + b"\x80\x05garbage", key + pickle.dumps(Planted(mark))):
        cache_of(config).write_bytes(planted)
        (tmp_path / "feeds" / "atom.xml").unlink()  # (so the build publishes again)
        assert build(config) == (0, "")
        assert mark.read_text("utf-8") == "here"  # never unpickled into a call
        assert "<title>Real</title>" in (tmp_path / "feeds" / "atom.xml").read_text("utf-8")
        assert cache_of(config).read_bytes()[:16] == key  # and kept again


def test_a_cache_that_cannot_be_written_only_means_parsing_again(tmp_path: Path) -> None:
    config = site(tmp_path)
    cache_of(config).mkdir(parents=True)  # (a folder where the file would go)
    assert build(config) == (0, "")
    assert build(config) == (0, "")
    assert (tmp_path / "feeds" / "atom.xml").is_file()
    assert cache_of(config).is_dir()
    assert not list((tmp_path / ".feedwright").glob("*.tmp"))  # no half-written cache left


def test_a_config_with_its_state_elsewhere_leaves_nothing_beside_it(tmp_path: Path) -> None:
    config = site(tmp_path, state="../state/state.db")
    assert build(config) == (0, "")
    assert build(config) == (0, "")
    assert not (tmp_path / ".feedwright").exists()
    assert (tmp_path / "feeds" / "atom.xml").is_file()
