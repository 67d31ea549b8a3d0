"""The no-change shortcut (quick.py): answered before the library is imported,
it must say exactly what a real build would, and step aside whenever a real
build could find something to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_cli import CONFIG, make_site

import feedwright.app as app_module
import feedwright.quick as quick_module
from feedwright.cli import main
from feedwright.lock import output_lock
from feedwright.quick import guess_state
from feedwright.statedb import DEFAULT_STATE

ROOT = Path(__file__).resolve().parent.parent


def run(
    config: Path, *extra: str, capsys: pytest.CaptureFixture[str], real: bool = False
) -> tuple[int, str, str]:
    """``feedwright build``; ``real`` turns the shortcut off."""
    old = os.environ.pop("FEEDWRIGHT_NO_SHORTCUT", None)
    if real:
        os.environ["FEEDWRIGHT_NO_SHORTCUT"] = "1"
    try:
        code = main(["build", "-c", str(config), *extra])
    finally:
        os.environ.pop("FEEDWRIGHT_NO_SHORTCUT", None)
        if old is not None:
            os.environ["FEEDWRIGHT_NO_SHORTCUT"] = old
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def no_real_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if a build gets past the shortcut."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the shortcut should have answered")

    monkeypatch.setattr(app_module, "run_once", refuse)


def site_with_problems(folder: Path) -> Path:
    config = make_site(folder)
    (folder / "posts" / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    (folder / "posts" / "later.md").write_text(
        "---\ntitle: Later\ndate: 2999-01-01\ncategories: [Soon]\n---\nnot yet\n"
    )
    return config


@pytest.mark.parametrize("extra", [(), ("--json",), ("-q",), ("--offline", "--json")])
def test_the_shortcut_says_what_a_real_build_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...]
) -> None:
    config = site_with_problems(tmp_path)
    first = run(config, capsys=capsys)
    assert first[0] == 1 and "broken.md" in first[2]
    real = run(config, *extra, capsys=capsys, real=True)
    quick = run(config, *extra, capsys=capsys)
    assert quick == real
    assert quick[0] == 1 and "broken.md" in quick[2]
    if "--json" in extra:
        summary = json.loads(quick[1])
        assert summary["written"] == [] and summary["held_future_posts"] == 1
        assert summary["next_post_at"].startswith("2998-12-31T16:00")


def test_the_shortcut_answers_without_importing_the_library(tmp_path: Path) -> None:
    config = make_site(tmp_path)
    assert main(["build", "-c", str(config)]) == 0
    probe = (
        "import sys\n"
        "from feedwright.cli import main\n"
        f"code = main(['build', '-c', {str(config)!r}])\n"
        "heavy = {'yaml', 'argparse', 'feedwright.config', 'feedwright.app',"
        " 'feedwright.store', 'feedwright.publish', 'pathlib', 'dataclasses'}\n"
        "print(code, sorted(heavy & set(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("FEEDWRIGHT_NO_SHORTCUT", None)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.splitlines()[-1] == "0 []", done.stdout + done.stderr
    assert "0 files written" in done.stdout


def test_every_change_a_real_build_would_see_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_site(tmp_path)
    assert run(config, capsys=capsys)[0] == 0
    calls: list[int] = []
    real = app_module.run_once

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(app_module, "run_once", counting)

    def built() -> bool:
        before = len(calls)
        assert run(config, capsys=capsys)[0] == 0
        return len(calls) > before

    assert not built()
    post = tmp_path / "posts" / "2022-06-28-rates.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nmore\n", encoding="utf-8")
    assert built() and not built()
    (tmp_path / "posts" / "new.md").write_text("---\ntitle: New\ndate: 2022-07-01\n---\nhi\n")
    assert built() and not built()
    (tmp_path / "posts" / "new.md").unlink()
    assert built() and not built()
    config.write_text(CONFIG.replace("江南新闻", "江南日报"), encoding="utf-8")
    assert built() and not built()
    (tmp_path / "feeds" / "atom.xml").write_bytes(b"tampered")
    assert built() and not built()
    (tmp_path / "feeds" / "rss.xml").unlink()
    assert built() and not built()
    assert b"tampered" not in (tmp_path / "feeds" / "atom.xml").read_bytes()
    assert (tmp_path / "feeds" / "rss.xml").is_file()
    # Another version of feedwright built last: its record is not trusted.
    monkeypatch.setattr(quick_module, "build_id", lambda: "other")
    assert built()


def test_a_held_back_post_falling_due_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = site_with_problems(tmp_path)
    run(config, capsys=capsys)
    monkeypatch.setattr(app_module, "run_once", None)  # calling it fails: shortcut taken
    assert run(config, capsys=capsys)[0] == 1
    later = 32503680000.0 + 86400  # 3000-01-01, after the post's date
    monkeypatch.setattr(quick_module.time, "time", lambda: later)
    with pytest.raises(TypeError):  # the shortcut stepped aside: run_once is None
        run(config, capsys=capsys)


def test_remote_feeds_are_refreshed_unless_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = "  - posts: posts\n  - feed: http://127.0.0.1:9/feed.xml\n"
    config = make_site(tmp_path, CONFIG.replace("  - posts: posts\n", feed))
    assert run(config, "--offline", capsys=capsys)[0] == 0
    monkeypatch.setattr(app_module, "run_once", None)  # calling it fails: shortcut taken
    assert run(config, "--offline", capsys=capsys)[0] == 0
    with pytest.raises(TypeError):  # without --offline the feed must be refreshed
        run(config, capsys=capsys)


def test_a_locked_output_is_left_to_the_real_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_site(tmp_path)
    run(config, capsys=capsys)
    with output_lock(tmp_path / "feeds"):
        code, _, err = run(config, capsys=capsys)
    assert code == 3 and "another feedwright" in err


def test_a_moved_symlink_is_built(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Deploys that switch a `current` symlink between releases: same config
    # bytes, same link, other files behind it.
    site = tmp_path / "site"
    make_site(site)
    (site / "posts").rename(site / "release-1")
    other = site / "release-2"
    other.mkdir()
    (other / "only.md").write_text("---\ntitle: Only in two\ndate: 2022-07-01\n---\nhi\n")
    (site / "current").symlink_to("release-1")
    config = site / "config.yaml"
    config.write_text(CONFIG.replace("posts: posts", "posts: current"), encoding="utf-8")
    assert "2 posts" in run(config, capsys=capsys)[1]
    (site / "current").unlink()
    (site / "current").symlink_to("release-2")
    assert "1 posts" in run(config, capsys=capsys)[1]
    assert b"Only in two" in (site / "feeds" / "atom.xml").read_bytes()


def test_arguments_it_does_not_know_go_to_argparse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_real_build: None
) -> None:
    # (no_real_build: any real build fails; argparse's own errors exit 2 first)
    config = make_site(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "-c", str(config), "--bogus"])
    assert exit_info.value.code == 2
    assert "--bogus" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("site:\n  title: x\n", DEFAULT_STATE),
        ("state: data/s.db\n", "data/s.db"),
        ("state:   data/s.db   # where\n", "data/s.db"),
        ("state: 'my state.db'\n", "my state.db"),
        ('state: "s.db" # c\n', "s.db"),
        ("statefile: x\nstate: s.db\n", "s.db"),
        ("site:\n  state: nested.db\n", DEFAULT_STATE),  # not top level
        ("state: &a s.db\n", None),
        ("state: |\n  s.db\n", None),
        ("state: 'it''s.db'\n", None),
        ('state: "a\\tb"\n', None),
        ("state: a.db\nstate: b.db\n", None),
        ("state:\n", None),
    ],
)
def test_the_state_path_is_read_off_plain_lines_only(text: str, want: str | None) -> None:
    got = guess_state("/site/config.yaml", text)
    assert got == (None if want is None else os.path.join("/site", want))


def test_a_record_left_by_another_config_is_not_trusted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two configs in one folder share the default state database; the record
    # there names the config that built last.
    config = make_site(tmp_path)
    other = tmp_path / "other.yaml"
    other.write_bytes(config.read_bytes())
    run(config, capsys=capsys)
    monkeypatch.setattr(app_module, "run_once", None)  # calling it fails: shortcut taken
    assert run(config, capsys=capsys)[0] == 0
    with pytest.raises(TypeError):
        run(other, capsys=capsys)


def test_an_unreadable_state_line_is_left_to_the_real_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_site(tmp_path, CONFIG + "state: !!str custom.db\n")
    run(config, capsys=capsys)
    assert (tmp_path / "custom.db").is_file()
    assert not (tmp_path / ".feedwright").exists()  # the guess created nothing
    monkeypatch.setattr(app_module, "run_once", None)
    with pytest.raises(TypeError):
        run(config, capsys=capsys)


def test_a_build_after_the_shortcut_stats_the_posts_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_site(tmp_path)
    run(config, capsys=capsys)
    walks: list[list[str]] = []

    def counting(name: str, real: Any) -> Any:
        def snapshot(roots: Any) -> Any:
            roots = list(roots)
            walks.append([f"{name}:{os.path.basename(r)}" for r in roots])
            return real(roots)

        return snapshot

    monkeypatch.setattr(quick_module, "snapshot", counting("quick", quick_module.snapshot))
    monkeypatch.setattr(app_module, "stat_posts", counting("build", app_module.stat_posts))
    post = tmp_path / "posts" / "2022-06-28-rates.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nedited\n", encoding="utf-8")
    code, out, _ = run(config, capsys=capsys)
    assert code == 0 and "files written, " in out and " 0 files written" not in out
    assert walks == [["quick:posts"]]  # the build used the shortcut's snapshot
    # Another posts folder in the config: the shortcut's snapshot is of the old one.
    walks.clear()
    (tmp_path / "posts").rename(tmp_path / "articles")
    config.write_text(CONFIG.replace("posts: posts", "posts: articles"), encoding="utf-8")
    assert run(config, capsys=capsys)[0] == 0
    assert walks == [["quick:posts"], ["build:articles"]]
    assert b"Rates hold steady" in (tmp_path / "feeds" / "atom.xml").read_bytes()


def test_an_edit_build_reuses_the_last_parse_of_the_config(tmp_path: Path) -> None:
    # The same config file, unchanged: the build after the shortcut takes the
    # parse the last build saved, and never imports PyYAML (the edited post's
    # front matter is simple enough for the fast path too).
    config = make_site(tmp_path)
    assert main(["build", "-c", str(config)]) == 0
    post = tmp_path / "posts" / "2022-06-28-rates.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nedited\n", encoding="utf-8")
    probe = (
        "import sys\n"
        "from feedwright.cli import main\n"
        f"code = main(['build', '-c', {str(config)!r}])\n"
        "print(code, 'yaml' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("FEEDWRIGHT_NO_SHORTCUT", None)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    lines = done.stdout.splitlines()
    assert lines[-1] == "0 False", done.stdout + done.stderr
    assert "2 posts" in lines[0] and " 0 files written" not in lines[0]
    assert b"edited" in (tmp_path / "feeds" / "atom.xml").read_bytes()


def test_a_changed_config_is_parsed_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_site(tmp_path)
    run(config, capsys=capsys)
    config.write_text(CONFIG.replace("江南新闻", "江南日报"), encoding="utf-8")
    assert run(config, capsys=capsys)[0] == 0
    assert "江南日报" in (tmp_path / "feeds" / "atom.xml").read_text(encoding="utf-8")
    # The config unchanged but its posts folder gone: still the config error
    # (exit 2, nothing written), never empty feeds over the published ones.
    before = (tmp_path / "feeds" / "atom.xml").read_bytes()
    (tmp_path / "posts").rename(tmp_path / "elsewhere")
    code, _, err = run(config, capsys=capsys)
    assert code == 2 and "no such folder" in err
    assert (tmp_path / "feeds" / "atom.xml").read_bytes() == before


def test_a_saved_config_round_trips_and_builds_nothing_else(tmp_path: Path) -> None:
    import pickle

    from feedwright.config import from_bytes, load, to_bytes

    feed = "  - posts: posts\n  - feed: https://a.example/feed.xml\n    every: 2h\n"
    config = load(make_site(tmp_path, CONFIG.replace("  - posts: posts\n", feed)))
    back = from_bytes(to_bytes(config))
    assert back == config and back.resolved == config.resolved
    hostile = pickle.dumps(print)  # any callable outside a config's classes
    for data in (hostile, pickle.dumps({"a": 1}), b"", b"garbage"):
        with pytest.raises(ValueError, match="not a saved config"):
            from_bytes(data)


@pytest.mark.parametrize(
    "damage",
    [
        lambda record: record["quick"].update(parsed=__import__("pickle").dumps(print).hex()),
        lambda record: record["quick"].update(parsed="not hex"),
        lambda record: record.update(quick="not a mapping"),
        lambda record: record.update(summary={}),
        lambda record: record.update(stamps={"atom.xml": "x"}),
    ],
    ids=["hostile-parse", "bad-hex", "no-quick-block", "no-summary", "bad-stamps"],
)
def test_a_damaged_record_is_left_to_the_real_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Any
) -> None:
    # The record is read before anything vouches for it: whatever it holds,
    # the build still happens and publishes the edit (parsing the config anew).
    import sqlite3

    config = make_site(tmp_path)
    run(config, capsys=capsys)
    db = sqlite3.connect(tmp_path / DEFAULT_STATE)
    (raw,) = db.execute("SELECT value FROM meta WHERE key = 'build'").fetchone()
    record = json.loads(raw)
    damage(record)
    db.execute("UPDATE meta SET value = ? WHERE key = 'build'", (json.dumps(record),))
    db.commit()
    db.close()
    code, out, _ = run(config, capsys=capsys)  # nothing changed but the record
    assert code == 0 and "2 posts" in out
    post = tmp_path / "posts" / "2022-06-28-rates.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nafter damage\n", encoding="utf-8")
    code, out, _ = run(config, capsys=capsys)
    assert code == 0 and "2 posts" in out
    assert "after damage" in (tmp_path / "feeds" / "atom.xml").read_text(encoding="utf-8")
