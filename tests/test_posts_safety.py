"""Hostile and broken posts (issue 13): nothing outside the posts folder is read,
nothing hangs, nothing but a PostError ever comes out of reading a post, and
``check`` names every file involved.

Through the API (``feedwright.check``, ``feedwright.read_post``), the command
(``feedwright.cli.main``) and files only.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import feedwright
from feedwright import CheckReport, Config, Entry, PostError
from feedwright.cli import main

POST = "---\ntitle: {title}\ndate: 2023-01-02 03:04\n---\n\nBody.\n"


def make_site(tmp_path: Path, permalink: str | None = None) -> tuple[Path, Path]:
    """(config.yaml, its posts folder) in ``tmp_path``."""
    posts = tmp_path / "site" / "posts"
    posts.mkdir(parents=True)
    source: dict[str, Any] = {"posts": "posts"}
    if permalink:
        source["permalink"] = permalink
    config = {
        "site": {"title": "t", "url": "https://news.example.com/", "timezone": "Asia/Shanghai"},
        "sources": [source],
        "output": {"dir": "feeds"},
    }
    path = tmp_path / "site" / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path, posts


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems(report: CheckReport, root: Path) -> dict[str, str]:
    return {os.path.relpath(e.path, root): e.message for e in report.problems}


def origins(report: CheckReport) -> set[str]:
    return {e.origin for e in report.posts}


# --------------------------------------------------------------------------- symlinks


def test_a_link_to_a_file_outside_is_not_read_and_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, posts = make_site(tmp_path)
    secret = write(tmp_path / "secret.md", POST.format(title="secret"))
    write(posts / "fine.md", POST.format(title="fine"))
    (posts / "leak.md").symlink_to(secret)
    (posts / "passwd.md").symlink_to("/etc/passwd")
    report = feedwright.check(config)
    assert origins(report) == {"fine.md"}
    found = problems(report, posts)
    assert found["leak.md"] == f"symlink to {secret} outside the posts folder: not read"
    assert "outside the posts folder: not read" in found["passwd.md"]
    assert all("secret" not in e.title for e in report.posts)

    with pytest.raises(PostError, match="outside the posts folder"):
        feedwright.read_post(posts / "leak.md", config)

    assert main(["check", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{posts / 'passwd.md'}: symlink to" in err and "root:" not in err


def test_a_path_that_climbs_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(posts.parent / "secret.md", POST.format(title="secret"))
    with pytest.raises(PostError, match="outside the posts folder: not read"):
        feedwright.read_post(posts / ".." / "secret.md", config)


def test_a_link_to_a_folder_outside_is_not_walked(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(tmp_path / "elsewhere" / "a.md", POST.format(title="elsewhere"))
    (posts / "ext").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    report = feedwright.check(config)
    assert report.posts == []
    assert "outside the posts folder" in problems(report, posts)["ext"]


def test_links_inside_the_folder_are_followed(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "real" / "a.md", POST.format(title="a"))
    (posts / "alias.md").symlink_to(posts / "real" / "a.md")
    (posts / "mirror").symlink_to("real", target_is_directory=True)
    report = feedwright.check(config)
    assert origins(report) == {"alias.md", "mirror/a.md", "real/a.md"}
    entry = feedwright.read_post(posts / "alias.md", config)
    assert entry is not None and entry.title == "a"


def test_link_loops_end(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "a" / "p.md", POST.format(title="p"))
    (posts / "a" / "up").symlink_to("..", target_is_directory=True)
    (posts / "self").symlink_to(".", target_is_directory=True)
    (posts / "x.md").symlink_to("y.md")
    (posts / "y.md").symlink_to("x.md")
    report = feedwright.check(config)
    assert origins(report) == {"a/p.md"}
    found = problems(report, posts)
    assert "a folder that contains it" in found["a/up"]
    assert "a folder that contains it" in found["self"]
    assert "cannot read" in found["x.md"] and "cannot read" in found["y.md"]


def test_a_posts_folder_that_is_a_link_is_read(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(tmp_path / "real-posts" / "a.md", POST.format(title="a"))
    posts.rmdir()
    posts.symlink_to(tmp_path / "real-posts", target_is_directory=True)
    report = feedwright.check(config)
    assert origins(report) == {"a.md"} and report.problems == []


# --------------------------------------------------------------------------- FIFOs


FIFO_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import feedwright
    from feedwright.cli import main
    config, fifo = sys.argv[1], sys.argv[2]
    code = main(["check", "-c", config, "--json"])
    try:
        feedwright.read_post(fifo, config)
    except feedwright.PostError as exc:
        print("read_post:", exc.message)
    sys.exit(code)
    """
)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_never_hangs_check(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "fine.md", POST.format(title="fine"))
    os.mkfifo(posts / "pipe.md")
    (posts / "to-pipe.md").symlink_to("pipe.md")
    done = subprocess.run(
        [sys.executable, "-c", FIFO_SCRIPT, str(config), str(posts / "pipe.md")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    summary, _, rest = done.stdout.partition("\n}\n")
    report = json.loads(summary + "\n}")
    assert report["posts"] == 1
    assert sorted(report["problems"]) == [
        f"{posts / 'pipe.md'}: a FIFO, not a file: not read",
        f"{posts / 'to-pipe.md'}: a FIFO, not a file: not read",
    ]
    assert rest.strip() == "read_post: a FIFO, not a file: not read"


def test_a_vanished_post_is_an_error_not_an_empty_post(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    with pytest.raises(PostError, match="cannot read: No such file"):
        feedwright.read_post(posts / "gone.md", config)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "value",
    [
        "2023-01-02 03:04 +25:00",
        "2023-01-02T03:04:05+24:00",
        "2023-01-02 03:04:05 +0960",
        "Mon, 02 Jan 2023 03:04:05 +2500",
        "2023-02-29 10:00",
        "2023-01-02 24:00",
    ],
)
def test_impossible_dates_and_offsets_are_problems(tmp_path: Path, value: str) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "when.md", f"---\ntitle: when\ndate: {value}\n---\n")
    report = feedwright.check(config)
    assert report.posts == []
    (message,) = problems(report, posts).values()
    assert message.startswith(f"date: {value!r} ")
    assert "24 hours or more" in message or "not a possible date" in message


def test_an_offset_just_under_a_day_is_fine(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "when.md", "---\ntitle: when\ndate: 2023-01-02 03:04 +23:59\n---\n")
    entry = feedwright.read_post(posts / "when.md", config)
    assert entry is not None and entry.published.isoformat() == "2023-01-01T03:05:00+00:00"


def test_updated_is_checked_too(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "p.md", "---\ntitle: p\ndate: 2023-01-02\nupdated: 2023-01-02 +30\n---\n")
    with pytest.raises(PostError, match=r"updated: '2023-01-02 \+30' has a zone offset"):
        feedwright.read_post(posts / "p.md", config)


# --------------------------------------------------------------------------- YAML


@pytest.mark.parametrize(
    ("line", "tag"),
    [
        ("title: !!python/object/apply:os.system ['echo x']", "!!python/object/apply:os.system"),
        ("title: !!str 10", "!!str"),
        ("title: ! plain", "!"),
        ("title: !local x", "!local"),
        ("categories: !!set {a: null}", "!!set"),
        ("image: !!binary aGk=", "!!binary"),
    ],
)
def test_yaml_tags_are_refused_naming_the_line(tmp_path: Path, line: str, tag: str) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "tagged.md", f"\n---\ndate: 2023-01-02\n{line}\n---\nbody\n")
    with pytest.raises(PostError) as info:
        feedwright.read_post(posts / "tagged.md", config)
    assert info.value.message == (
        f"front matter uses the YAML tag {tag} (line 4): tags are not allowed"
    )


def test_an_exclamation_mark_is_not_a_tag(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "bang.md", "---\ntitle: Hello! World!\ntags: ['!important', a!b]\n---\n")
    entry = feedwright.read_post(posts / "bang.md", config)
    assert entry is not None
    assert (entry.title, entry.tags) == ("Hello! World!", ("!important", "a!b"))


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    lines.append(f"categories: [{','.join(['*i'] * 9)}]")
    write(posts / "lol.md", "---\ntitle: lol\n" + "\n".join(lines) + "\n---\n")
    start = time.monotonic()
    with pytest.raises(PostError) as info:
        feedwright.read_post(posts / "lol.md", config)
    assert time.monotonic() - start < 5
    assert info.value.message == (
        "front matter expands to more than 10000 values through YAML aliases (line 7)"
    )


def test_merge_keys_and_small_aliases_still_work(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(
        posts / "merge.md",
        "---\nbase: &b {name: 编辑部, email: desk@example.com}\n"
        "author:\n  <<: *b\n  uri: https://example.com/\ntitle: m\n---\n",
    )
    entry = feedwright.read_post(posts / "merge.md", config)
    assert entry is not None
    assert [(p.name, p.email, p.uri) for p in entry.authors] == [
        ("编辑部", "desk@example.com", "https://example.com/")
    ]


@pytest.mark.parametrize(
    ("front_matter", "message"),
    [
        ("title: a: b", "(line 3): a ': ' where YAML takes none (quote the value)"),
        ("title: x\n\tdate: y", "(line 4): a tab where YAML allows only spaces"),
        ("title: *nope", "(line 3): an alias (*name) with no anchor (&name) before it"),
        ("title: [a,\n b", "(line 3): a [list] is not closed with ']'"),
        ("title: {a: b\n", "(line 3): a {mapping} is not closed with '}'"),
        ("title: 'a\nb: c", "(line 3): a quoted value is never closed"),
        ("a:\n  b: 1\n c: 2", "(line 5): a line not in line with the keys above it"),
        ("a: &x 1\nb: &x 2", "(line 4): an anchor (&name) defined twice"),
        ("a: @x", "(line 3): a value that starts with @ or ` (quote it)"),
        ("? [a]\n: x", "(line 3): a key that is a list or a mapping"),
        ("deep: " + "[" * 2000 + "]" * 2000, "(line 3): "),
    ],
)
def test_yaml_mistakes_name_the_line_in_the_file(
    tmp_path: Path, front_matter: str, message: str
) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "bad.md", f"\n---\n{front_matter}\n---\nbody\n")
    with pytest.raises(PostError) as info:
        feedwright.read_post(posts / "bad.md", config)
    assert info.value.message.startswith(f"front matter is not valid YAML {message}")


def test_deep_toml_and_json_are_errors(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "deep.md", "+++\nx = " + "[" * 5000 + "]" * 5000 + "\n+++\n")
    write(posts / "deep-json.md", '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    report = feedwright.check(config)
    found = problems(report, posts)
    assert set(found) == {"deep.md", "deep-json.md"}
    assert all("front matter" in m for m in found.values())


# --------------------------------------------------------------------------- duplicates


def test_two_posts_with_one_id_are_both_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "a.md", "---\ntitle: a\nid: post-1\n---\n")
    write(posts / "b" / "c.md", "---\ntitle: c\nid: post-1\n---\n")
    write(posts / "d.md", "---\ntitle: d\npermalink: /same/\n---\n")
    write(posts / "e.md", "---\ntitle: e\nlink: https://news.example.com/same/\n---\n")
    report = feedwright.check(config)
    assert len(report.posts) == 4
    assert problems(report, posts) == {
        "a.md": f"its id tag:news.example.com,2000:post-1 is also the id of {posts / 'b/c.md'}",
        "b/c.md": f"its id tag:news.example.com,2000:post-1 is also the id of {posts / 'a.md'}",
        "d.md": f"its id https://news.example.com/same/ is also the id of {posts / 'e.md'}",
        "e.md": f"its id https://news.example.com/same/ is also the id of {posts / 'd.md'}",
    }
    assert main(["check", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.count("is also the id of") == 4
    assert pickle.loads(pickle.dumps(report)) == report  # reports cross processes


def test_two_posts_folders_with_one_file_name_are_both_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Jekyll site's ``_posts/x.md`` and ``news/_posts/x.md``, two posts
    folders: the same path in each is the same ``tag:`` id. Both are named,
    by ``check`` and by every build (a whole one, one with nothing to do, one
    of edits), as two posts of one folder are; before, the second vanished
    from the feeds without a word."""
    site = tmp_path / "site"
    name = "2024-01-07-item.md"
    write(site / "_posts" / name, "---\ntitle: Top\n---\ntop\n")
    write(site / "news" / "_posts" / name, "---\ntitle: News\n---\nnews\n")
    write(site / "_posts" / "2024-01-08-other.md", "---\ntitle: Other\n---\nother\n")
    config = site / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "site": {"title": "t", "url": "https://news.example.com/"},
                "sources": [
                    {"posts": "_posts"},
                    {"posts": "news/_posts", "categories": ["news"]},
                ],
                "output": {"dir": "feeds"},
            }
        ),
        encoding="utf-8",
    )
    same = "tag:news.example.com,2000:2024-01-07-item"
    top, news = site / "_posts" / name, site / "news" / "_posts" / name
    report = feedwright.check(config)
    assert {(Path(e.path or ""), e.message) for e in report.problems} == {
        (top, f"its id {same} is also the id of {news}"),
        (news, f"its id {same} is also the id of {top}"),
    }
    capsys.readouterr()
    edited = site / "_posts" / "2024-01-08-other.md"
    for step in ("whole", "nothing to do", "an edit"):
        if step == "an edit":
            edited.write_text("---\ntitle: Other\n---\nother, edited\n", encoding="utf-8")
        assert main(["build", "-c", str(config)]) == 1, step
        err = capsys.readouterr().err
        assert err.count("is also the id of") == 2, (step, err)


def test_two_posts_with_one_slug_and_date_share_a_link_and_are_named(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path, permalink="{year}/{month}/{day}/{slug}/")
    write(posts / "news" / "2023-05-01-opening.md", "---\ntitle: one\n---\n")
    write(posts / "blog" / "2023-05-01-opening.md", "---\ntitle: two\n---\n")
    report = feedwright.check(config)
    link = "https://news.example.com/2023/05/01/opening/"
    assert problems(report, posts) == {
        "blog/2023-05-01-opening.md": (
            f"its link {link} is also the link of {posts / 'news/2023-05-01-opening.md'}"
        ),
        "news/2023-05-01-opening.md": (
            f"its link {link} is also the link of {posts / 'blog/2023-05-01-opening.md'}"
        ),
    }
    assert len({e.id for e in report.posts}) == 2


# --------------------------------------------------------------------------- bytes


def test_control_characters_are_stripped_and_counted(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(
        posts / "ctl.md",
        b"---\ntitle: a\x00b\x1bc\x7fd\ncategories: [x\x08y]\n---\n\n"
        b"bo\x01dy \xc2\x9f\xef\xbf\xbe.\n",
    )
    report = feedwright.check(config)
    assert report.problems == []
    (entry,) = report.posts
    assert (entry.title, entry.categories) == ("abcd", ("xy",))
    assert entry.body is not None and entry.body.text == "body ."
    assert report.stripped == 7


def test_gbk_reads_latin1_is_reported(tmp_path: Path) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "gbk.md", "---\ntitle: 旧文章\n---\n\n正文。\n".encode("gbk"))
    write(posts / "latin1.md", "---\ntitle: Crème brûlée\n---\n\nDéjà vu.\n".encode("latin-1"))
    report = feedwright.check(config)
    assert [e.title for e in report.posts] == ["旧文章"]
    assert "not valid UTF-8" in problems(report, posts)["latin1.md"]


@pytest.mark.parametrize(
    "data",
    [
        "\ufeff---\r\ntitle: 标题\r\n---\r\n正文\r\n".encode(),
        "---\r\ntitle: 标题\r\n---\r\n正文\r\n".encode("utf-16"),
        b"\xff\xfe" + "---\ntitle: 标题\n---\n正文\n".encode("utf-16-le"),
        b"\xfe\xff" + "---\ntitle: 标题\n---\n正文\n".encode("utf-16-be"),
    ],
    ids=["utf8-bom-crlf", "utf16-crlf", "utf16-le", "utf16-be"],
)
def test_boms_and_line_ends(tmp_path: Path, data: bytes) -> None:
    config, posts = make_site(tmp_path)
    write(posts / "p.md", data)
    entry = feedwright.read_post(posts / "p.md", config)
    assert entry is not None and entry.title == "标题"
    assert entry.body is not None and entry.body.text == "正文"


# --------------------------------------------------------------------------- fuzzing

BASES = [
    "\n---\ntitle: '港城农商行：绿色信贷余额突破百亿'\ncategories: \n - 金融\n - 资讯\n"
    "headimg: 'https://picsum.photos/400/300?random=1'\nauthor: 中证网\ncomments: false\n"
    "date: Mon, 27 Jun 2022 13:05:00 GMT\nthumbnail: /t.png\n---\n\n<div><p>正文</p></div>\n",
    '+++\ntitle = "TOML"\ndate = 2023-05-02T08:00:00+02:00\ntags = ["a", "b"]\n'
    'images = ["/i.png"]\n[params]\nweight = 3\n+++\nBody\n',
    '{\n  "title": "JSON",\n  "date": "2023-05-04",\n  "author": {"name": "Ada", "url": "/"}\n}\n'
    "Body\n",
    ';;;\n"title": "Hexo",\n"date": "2013/7/13 20:46:25"\n;;;\nBody\n',
    "---\ntitle: &t anchor\nauthor:\n  - &p {name: a, email: b}\n  - *p\ntags: [*t]\n"
    "categories:\n  - [Tech, Python]\nslug: s\nid: x\ndraft: no\nlang: en\n...\n# Body\n",
    "# Only a heading\n\nNo front matter at all.\n",
]
SNIPPETS = [
    ": ", "[", "]", "{", "}", "&a ", "*a", "!!str ", "!x ", "\t", "---\n", "+++\n", ";;;\n",
    "...\n", "'", '"', "\n  - ", "<<: *a\n", "%YAML 1.2\n", "\x00", "\x1b", "\x7f", "\x85",
    "\u2028", "\ufffe", "\ud800", "date: 2023-13-45 99:99 +99:99\n", "title: [x]\n",
    "draft: maybe\n", "published: false\n", "permalink: '{x}'\n", "?", "|\n", ">-\n", "#",
]  # fmt: skip
ENCODINGS = ["latin-1", "utf-16-le", "utf-16", "utf-32", "gb18030", "cp1252", "shift_jis", "big5"]


@st.composite
def damaged_posts(draw: st.DrawFn) -> bytes:
    data = draw(st.sampled_from(BASES)).encode()
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["cut", "flip", "bytes", "drop", "snippet", "text", "encode"]))
        if kind == "cut":
            data = data[:at]
        elif kind == "flip" and at < len(data):
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif kind == "bytes":
            data = data[:at] + draw(st.binary(max_size=16)) + data[at:]
        elif kind == "drop":
            data = data[:at] + data[at + draw(st.integers(1, 40)) :]
        elif kind == "snippet":
            snippet = draw(st.sampled_from(SNIPPETS)).encode("utf-8", "surrogatepass")
            data = data[:at] + snippet + data[at:]
        elif kind == "text":
            text = draw(st.text(max_size=20))
            data = data[:at] + text.encode("utf-8", "surrogatepass") + data[at:]
        else:
            text = data.decode("utf-8", "replace")
            data = text.encode(draw(st.sampled_from(ENCODINGS)), "replace")
    return data


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@pytest.fixture(scope="module")
def fuzz_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    config, posts = make_site(tmp_path_factory.mktemp("fuzz"))
    return feedwright.load_config(config), posts


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=damaged_posts())
@example(data=b"---\ntitle: t\ncategories:\n - a\n!- b\n---\n")  # a tag scan meets bad YAML
def test_damaged_posts_give_an_entry_none_or_a_post_error(
    fuzz_site: tuple[Config, Path], data: bytes
) -> None:
    config, posts = fuzz_site
    post = write(posts / "fuzz.md", data)
    try:
        entry = feedwright.read_post(post, config)
    except PostError as exc:
        assert exc.path == str(post) and exc.message
        return
    if entry is None:
        return
    assert isinstance(entry, Entry)
    assert entry.title and entry.published.tzinfo is UTC and entry.updated >= entry.published
    texts = [entry.title, entry.summary or "", *entry.categories, *entry.tags]
    texts += [p.name for p in entry.authors]
    assert entry.body is not None and entry.body.text is not None
    texts.append(entry.body.text)
    assert not any(_XML_ILLEGAL.search(t) for t in texts)
    assert entry.link is not None and entry.link.startswith("https://")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.lists(damaged_posts(), min_size=1, max_size=4))
def test_a_site_of_damaged_posts_builds_well_formed_feeds(
    tmp_path_factory: pytest.TempPathFactory, data: list[bytes]
) -> None:
    # Through the whole build: never a traceback, every file whole and well-formed.
    from lxml import etree

    config, posts = make_site(tmp_path_factory.mktemp("fuzzbuild"))
    for n, raw in enumerate(data):
        write(posts / f"p{n}.md", raw)
    report = feedwright.build(config)
    assert report.posts + len(report.post_errors) + report.skipped >= 1
    out = Path(config).parent / "feeds"
    for feed in [*out.rglob("*.xml"), *out.rglob("*.opml")]:
        etree.fromstring(feed.read_bytes())  # raises on anything not well-formed


@pytest.mark.parametrize(
    "line", ['audio: "https://[::1/a.mp3"', 'thumbnail: "//[::1/x.png"', 'link: "//[::1/"']
)
def test_a_broken_ipv6_host_in_front_matter_is_never_a_bare_value_error(
    tmp_path: Path, line: str
) -> None:
    # urlsplit/urljoin raise ValueError on `[::1` without its `]`: read_post let
    # it out (the API promises a PostError at most), and `build` reported the
    # post as "cannot read: ValueError: Invalid IPv6 URL".
    config_path, posts = make_site(tmp_path)
    text = config_path.read_text(encoding="utf-8")
    podcast = {"image": "/cover.jpg", "category": "Technology"}
    config_path.write_text(json.dumps({**json.loads(text), "podcast": podcast}), encoding="utf-8")
    config = feedwright.load_config(config_path)
    post = write(posts / "a.md", f"---\ntitle: A\ndate: 2023-01-02\n{line}\n---\nBody\n")
    try:
        entry = feedwright.read_post(post, config)
    except PostError as exc:
        assert line.startswith("audio:") and "audio: not a URL" in exc.message
    else:
        assert entry is not None and not line.startswith("audio:")
        assert entry.link == "https://news.example.com/a/"
        assert [e.url for e in entry.enclosures] == []
    report = feedwright.build(config)
    assert not any("ValueError" in p for p in report.problems)


@pytest.mark.parametrize(
    ("url", "tag"),
    [
        ("https://münchen.example/", "tag:xn--mnchen-3ya.example,2000:a"),
        ("https://中文.example/blog/", "tag:xn--fiq228c.example,2000:blog/a"),
        ("https://news.example.com./", "tag:news.example.com,2000:a"),
        ("https://news.example.com/my blog/", "tag:news.example.com,2000:my%20blog/a"),
        ("https://news.example.com/日本/", "tag:news.example.com,2000:日本/a"),  # as before
    ],
)
def test_a_site_url_of_any_host_gives_ids_the_gate_publishes(
    tmp_path: Path, url: str, tag: str
) -> None:
    # The host went into tag: ids as written: an IDN host, a final dot or a
    # space in the path made ids the gate refuses, so no feed was ever published.
    config_path, posts = make_site(tmp_path)
    site = json.loads(config_path.read_text(encoding="utf-8"))
    site["site"]["url"] = url
    config_path.write_text(json.dumps(site), encoding="utf-8")
    write(posts / "a.md", POST.format(title="A"))
    assert main(["build", "-c", str(config_path)]) == 0
    out = config_path.parent / "feeds"
    assert f"<id>{tag}</id>" in (out / "atom.xml").read_text(encoding="utf-8")
    assert feedwright.check_output(out).problems == []
