"""Rendering post bodies: Markdown, raw HTML, absolute URLs, the more split."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import feedwright
from feedwright.model import Body, BodyFormat, Entry
from feedwright.render import absolutize_urls, render, render_markdown

BASE = "https://news.example.com/2023/03/14/post/"
WHEN = datetime(2023, 3, 14, 9, 30, tzinfo=UTC)


def entry(text: str, fmt: BodyFormat = "markdown", summary: str | None = None) -> Entry:
    return Entry(
        id="tag:news.example.com,2000:posts/post",
        title="t",
        published=WHEN,
        updated=WHEN,
        summary=summary,
        body=Body(text, fmt, BASE),
    )


def test_markdown_is_commonmark_with_tables() -> None:
    html = render_markdown("# 标题\n\n*强调* and `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<h1>标题</h1>" in html
    assert "<em>强调</em>" in html and "<code>code</code>" in html
    assert "<table>" in html and "<td>1</td>" in html


def test_raw_html_passes_through_markdown() -> None:
    body = '\n<div>   \n<p style="text-indent: 2em;">正文<br>第二行</p>\n</div>\n'
    html = render(entry(body)).content
    assert html is not None
    assert '<p style="text-indent: 2em;">正文<br>第二行</p>' in html
    assert "&lt;" not in html


def test_html_bodies_are_kept_as_is() -> None:
    body = "<p>*not emphasis*</p>\n\n# not a heading"
    assert render(entry(body, "html")).content == body


def test_render_clears_the_body_and_keeps_other_fields() -> None:
    before = entry("Hello")
    after = render(before)
    assert after.body is None and after.content == "<p>Hello</p>\n"
    assert (after.id, after.title, after.published) == (before.id, before.title, before.published)


def test_already_rendered_entries_come_back_unchanged() -> None:
    done = Entry(id="x", title="t", published=WHEN, updated=WHEN, content="<p>hi</p>")
    assert render(done) is done


def test_relative_urls_become_absolute() -> None:
    text = (
        "[相对](other/) [根](/about/) ![图](img/a.png)"
        ' <img src="b.jpg" srcset="b.jpg 1x, /c.jpg 2x">'
    )
    html = render(entry(text)).content
    assert html is not None
    assert 'href="https://news.example.com/2023/03/14/post/other/"' in html
    assert 'href="https://news.example.com/about/"' in html
    assert 'src="https://news.example.com/2023/03/14/post/img/a.png"' in html
    assert 'src="https://news.example.com/2023/03/14/post/b.jpg"' in html
    assert (
        'srcset="https://news.example.com/2023/03/14/post/b.jpg 1x,'
        ' https://news.example.com/c.jpg 2x"' in html
    )


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<a href="https://other.example/x">', '<a href="https://other.example/x">'),
        ('<a href="mailto:desk@example.com">', '<a href="mailto:desk@example.com">'),
        ('<img src="data:image/png;base64,AAAA">', '<img src="data:image/png;base64,AAAA">'),
        ('<a href="//cdn.example/x.js">', '<a href="https://cdn.example/x.js">'),
        (
            "<a href='q?a=1&amp;b=2'>",
            "<a href='https://news.example.com/2023/03/14/post/q?a=1&amp;b=2'>",
        ),
        ("<a href=plain>", '<a href="https://news.example.com/2023/03/14/post/plain">'),
        (
            '<a title="say href=x" href="y">',
            '<a title="say href=x" href="https://news.example.com/2023/03/14/post/y">',
        ),
        ('<a data-href="x">', '<a data-href="x">'),
        ("<p>href=x is text</p>", "<p>href=x is text</p>"),
        ("no tags at all", "no tags at all"),
        (
            '<video poster="p.jpg" src="v.mp4">',
            '<video poster="https://news.example.com/2023/03/14/post/p.jpg" src="https://news.example.com/2023/03/14/post/v.mp4">',
        ),
    ],
)
def test_absolutize_urls(html: str, expected: str) -> None:
    assert absolutize_urls(html, BASE) == expected


def test_code_blocks_are_not_rewritten() -> None:
    html = render(entry('```html\n<a href="x">\n```\n')).content
    assert html == '<pre><code class="language-html">&lt;a href=&quot;x&quot;&gt;\n</code></pre>\n'


def test_more_marker_splits_the_summary() -> None:
    rendered = render(entry("第一段，[链接](a/)。\n\n<!-- more -->\n\n第二段。\n"))
    assert (
        rendered.summary
        == '<p>第一段，<a href="https://news.example.com/2023/03/14/post/a/">链接</a>。</p>\n'
    )
    assert rendered.content is not None
    assert "第一段" in rendered.content and "第二段" in rendered.content


def test_more_marker_spelling_variants() -> None:
    assert render(entry("Lead.\n<!--More-->\nRest.")).summary == "<p>Lead.</p>\n"


def test_no_marker_no_summary() -> None:
    assert render(entry("Just one part.")).summary is None


def test_front_matter_summary_wins_and_is_rendered_in_the_body_format() -> None:
    md = render(entry("Lead.\n<!-- more -->\nRest.", summary="A *short* [one](x)"))
    assert (
        md.summary
        == '<p>A <em>short</em> <a href="https://news.example.com/2023/03/14/post/x">one</a></p>\n'
    )
    html = render(entry("<p>Body</p>", "html", summary="Plain & simple"))
    assert html.summary == "Plain & simple"


def test_xml_illegal_characters_are_removed() -> None:
    rendered = render(entry("Bell\x07 form\x0cfeed", summary="nul\x00"))
    assert rendered.content == "<p>Bell formfeed</p>\n"
    assert rendered.summary == "<p>nul</p>\n"


_BASES = [
    "https://h.example/a/",
    "https://h.example/",
    "https://h.example/a/b",
    "https://news.example.com/2025/06/27/slug/",
    "https://news.example.com/2025/06/27/slug",
    "https://news.example.com",
    "http://user:pw@Example.COM:8080/a/b/",
    "https://h.example/p/?q=1",
    "https://h.example/p/#frag/",
    "https://h.example/张家港/",
    "ftp://h.example/p/",
    "tag:h.example,2000:p/",
]
_REFS = [
    "",
    "a",
    "a/b.png",
    "images/x.png?w=1#top",
    "../images/382.png",
    "../../a",
    "../../../../../a",
    "./../a",
    ".././a",
    "./",
    "../",
    "../..",
    "../?x",
    "..//a",
    "../a\tb",
    "../#f",
    "../ a",
    "./a",
    ".hidden",
    "a/./b",
    "a/../b",
    "/",
    "/abs/path.png",
    "/a/../b",
    "//cdn.example/x.js",
    "?page=2",
    "#section",
    " a",
    "a\tb",
    "a\nb",
    "图片/猫.png",
    "a//b",
    "/a//b",
    "1a:b",
    "%2e%2e/x",
    "a b",
]


@pytest.mark.parametrize("base", _BASES)
def test_join_url_is_urljoin(base: str) -> None:
    from urllib.parse import urljoin

    from feedwright.text import join_url

    for ref in _REFS:
        assert join_url(base, ref) == urljoin(base, ref), (base, ref)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            "<p>x</p><br/><br /><hr><img src=a.png><p class=x><a href='b'>b</a></p>",
            f'<p>x</p><br/><br /><hr><img src="{BASE}a.png">'
            f"<p class=x><a href='{BASE}b'>b</a></p>",
        ),
        (
            '<p>a < b and c<d></p><a title="x <b href=y>">t</a><b href=z>',
            f'<p>a < b and c<d></p><a title="x <b href=y>">t</a><b href="{BASE}z">',
        ),
        ("<em>no attributes at all</em>", "<em>no attributes at all</em>"),
    ],
)
def test_tags_with_and_without_attributes(html: str, expected: str) -> None:
    # Tags without attributes are passed over; every URL attribute is resolved,
    # and text that only looks like a tag (in a text or an attribute) is left.
    assert absolutize_urls(html, BASE) == expected


def test_join_url_is_urljoin_on_seeded_random_references() -> None:
    import random
    from urllib.parse import urljoin

    from feedwright.text import join_url

    rnd = random.Random(5)
    pieces = ["a", "..", ".", "", "/", "?", "#", "x.png", " ", "\t", "%2e", "张", "c:d", "//", ";p"]
    bases = [*_BASES, "https://h//a/", "http://h/a//", "HTTPS://H/A/", "https:/h/", "https://h/;x/"]
    for _ in range(20_000):
        ref = "".join(rnd.choice(pieces) + rnd.choice(["", "/"]) for _ in range(rnd.randint(0, 5)))
        base = rnd.choice(bases)
        assert join_url(base, ref) == urljoin(base, ref), (base, ref)


def test_a_leading_h1_that_is_the_title_is_not_published_twice(tmp_path: Path) -> None:
    # Readers show an entry's title above its content: a post titled by its
    # first heading showed that heading twice.
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "a.md").write_text("---\ndate: 2024-01-01\n---\n# Hello *world*\n\nBody a.\n")
    (posts / "b.html").write_text(
        '---\ndate: 2024-01-02\n---\n<h1 class="x">Tom &amp; Jerry</h1>\n<p>Body b.</p>\n'
    )
    (posts / "c.md").write_text(
        "---\ntitle: Same\ndate: 2024-01-03\n---\nSame\n====\n\nLead c.\n\n<!-- more -->\n\nMore.\n"
    )
    (posts / "d.md").write_text("---\ntitle: Other\ndate: 2024-01-04\n---\n# Chapter one\n\nd.\n")
    (posts / "e.md").write_text("---\ndate: 2024-01-05\n---\nIntro e.\n\n# Later\n\nText.\n")
    # Raw HTML in the heading it was titled by (the title keeps it as written).
    (posts / "f.md").write_text("---\ndate: 2024-01-06\n---\n# Big <small>news</small>\n\nf.\n")
    (tmp_path / "config.yaml").write_text(
        "site: {title: T, url: 'https://example.com/'}\nsources: [{posts: posts}]\n"
        "output: {dir: feeds, formats: [json]}\n"
    )
    report = feedwright.build(tmp_path / "config.yaml", now=datetime(2024, 2, 1, tzinfo=UTC))
    assert not report.problems
    feed = json.loads((tmp_path / "feeds" / "feed.json").read_text(encoding="utf-8"))
    items = {i["title"]: i for i in feed["items"]}
    assert items["Hello world"]["content_html"].strip() == "<p>Body a.</p>"
    assert items["Tom & Jerry"]["content_html"].strip() == "<p>Body b.</p>"
    assert items["Same"]["content_html"].startswith("<p>Lead c.</p>")
    assert items["Same"]["summary"] == "Lead c."  # the part before <!-- more --> too
    assert items["Big <small>news</small>"]["content_html"].strip() == "<p>f.</p>"
    # A heading that is not the title, or not at the start, is the author's text.
    assert items["Other"]["content_html"].startswith("<h1>Chapter one</h1>")
    assert "<h1>Later</h1>" in items["Later"]["content_html"]
