"""A Jekyll or Hexo site keeps its post links: ``sources[].style`` and ``{categories}``.

The expected links below are the ones the real generators gave the same
posts: Jekyll 4.3.1 (Debian's, with jekyll-feed; `permalink` unset, so its
default `date`) and Hexo 7.3.0 (npm, with hexo-generator-feed; its default
`permalink: :year/:month/:day/:title/`), copied from their feeds by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import feedwright
from feedwright import ConfigError

SITE = {"title": "T", "url": "https://blog.example.com/", "timezone": "UTC"}


def write(folder: Path, name: str, front: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{front}\n---\nBody of {name}.\n", encoding="utf-8")


def links(tmp_path: Path, *sources: dict[str, Any]) -> dict[str, str | None]:
    """Each post's title -> its link, by ``feedwright.check``."""
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"site": SITE, "sources": list(sources)}), encoding="utf-8")
    report = feedwright.check(config)
    assert not report.problems, report.problems
    return {e.title: e.link for e in report.posts}


JEKYLL_DEFAULT = "{categories}/{year}/{month}/{day}/{slug}.html"


def test_jekyll_style_gives_jekylls_own_default_links(tmp_path: Path) -> None:
    posts, news = tmp_path / "_posts", tmp_path / "news" / "_posts"
    write(posts, "2024-01-02-hello.md", "title: Hello\ncategories: [Tech, Python]")
    write(posts, "2024-01-03-Hello World!.md", "title: HW")
    write(posts, "2024-01-04-new-york.md", "title: NY\ncategory: New York")
    write(posts, "2024-01-05-foo-bar.md", "title: FB\ncategories: Foo Bar")
    write(news, "2024-01-06-local.md", "title: Local\ncategories: [Sport]")
    write(news, "2024-01-06-local2.md", "title: Local2")
    write(posts, "2024-01-07-unicode.md", "title: U\nslug: 你好 世界\ncategories: [中文, Café]")
    write(posts, "2024-01-08-dup.md", "title: Dup\ncategories: [A, a, B]")
    write(posts, "2024-01-09-C++ & C#.md", "title: CPP")
    write(posts, "sub/2024-01-11-nested.md", "title: Nested")
    write(posts, "2024-01-12-custom.md", "title: Custom\nslug: My Custom Slug")
    write(posts, "2024-01-13-v1.2..md", "title: Version")
    write(posts, "2024-01-15-percent 100%.md", "title: Pct\ncategories: ['C# & .NET']")
    found = links(
        tmp_path,
        {"posts": "_posts", "style": "jekyll", "permalink": JEKYLL_DEFAULT},
        # Jekyll's folder categories (news/_posts): the folder's categories, listed first.
        {
            "posts": "news/_posts",
            "categories": ["news"],
            "style": "jekyll",
            "permalink": JEKYLL_DEFAULT,
        },
    )
    site = "https://blog.example.com/"
    assert found == {  # as Jekyll 4.3.1 linked them
        "Hello": site + "tech/python/2024/01/02/hello.html",
        "HW": site + "2024/01/03/Hello-World!.html",
        "NY": site + "new%20york/2024/01/04/new-york.html",
        "FB": site + "foo/bar/2024/01/05/foo-bar.html",
        "Local": site + "news/sport/2024/01/06/local.html",
        "Local2": site + "news/2024/01/06/local2.html",
        "U": site
        + "%E4%B8%AD%E6%96%87/caf%C3%A9/2024/01/07/%E4%BD%A0%E5%A5%BD-%E4%B8%96%E7%95%8C.html",
        "Dup": site + "a/b/2024/01/08/dup.html",
        "CPP": site + "2024/01/09/C++-&-C.html",
        "Nested": site + "2024/01/11/nested.html",
        "Custom": site + "2024/01/12/My-Custom-Slug.html",
        "Version": site + "2024/01/13/v1.2.html",
        "Pct": site + "c%23%20&%20.net/2024/01/15/percent-100.html",
    }


def test_hexo_style_gives_hexos_own_default_links(tmp_path: Path) -> None:
    posts = tmp_path / "source" / "_posts"
    write(posts, "hello.md", "title: Hello\ndate: 2024-01-02 10:00:00\ncategories: [Tech]")
    write(posts, "2024-01-03-dated.md", "title: Dated\ndate: 2024-01-03 10:00:00")
    write(posts, "2024/nested.md", "title: Nested\ndate: 2024-01-04 10:00:00")
    write(posts, "notes/deep/Deep Post.md", "title: Deep\ndate: 2024-01-05 10:00:00")
    write(posts, "Hello World!.md", "title: HW\ndate: 2024-01-06 10:00:00")
    write(posts, "custom.md", "title: Custom\ndate: 2024-01-07 10:00:00\nslug: my-custom-slug")
    write(posts, "中文 文章.md", "title: ZH\ndate: 2024-01-08 10:00:00")
    write(posts, "v1.2.md", "title: Version\ndate: 2024-01-10 10:00:00")
    found = links(
        tmp_path,
        {"posts": "source/_posts", "style": "hexo", "permalink": "{year}/{month}/{day}/{slug}/"},
    )
    site = "https://blog.example.com/"
    assert found == {  # as Hexo 7.3.0 linked them
        "Hello": site + "2024/01/02/hello/",
        "Dated": site + "2024/01/03/2024-01-03-dated/",
        "Nested": site + "2024/01/04/2024/nested/",
        "Deep": site + "2024/01/05/notes/deep/Deep%20Post/",
        "HW": site + "2024/01/06/Hello%20World!/",
        "Custom": site + "2024/01/07/custom/",  # Hexo 7 ignores `slug:`
        "ZH": site + "2024/01/08/%E4%B8%AD%E6%96%87%20%E6%96%87%E7%AB%A0/",
        "Version": site + "2024/01/10/v1.2/",
    }


def test_categories_without_a_style_are_slugified_and_left_out_when_none(
    tmp_path: Path,
) -> None:
    posts = tmp_path / "posts"
    write(posts, "a.md", "title: A\ndate: 2024-01-02\ncategories: [New York, Travel]")
    write(posts, "b.md", "title: B\ndate: 2024-01-03")
    found = links(
        tmp_path,
        {"posts": "posts", "categories": ["Blog"], "permalink": "x/{categories}/{slug}/"},
    )
    assert found == {
        "A": "https://blog.example.com/x/blog/new-york/travel/a/",
        "B": "https://blog.example.com/x/blog/b/",
    }
    (tmp_path / "config.yaml").unlink()
    found = links(tmp_path, {"posts": "posts", "permalink": "{categories}/{slug}.html"})
    assert found["B"] == "https://blog.example.com/b.html"


@pytest.mark.parametrize(
    ("source", "says"),
    [
        (
            {"style": "jekyll"},
            "sources[0].style: `style: jekyll` fills the `permalink` pattern's placeholders:"
            " set `permalink:` too ('{categories}/{year}/{month}/{day}/{slug}.html'"
            " is Jekyll's default)",
        ),
        (
            {"style": "hugo", "permalink": "{slug}/"},
            "sources[0].style: 'hugo' is no style: jekyll or hexo",
        ),
        (
            {"style": "hexo", "permalink": "{year}/{path}/"},
            "sources[0].permalink: unknown placeholder {path} (use {year}, {month}, {day},"
            " {slug}, {title}, {category}, {categories}, {filename})",
        ),
    ],
)
def test_a_style_is_checked_with_its_pattern(
    tmp_path: Path, source: dict[str, Any], says: str
) -> None:
    (tmp_path / "posts").mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"site": SITE, "sources": [{"posts": "posts", **source}]}))
    with pytest.raises(ConfigError) as info:
        feedwright.check(config)
    assert str(info.value).endswith(says)
