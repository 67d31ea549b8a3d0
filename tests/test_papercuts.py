"""Papercuts a new user hit (issue 17), each held by a test through the CLI or the API."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import feedparser
import pytest

import feedwright
from feedwright.cli import main

ROOT = Path(__file__).resolve().parent.parent

BASE = """\
site:
  title: Papercuts
  url: https://example.com/
sources:
  - posts: posts
output:
  dir: out
state: state.db
"""


def site(tmp_path: Path, config: str = BASE, **posts: str) -> Path:
    (tmp_path / "posts").mkdir(exist_ok=True)
    for name, text in posts.items():
        (tmp_path / "posts" / name).write_text(text, encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(config, encoding="utf-8")
    return path


def post(title: str, date: str = "2024-05-01", **meta: str) -> str:
    lines = [f"title: {title}", f"date: {date}", *(f"{k}: {v}" for k, v in meta.items())]
    return "---\n" + "\n".join(lines) + "\n---\n\nBody.\n"


def feed_category(path: Path) -> str:
    return str(feedparser.parse(path.read_bytes()).feed.tags[0].term)


# --------------------------------------------------------------------------- categories


def test_singular_category_key_is_one_category(tmp_path: Path) -> None:
    config = site(tmp_path, **{"a.md": post("A", category="New York")})
    assert main(["build", "-q", "-c", str(config)]) == 0
    folders = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert len(folders) == 1 and "new" not in folders and "york" not in folders
    assert feed_category(tmp_path / "out" / folders[0] / "atom.xml") == "New York"


def test_plural_categories_string_still_splits_on_spaces_as_jekyll_does(tmp_path: Path) -> None:
    config = site(tmp_path, **{"a.md": post("A", categories="New York")})
    entry = feedwright.read_post(tmp_path / "posts" / "a.md", config)
    assert entry is not None and entry.categories == ("New", "York")


def test_singular_tag_is_one_tag(tmp_path: Path) -> None:
    config = site(tmp_path, **{"a.md": post("A", tag="machine learning")})
    entry = feedwright.read_post(tmp_path / "posts" / "a.md", config)
    assert entry is not None and entry.tags == ("machine learning",)


def test_categories_differing_in_case_take_the_most_used_spelling(tmp_path: Path) -> None:
    posts = {
        "1.md": post("One", "2024-01-01", categories="[Tech]"),  # oldest
        "2.md": post("Two", "2024-01-02", categories="[tech]"),
        "3.md": post("Three", "2024-01-03", categories="[tech]"),
    }
    config = site(tmp_path, **posts)
    assert main(["build", "-q", "-c", str(config)]) == 0
    assert feed_category(tmp_path / "out" / "tech" / "atom.xml") == "tech"


def test_a_tie_goes_to_the_spelling_in_the_config_then_to_the_first_seen(tmp_path: Path) -> None:
    posts = {
        "1.md": post("One", "2024-01-01", categories="[tech]"),  # oldest: first seen
        "2.md": post("Two", "2024-01-02", categories="[TECH]"),
    }
    config = site(tmp_path, **posts)
    assert main(["build", "-q", "-c", str(config)]) == 0
    assert feed_category(tmp_path / "out" / "tech" / "atom.xml") == "tech"

    config.write_text(BASE.replace("  dir: out\n", "  dir: out\n  categories: [TECH]\n"))
    assert main(["build", "-q", "-c", str(config)]) == 0
    assert feed_category(tmp_path / "out" / "tech" / "atom.xml") == "TECH"


def test_an_empty_post_file_is_a_problem_not_an_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `touch posts/idea.md` (or a blank file): nothing a reader should get,
    # titled with its file name and dated now. Said; the rest published.
    config = site(tmp_path, **{"fine.md": post("Fine"), "idea.md": "", "blank.md": "\n  \n"})
    assert main(["build", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    for name in ("idea.md", "blank.md"):
        said = f"{tmp_path / 'posts' / name}: is empty: nothing to publish"
        assert said in err
    atom = feedparser.parse((tmp_path / "out" / "atom.xml").read_bytes())
    assert [e.title for e in atom.entries] == ["Fine"]
    assert "Traceback" not in err


# --------------------------------------------------------------------------- check


def test_check_warns_about_posts_without_title_or_date_and_near_miss_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = site(
        tmp_path,
        **{
            "untitled.md": "---\ndate: 2024-05-01\n---\n\nNo title.\n",
            "undated.md": "---\ntitle: Undated\n---\n\nNo date.\n",
            "2024-05-02-jekyll.md": "---\ntitle: Dated by name\n---\n\nFine.\n",
            "typo.md": "---\ntitle: Typo\ndate: 2024-05-01\ncatagories: [x]\nmood: calm\n---\n",
            "swap.md": "---\ntitle: Swap\ndate: 2024-05-01\ntgas: [x]\n---\n",
            "fine.md": post("Fine"),
        },
    )
    assert main(["check", "-c", str(config)]) == 0  # warnings are not problems
    err = capsys.readouterr()
    lines = err.err.splitlines()
    assert any("untitled.md: no title" in line for line in lines)
    assert any("undated.md: no date" in line for line in lines)
    assert any(
        "typo.md: unknown key `catagories` (did you mean `categories`?)" in line for line in lines
    )
    assert any("swap.md: unknown key `tgas` (did you mean `tags`?)" in line for line in lines)
    assert not any("mood" in line for line in lines)  # the author's own key
    assert not any("jekyll.md" in line or "fine.md" in line for line in lines)
    assert "4 warnings" in err.out

    report = feedwright.check(config)
    assert len(report.warnings) == 4


def test_check_warns_about_a_front_matter_key_written_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The build takes the last value, as Hugo and Jekyll do; check says so.
    config = site(
        tmp_path,
        **{
            "twice.md": "\n---\ntitle: First\ndate: 2024-05-01\ntitle: Second\n"
            "'date': 2024-05-02\n---\n",
            "thrice.md": "---\ntags: a\ntags: b\ntitle: T\ndate: 2024-05-01\ntags: c\n---\n",
            # Not written twice: "title:" inside a block value, a key under a mapping.
            "once.md": "---\ntitle: Once\ndate: 2024-05-01\nsummary: |\n  title: text\n"
            "author:\n  name: A\ncover:\n  name: B\n---\n",
        },
    )
    assert main(["check", "-c", str(config)]) == 0  # a warning, not a problem
    err = capsys.readouterr().err
    assert "twice.md: `title` is written twice (lines 3, 5): the last one is used" in err
    assert "twice.md: `date` is written twice (lines 4, 6): the last one is used" in err
    assert "thrice.md: `tags` is written 3 times (lines 2, 3, 6): the last one is used" in err
    assert "once.md" not in err

    assert main(["build", "-q", "-c", str(config)]) == 0
    atom = (tmp_path / "out" / "atom.xml").read_text()
    assert "<title>Second</title>" in atom and "First" not in atom


def test_check_warns_about_template_code_other_generators_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {
        "hexo.md": "See {% asset_img pic.png A picture %} and {% post_link other %}.\n",
        "jekyll.md": "[Older]({{ site.baseurl }}{% post_url 2024-01-01-x %})\n",
        "hugo.md": '{{< figure src="a.png" >}}\n{{% notice tip %}}Hi{{% /notice %}}\n',
        "plain.md": "Braces in text: {a}, {{ not a template }}, 100%}.\n",
    }
    config = site(tmp_path, **{name: post(name[:-3]) + text for name, text in body.items()})
    assert main(["check", "-c", str(config)]) == 0  # a warning, not a problem
    err = capsys.readouterr().err
    said = "that feedwright does not run: readers see it as text"
    assert f"hexo.md: holds template code ({{% asset_img %}}, {{% post_link %}}) {said}" in err
    assert (
        f"jekyll.md: holds template code ({{{{ site.baseurl }}}}, {{% post_url %}}) {said}" in err
    )
    assert f"hugo.md: holds template code ({{{{< figure >}}}}, {{{{< notice >}}}}) {said}" in err
    assert "plain.md" not in err


def test_check_says_a_file_named_with_a_leading_underscore_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = {"fine.md": post("Fine"), "_notes.md": post("Notes"), "_index.md": post("Section")}
    config = site(tmp_path, **posts)
    assert main(["check", "-c", str(config)]) == 0
    err = capsys.readouterr().err
    said = "_notes.md: not read: a file whose name starts with _ is not a post"
    assert said in err and "_index.md" not in err  # Hugo's section page, meant so
    assert main(["build", "-q", "-c", str(config)]) == 0
    titles = [
        e.title for e in feedparser.parse((tmp_path / "out" / "atom.xml").read_bytes()).entries
    ]
    assert titles == ["Fine"]


def test_check_warns_about_a_rename_that_takes_another_categorys_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = {"a.md": post("A", categories="[Tech]"), "b.md": post("B", categories="[News]")}
    config = site(
        tmp_path, BASE.replace("  dir: out\n", "  dir: out\n  rename: {News: tech}\n"), **posts
    )
    assert main(["check", "-c", str(config)]) == 0  # a warning, not a problem
    err = capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # check writes nothing
    assert (
        f"{config}: output.rename gives “News” the folder tech/, which is category “Tech”'s" in err
    )
    assert main(["build", "-q", "-c", str(config)]) == 0
    folders = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert len(folders) == 2 and "tech" in folders
    assert f"that feed moves to {next(f for f in folders if f != 'tech')}/" in err
    # A rename that takes no one's folder says nothing of renames; tech/ was
    # News's feed in the build before, so it stays barred to Tech (its
    # subscribers would get Tech's entries), and check says why.
    config.write_text(BASE.replace("  dir: out\n", "  dir: out\n  rename: {News: headlines}\n"))
    assert main(["check", "-c", str(config)]) == 0
    err = capsys.readouterr().err
    assert "output.rename gives" not in err and "output.rename names" not in err
    moved = next(f for f in folders if f != "tech")
    assert (
        f"{config}: category “Tech” is published in {moved}/, not tech/: an earlier build"
        " published category “News” there"
    ) in err


def test_check_warns_about_renames_that_miss_or_share_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = {"a.md": post("A", categories="[生活]"), "b.md": post("B", categories="[Tech]")}
    rename = "  rename: {生活: life, Tech: life, Nope: x}\n"
    config = site(tmp_path, BASE.replace("  dir: out\n", "  dir: out\n" + rename), **posts)
    assert main(["check", "-c", str(config)]) == 0  # warnings, not problems
    err = capsys.readouterr().err
    assert f"{config}: output.rename names “Nope”, which no post, source" in err
    said = (
        f"{config}: output.rename gives “生活” the folder life/, which is “Tech”'s:"
        " “生活” is published in life-"
    )
    assert said in err
    assert main(["build", "-q", "-c", str(config)]) == 0
    folders = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert folders[0] == "life" and folders[1].startswith("life-") and len(folders) == 2


def test_check_warns_about_an_output_category_no_post_or_source_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = site(
        tmp_path,
        BASE.replace("  dir: out\n", "  dir: out\n  categories: [Tech, Sport]\n"),
        **{"a.md": post("A", categories="[tech]")},
    )
    assert main(["check", "--json", "-c", str(config)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["warnings"]) == 1
    assert "“Sport”" in out["warnings"][0] and "empty" in out["warnings"][0]


def test_an_unknown_config_key_gets_a_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = site(tmp_path, BASE.replace("  dir: out\n", "  dir: out\n  limt: 5\n"))
    assert main(["check", "-c", str(config)]) == 2
    assert "output.limt: unknown key (did you mean `limit`?)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            BASE.replace("title: Papercuts", 'title: "Papercuts'),
            2,
            "a quoted value is never closed",
        ),
        (BASE.replace("  dir: out", "  dir: [out"), 7, "a [list] is not closed"),
        (BASE.replace("  dir: out", "\tdir: out"), 7, "a tab where YAML allows only spaces"),
    ],
)
def test_yaml_errors_name_the_line_of_the_mistake_in_plain_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, words: str
) -> None:
    config = site(tmp_path, text)
    assert main(["build", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"config.yaml:{line}: not valid YAML: {words}" in err
    assert "while scanning" not in err and "while parsing" not in err


# --------------------------------------------------------------------------- build


def test_build_summary_counts_scheduled_posts_and_drafts_with_right_plurals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = site(
        tmp_path,
        **{
            "a.md": post("A", categories="[x]"),
            "future.md": post("Later", "2999-01-01"),
            "draft.md": post("Draft", draft="true"),
        },
    )
    assert main(["build", "-c", str(config)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("1 post, 1 category, ")
    assert "1 scheduled" in line and "1 draft" in line
    # check counts them the same way
    assert main(["check", "-c", str(config)]) == 0
    assert capsys.readouterr().out.startswith("config ok; 1 post, 1 scheduled, 1 draft, ")


def test_verbose_logs_each_step_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = site(tmp_path, **{"a.md": post("A", categories="[x]")})
    assert main(["build", "-v", "-c", str(config)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"1 post files, 0 from the cache, 1 to read", err)
    assert "reading a.md" in err
    assert re.search(r"wrote .*out/x/atom\.xml", err)
    assert main(["build", "-v", "-c", str(config)]) == 0
    assert "nothing changed since the last build" in capsys.readouterr().err


# --------------------------------------------------------------------------- the lock


def test_the_lock_message_names_the_holder_and_mentions_wait(tmp_path: Path) -> None:
    if not Path("/proc/locks").exists():
        pytest.skip("the holder of a lock is read from Linux's /proc/locks")
    config = site(tmp_path, **{"a.md": post("A")})
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    daemon = subprocess.Popen(
        [sys.executable, "-m", "feedwright.cli", "run", "-c", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Once it says it started, it holds the lock. (A build started before
        # that could take the lock first, and a daemon that finds the lock
        # held exits 3: the build would then never see it.)
        assert daemon.stderr is not None
        stderr, log = daemon.stderr.fileno(), b""
        deadline = time.monotonic() + 60
        while b" started: " not in log:
            if select.select([stderr], [], [], 1.0)[0]:
                data = os.read(stderr, 65536)
                assert data, f"the daemon stopped: {log.decode()}"
                log += data
            assert time.monotonic() < deadline, f"the daemon did not start: {log.decode()}"
        result = subprocess.run(
            [sys.executable, "-m", "feedwright.cli", "build", "-c", str(config)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 3, result.stderr
        holder = f"(PID {daemon.pid}: feedwright run -c {config}, since 20"
        assert holder in result.stderr, result.stderr
        assert "--wait" in result.stderr
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def test_readme_says_which_zone_permalink_dates_use() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(
        r"permalink.{0,200}site\.timezone|site\.timezone.{0,200}permalink", readme, re.S
    )


# --------------------------------------------------------------------------- failing sources

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>
<link>https://w.example/</link><item><title>One</title><link>https://w.example/1</link>
<guid>https://w.example/1</guid><pubDate>Tue, 14 May 2024 18:00:00 +0000</pubDate></item>
</channel></rss>"""


def test_failing_sources_are_counted_on_every_build_and_refresh_fetches_now(
    tmp_path: Path, http_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    good = http_server.route("/good.xml", body=RSS)
    bad = http_server.route("/bad.xml", status=500, body=b"oops")
    config = site(
        tmp_path,
        BASE.replace(
            "  - posts: posts\n", f"  - posts: posts\n  - feed: {good}\n  - feed: {bad}\n"
        ),
        **{"a.md": post("A")},
    )
    assert main(["build", "-c", str(config)]) == 1  # the failure itself is a problem
    assert "1 source failing, see `feedwright status`" in capsys.readouterr().out

    # Backing off now: skipped, not a problem for the exit code, but still said.
    assert main(["build", "-c", str(config)]) == 0
    assert "1 source failing, see `feedwright status`" in capsys.readouterr().out
    assert main(["build", "--json", "-c", str(config)]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["failing_sources"] == [bad]
    row = next(r for r in view["sources"] if r["source"] == bad)
    assert row["result"] == "skipped" and row["error_streak"] == 1
    assert "500" in row["last_error"] and row["next_due"]

    # --refresh URL fetches it now, whatever the backoff says; only it.
    http_server.route("/bad.xml", body=RSS.replace(b"w.example/1", b"w.example/2"))
    before = len(http_server.requests)
    assert main(["build", "--refresh", bad, "-c", str(config)]) == 0
    assert [r.path for r in http_server.requests[before:]] == ["/bad.xml"]
    assert "failing" not in capsys.readouterr().out

    # --refresh alone fetches every feed.
    before = len(http_server.requests)
    assert main(["build", "-q", "--refresh", "-c", str(config)]) == 0
    assert sorted(r.path for r in http_server.requests[before:]) == ["/bad.xml", "/good.xml"]


def test_refresh_takes_the_address_a_feed_moved_to(
    tmp_path: Path, http_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Messages name where a feed moved (301); --refresh takes that address too."""
    old = http_server.route("/old.xml", status=301, headers={"Location": "/new.xml"})
    new = http_server.route("/new.xml", body=RSS)
    config = site(
        tmp_path, BASE.replace("  - posts: posts\n", f"  - posts: posts\n  - feed: {old}\n")
    )
    assert main(["build", "-q", "-c", str(config)]) == 0  # moved for good: the new address kept
    said = f"warning: {old}: moved permanently to {new}; fetched from there from now on"
    assert said in capsys.readouterr().err
    assert main(["build", "-q", "-c", str(config)]) == 0
    assert "moved" not in capsys.readouterr().err  # said once, when it happened
    http_server.route("/new.xml", status=500, body=b"oops")
    assert main(["build", "-c", str(config)]) == 1
    assert f"{new}: HTTP 500" in capsys.readouterr().err
    http_server.route("/new.xml", body=RSS)
    before = len(http_server.requests)
    assert main(["build", "-q", "--refresh", new.replace("http:", "HTTP:"), "-c", str(config)]) == 0
    assert [r.path for r in http_server.requests[before:]] == ["/new.xml"]


def test_a_web_page_given_as_a_feed_is_said_to_be_one_not_to_have_moved(
    tmp_path: Path, http_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A blog's page given as its feed is followed to the feed it names, once,
    and said so: nothing redirected, so "moved permanently" would mislead."""
    link = b'<link rel="alternate" type="application/rss+xml" href="feed.xml">'
    html = b"<html><head>" + link + b"</head></html>"
    page = http_server.route("/blog/", body=html, headers={"Content-Type": "text/html"})
    feed = http_server.route("/blog/feed.xml", body=RSS)
    config = site(
        tmp_path, BASE.replace("  - posts: posts\n", f"  - posts: posts\n  - feed: {page}\n")
    )
    assert main(["build", "-q", "-c", str(config)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {page}: a web page, not a feed; its feed {feed} is fetched from now on" in err
    assert "moved permanently" not in err


def test_refresh_of_an_unknown_url_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = site(tmp_path, **{"a.md": post("A")})
    assert main(["build", "--refresh", "https://nowhere.example/feed", "-c", str(config)]) == 2
    assert "not a feed in config.yaml: https://nowhere.example/feed" in capsys.readouterr().err


def test_check_names_the_posts_whose_control_characters_are_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A build counts them; check says which file holds them, to fix."""
    posts = {
        "clean.md": post("Clean"),
        "bell.md": '---\ntitle: "Ring\x07ing"\ndate: 2024-05-02\n---\nA\x01b\x1b[31m\n',
    }
    config = site(tmp_path, **posts)
    assert main(["check", "-c", str(config)]) == 0
    err = capsys.readouterr().err
    said = f"warning: {tmp_path / 'posts' / 'bell.md'}: 3 control characters removed"
    assert said in err and "clean.md" not in err


def test_hugo_front_matter_hugo_users_rely_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hugo's `url` is the post's link (under the site's path); a page Hugo
    lists nowhere (`build: {list: never}`) is in no feed, and check says
    nothing of it (`expiryDate`: read, test_expiry.py)."""
    posts = {
        "e.md": '+++\ntitle = "E"\ndate = 2024-05-01\nexpiryDate = 2999-06-01\n'
        'url = "/custom/path/"\n+++\nBody\n',
        "h.md": post("H", headless="true"),
        "b.md": "---\ntitle: B\ndate: 2024-05-03\nbuild:\n  list: never\n---\nBody\n",
    }
    config = site(
        tmp_path, BASE.replace("https://example.com/", "https://example.com/blog/"), **posts
    )
    assert main(["check", "-c", str(config)]) == 0
    err = capsys.readouterr().err
    assert "e.md" not in err
    assert "b.md" not in err
    assert "h.md" not in err  # Hugo reads `headless` in a bundle's index only
    assert main(["build", "-q", "-c", str(config)]) == 0
    links = [e.link for e in feedparser.parse((tmp_path / "out" / "atom.xml").read_bytes()).entries]
    assert "https://example.com/blog/custom/path/" in links
    assert "https://example.com/blog/b/" not in links and len(links) == 2
