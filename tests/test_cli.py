"""The command line end to end, on real files in temporary folders."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import feedparser
import pytest

import feedwright
from feedwright.cli import main
from feedwright.config import FeedSource
from feedwright.lock import output_lock

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seeds" / "000_67f0381bd51900c4.txt"

CONFIG = """\
site:
  title: 江南新闻
  url: https://news.example.com/
  author: 编辑部
  language: zh-CN
  timezone: Asia/Shanghai
sources:
  - posts: posts
output:
  dir: feeds
"""

SEED_SHAPED = """
---
title: '江南市农商行：推出小微企业贷款新产品 首月投放5亿元'
categories:
 - 金融
 - 中证网
 - 资讯
headimg: 'https://img.example.com/400/300?random=17'
author: 中证网
comments: false
date: Mon, 27 Jun 2022 13:05:00 GMT
thumbnail: 'https://img.example.com/400/300?random=17'
---

<div>
<p style="text-indent: 2em;">中证网讯 江南市农商行近日推出“小微快贷”，<b>首月</b>投放贷款5亿元。</p>
<p style="text-indent: 2em;">该行表示 & 将继续加大支持力度 <a href="/about/">了解更多</a>。</p>
</div>
"""

ENGLISH = """---
title: Rates hold steady
date: 2022-06-28 09:30
categories: Finance, Markets
tags: [rates]
---

# Rates hold steady

The central bank kept rates *unchanged*.
"""


def make_site(folder: Path, config: str = CONFIG) -> Path:
    (folder / "posts").mkdir(parents=True)
    (folder / "posts" / "seed.txt").write_text(SEED_SHAPED, encoding="utf-8")
    (folder / "posts" / "2022-06-28-rates.md").write_text(ENGLISH, encoding="utf-8")
    (folder / "config.yaml").write_text(config, encoding="utf-8")
    return folder / "config.yaml"


def build(config: Path, *extra: str) -> int:
    return main(["build", "-c", str(config), *extra])


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def test_build_publishes_category_feeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_site(tmp_path)
    assert build(config) == 0
    out = capsys.readouterr().out
    assert "2 posts, 5 categories" in out
    feeds = tmp_path / "feeds"
    for slug in ("金融", "中证网", "资讯"):
        for name in ("atom.xml", "rss.xml"):
            assert (feeds / slug / name).is_file()
    assert (feeds / "atom.xml").is_file() and (feeds / "index.opml").is_file()

    atom = feedparser.parse((feeds / "金融" / "atom.xml").read_bytes())
    assert not atom.bozo, atom.bozo_exception
    (entry,) = atom.entries
    assert entry.title == "江南市农商行：推出小微企业贷款新产品 首月投放5亿元"
    assert entry.published == "2022-06-27T13:05:00Z"
    assert entry.author == "中证网"
    assert "<b>首月</b>" in entry.content[0].value
    assert 'href="https://news.example.com/about/"' in entry.content[0].value
    rss = feedparser.parse((feeds / "金融" / "rss.xml").read_bytes())
    assert not rss.bozo, rss.bozo_exception
    assert rss.entries[0].id == entry.id
    assert any("img.example.com" in m["url"] for m in rss.entries[0].get("media_thumbnail", []))


def test_real_seed_post(tmp_path: Path) -> None:
    if not SEED.exists():
        pytest.skip("shared/seeds is not beside this checkout")
    (tmp_path / "posts").mkdir()
    shutil.copy(SEED, tmp_path / "posts" / SEED.name)
    (tmp_path / "config.yaml").write_text(CONFIG, encoding="utf-8")
    assert build(tmp_path / "config.yaml") == 0
    atom = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes())
    (entry,) = atom.entries
    assert entry.published == "2022-06-27T13:05:00Z"
    assert {t.term for t in entry.tags} >= {"金融", "中证网", "资讯"}
    assert entry.content[0].value.lstrip().startswith("<div>")


def test_two_folders_give_identical_bytes(tmp_path: Path) -> None:
    a = make_site(tmp_path / "a")
    b = make_site(tmp_path / "b")
    assert build(a) == 0
    assert build(b) == 0
    assert tree(tmp_path / "a" / "feeds") == tree(tmp_path / "b" / "feeds")


def test_no_change_rebuild_rewrites_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_site(tmp_path)
    assert build(config) == 0
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "feeds").rglob("*.xml")}
    capsys.readouterr()
    assert build(config) == 0
    assert " 0 files written" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "feeds").rglob("*.xml")} == before


def test_bad_post_is_named_and_the_rest_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_site(tmp_path)
    (tmp_path / "posts" / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    assert build(config) == 1
    captured = capsys.readouterr()
    assert "broken.md" in captured.err
    assert "2 posts" in captured.out
    assert (tmp_path / "feeds" / "金融" / "atom.xml").is_file()


def test_bad_config_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_site(tmp_path, CONFIG + "  limt: 5\n")
    assert build(config) == 2
    err = capsys.readouterr().err
    assert "output.limt" in err and "config.yaml:11" in err
    assert not (tmp_path / "feeds").exists()


def test_locked_output_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_site(tmp_path)
    with output_lock(tmp_path / "feeds"):
        assert build(config) == 3
        with pytest.raises(feedwright.LockError) as info:
            feedwright.build(config)
    err = capsys.readouterr().err
    assert "another feedwright" in err and "(build --wait SECONDS; Python: wait=)" in err
    # Held by this process (a thread of a program building twice at once): said so.
    assert f"(PID {os.getpid()}: this very process, another thread's build)" in str(info.value)
    assert build(config) == 0


def test_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_site(tmp_path)
    assert build(config, "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["posts"] == 2
    assert summary["categories"] == 5
    assert "atom.xml" in summary["written"]
    assert summary["problems"] == []


def test_check_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_site(tmp_path)
    assert main(["check", "-c", str(config)]) == 0
    assert "config ok; 2 posts" in capsys.readouterr().out
    assert not (tmp_path / "feeds").exists()
    (tmp_path / "posts" / "bad.md").write_bytes(b"---\ntitle: x\ndate: not a date\n---\n")
    assert main(["check", "-c", str(config)]) == 1
    assert "bad.md" in capsys.readouterr().err


def test_config_before_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `feedwright -c FILE build`, as git's and hugo's users type it; a -c
    # after the command wins over one before it.
    config = make_site(tmp_path / "site")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # (no config.yaml here: the default would fail)
    assert main(["-c", str(config), "build"]) == 0
    assert (tmp_path / "site" / "feeds" / "atom.xml").is_file()
    assert main([f"--config={config}", "check"]) == 0
    assert "config ok; 2 posts" in capsys.readouterr().out
    missing = tmp_path / "missing.yaml"
    assert main(["-c", str(missing), "build", "-c", str(config)]) == 0
    assert main(["-c", str(config), "build", "-c", str(missing)]) == 2
    assert "missing.yaml" in capsys.readouterr().err
    # init makes a folder's config.yaml: a -c before it is a usage error, not ignored.
    with pytest.raises(SystemExit) as exited:
        main(["-c", str(config), "init", str(tmp_path / "new")])
    assert exited.value.code == 2 and "without -c" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_feeds_written_inside_the_posts_folder_are_not_read_as_posts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As Jekyll never reads its _site: output.dir inside the posts folder (or
    # one it was before) holds index.html pages, which are not posts.
    config = make_site(tmp_path, CONFIG.replace("dir: feeds", "dir: posts/feeds"))
    for _ in range(3):
        assert build(config) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("2 posts, 5 categories, 0 files written")
    titles = [e.title for e in feedparser.parse(tmp_path / "posts/feeds/atom.xml").entries]
    assert len(titles) == 2 and "Rates hold steady" in titles
    # Moved elsewhere: the old output folder stays, and is still not read.
    config.write_text(CONFIG.replace("dir: feeds", "dir: feeds2"), encoding="utf-8")
    assert build(config) == 0
    assert "2 posts" in capsys.readouterr().out
    # The posts folder itself cannot be output.dir (its pages would be posts).
    config.write_text(CONFIG.replace("dir: feeds", "dir: posts"), encoding="utf-8")
    assert build(config) == 2
    assert "output.dir: is a posts folder" in capsys.readouterr().err


def test_init_then_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    assert main(["init", str(site)]) == 0
    assert (site / "config.yaml").is_file() and (site / "posts" / "hello.md").is_file()
    assert main(["init", str(site)]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert build(site / "config.yaml") == 0
    assert (site / "feeds" / "general" / "atom.xml").is_file()
    # The page it points to is there; the commented blocks are valid once uncommented.
    assert "feeds/index.html" in (site / "posts" / "hello.md").read_text()
    assert (site / "feeds" / "index.html").is_file() and (site / "feeds" / "feed.xsl").is_file()
    text = (site / "config.yaml").read_text()
    uncommented = re.sub(r"(?m)^# ((?:websub|podcast):|  \w+:)", r"\1", text)
    assert uncommented.count("\n# ") < text.count("\n# ") - 6
    (site / "config.yaml").write_text(uncommented)
    config = feedwright.load_config(site / "config.yaml")
    assert config.podcast is not None and config.podcast.category == ("Technology",)
    assert config.websub.hub == ("https://pubsubhubbub.appspot.com/",)


def test_init_where_a_file_is_in_the_way_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    assert main(["init", str(tmp_path / "notes.txt")]) == 2
    assert main(["init", str(tmp_path / "notes.txt" / "site")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert (
        err
        == [
            f"feedwright: {tmp_path / 'notes.txt'}: cannot create: a file is in the way of a folder"
        ]
        * 2
    )
    assert (tmp_path / "notes.txt").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # no crash log left


def test_relative_config_path_resolves_against_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_site(tmp_path / "site")
    monkeypatch.chdir(tmp_path)
    assert build(Path("site/config.yaml")) == 0
    assert (tmp_path / "site" / "feeds" / "atom.xml").is_file()
    assert not (tmp_path / "feeds").exists()


def test_future_post_held_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_site(tmp_path)
    (tmp_path / "posts" / "later.md").write_text(
        "---\ntitle: Later\ndate: 2999-01-01\ncategories: [Soon]\n---\nnot yet\n"
    )
    assert build(config, "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["held_future_posts"] == 1
    assert summary["next_post_at"].startswith("2998-12-31T16:00")
    assert b"Later" not in (tmp_path / "feeds" / "atom.xml").read_bytes()


def test_opml_import_skips_an_address_the_config_would_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `https://[::1` (a broken IPv6 host) and `http://` (no host) were written
    # into config.yaml, which then failed to load: every later command exit 2.
    config = make_site(tmp_path, CONFIG)
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body>'
        '<outline text="v6" xmlUrl="https://[::1"/><outline text="none" xmlUrl="http://"/>'
        '<outline text="A" xmlUrl="https://a.example/feed"/></body></opml>',
        encoding="utf-8",
    )
    assert main(["import-opml", "-c", str(config), str(opml)]) == 0
    captured = capsys.readouterr()
    assert "1 new feed added" in captured.out and "2 outlines skipped" in captured.out
    assert f"{opml}: skipped https://[::1: not an http(s) address" in captured.err
    assert f"{opml}: skipped http://: not an http(s) address" in captured.err
    loaded = feedwright.load_config(config)
    assert [s.url for s in loaded.sources if isinstance(s, FeedSource)] == [
        "https://a.example/feed"
    ]


def test_opml_import_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_site(tmp_path, CONFIG.replace("output:", "# keep me\noutput:"))
    opml = tmp_path / "subs.opml"
    opml.write_text(
        """<?xml version="1.0"?><opml version="2.0"><head/><body>
        <outline text="Money"><outline text="A" xmlUrl="https://a.example/feed"/></outline>
        <outline text="B &amp; co" xmlUrl="https://b.example/rss"/>
        <outline text="bad" xmlUrl="file:///etc/passwd"/>
        <outline text="C" xmlUrl="feed://c.example/atom"/>
        <outline text="D" xmlURL="https://d.example/rdf"/>
        <outline type="rss" url="https://e.example/cp1252.xml"/>
        <outline type="rss" text="broken no url"/>
        <outline text="B again" xmlUrl="HTTPS://B.example/rss"/>
        </body></opml>""",
        encoding="utf-8",
    )
    assert main(["import-opml", "-c", str(config), str(opml)]) == 0
    captured = capsys.readouterr()
    assert "5 new feeds added" in captured.out and "2 outlines skipped" in captured.out
    assert f"{opml}: skipped file:///etc/passwd: not an http(s) address" in captured.err
    said = f"{opml}: skipped outline 'broken no url': no xmlUrl, not a feed subscription"
    assert said in captured.err
    text = config.read_text(encoding="utf-8")
    assert "# keep me" in text and "- feed: http://c.example/atom\n" in text  # feed:// is http
    assert "- feed: https://d.example/rdf\n" in text  # xmlURL, as some exporters write it
    assert "- feed: https://e.example/cp1252.xml\n" in text
    assert main(["import-opml", "-c", str(config), str(opml)]) == 0
    captured = capsys.readouterr()
    assert "0 new feeds" in captured.out
    assert f"{opml}: skipped https://a.example/feed: already in config.yaml" in captured.err
    assert main(["export-opml", "-c", str(config)]) == 0
    exported = capsys.readouterr().out
    assert 'xmlUrl="https://a.example/feed"' in exported
    assert 'title="B &amp; co"' in exported
    assert '<outline text="Money">\n      <outline type="rss" text="A"' in exported  # a folder
    nowhere = tmp_path / "missing" / "subs.opml"
    assert main(["export-opml", "-c", str(config), "-o", str(nowhere)]) == 2
    said = capsys.readouterr().err
    assert said == f"feedwright: {nowhere}: cannot write: No such file or directory\n"


def test_json_says_why_a_command_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A script reading `--json` gets an answer on stdout, not nothing.
    missing = tmp_path / "missing.yaml"
    for command in ("build", "check", "status"):
        assert main([command, "--json", "-c", str(missing)]) == 2
        out, err = capsys.readouterr()
        said = json.loads(out)
        assert said == {"error": f"{missing}: no such file (try `feedwright init`)", "exit": 2}
        assert err == f"feedwright: {said['error']}\n"


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_the_command_exits_with_its_code_and_all_its_output(tmp_path: Path) -> None:
    # `feedwright` freezes the cyclic collector before it leaves (cli.run):
    # what it printed must still arrive, and its exit code must be main()'s.
    import os
    import subprocess
    import sys

    config = make_site(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "feedwright.cli", *args],
            capture_output=True,
            text=True,
            env=env,
        )

    first = command("build", "-c", str(config), "--json")
    assert first.returncode == 0 and json.loads(first.stdout)["posts"] == 2
    edited = tmp_path / "posts" / "2022-06-28-rates.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nmore\n", encoding="utf-8")
    (tmp_path / "posts" / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    again = command("build", "-c", str(config))
    assert again.returncode == 1 and "broken.md" in again.stderr
    assert again.stdout.startswith("2 posts, 5 categories, ")
    same = command("build", "-c", str(config))  # the no-change shortcut
    assert same.returncode == 1 and "broken.md" in same.stderr
    assert " 0 files written" in same.stdout
    assert command("build", "-c", str(tmp_path / "missing.yaml")).returncode == 2


@pytest.mark.parametrize("columns", ["44", "120"])
def test_help_is_wrapped_to_the_terminal_width(
    columns: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    with pytest.raises(SystemExit) as done:
        main(["build", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "--allow-id-changes" in text and "--offline" in text
    lines = text.splitlines()
    body = lines[lines.index("") :]  # (argparse lets a long usage line run over)
    assert max(map(len, body)) <= int(columns) - 2
    if columns == "120":  # one option and its help on one line
        assert any("--offline" in line and "no fetch" in line for line in lines)


def test_every_command_has_its_help_and_the_list_names_them_all(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    listing = capsys.readouterr().out
    commands = re.findall(r"^    ([a-z][a-z-]+)", listing, re.MULTILINE)
    assert {"build", "run", "check", "plan", "status", "init"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as done:
            main([name, "--help"])
        assert done.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: feedwright {name} ")
    assert main(["build", "--config", "missing.yaml", "-q"]) == 2  # options still parse
    with pytest.raises(SystemExit) as done:
        main(["biuld"])  # a typo: the whole list of choices
    assert done.value.code == 2
    assert "invalid choice: 'biuld'" in capsys.readouterr().err


def test_python_dash_m_feedwright_is_the_command(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "feedwright", "--version"], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"feedwright {feedwright.__version__}")
    missing = subprocess.run(
        [sys.executable, "-m", "feedwright", "build", "-c", str(tmp_path / "none.yaml")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "none.yaml" in missing.stderr
    assert "Traceback" not in missing.stderr
