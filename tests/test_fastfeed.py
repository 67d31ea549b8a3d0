"""The lxml fast path gives exactly what feedparser gives, or steps aside.

``feedwright.parse_feed(..., fast=True)`` says which reader it used
(``ParsedFeed.parser``); ``fast=False`` is feedparser, the parser of record.
The corpus-wide version of these checks is tests/test_corpora.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

import feedwright
from feedwright import ParsedFeed, ParseError

DATA = Path(__file__).parent / "data" / "feeds"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SAMPLES = sorted(
    p
    for p in DATA.iterdir()
    if p.is_file() and not p.name.endswith((".expected.json", ".headers.json"))
)


def _parse(data: bytes, url: str, headers: dict[str, str], *, fast: bool) -> ParsedFeed:
    return feedwright.parse_feed(data, url=url, headers=headers, now=NOW, fast=fast)


def _both(data: bytes, url: str, headers: dict[str, str]) -> tuple[object, object]:
    """What each reader gives, the reader's name aside."""
    out: list[object] = []
    for fast in (True, False):
        try:
            out.append(replace(_parse(data, url, headers, fast=fast), parser="feedparser"))
        except ParseError as exc:
            out.append(str(exc))
    return out[0], out[1]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_feeds_same_with_and_without_fast_path(path: Path) -> None:
    sidecar = path.with_name(path.name.rsplit(".", 1)[0] + ".headers.json")
    headers = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    fast, slow = _both(path.read_bytes(), f"https://feeds.example/{path.name}", headers)
    assert fast == slow


PARAGRAPHS = [
    '<p>Text <a href="/rel/1/" title="t">相关</a> <img width="4" src="https://i.example/1.jpg"'
    ' alt="图"></p>',
    '<p>Hi <a href="https://e.example/2" onclick="steal()">source</a></p>',
    "<p><strong>Bold</strong> <script>alert(1)</script></p>",
    "<p>&amp; &lt;code&gt; &copy; &#169; caf\u00e9</p>",
    '<p><iframe src="https://evil.example/"></iframe>x <span style="color:red">y</span></p>',
]


def _html(n: int) -> str:
    return "\n".join(PARAGRAPHS[(n + i) % len(PARAGRAPHS)] for i in range(4))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rss(cut: int) -> bytes:
    items = "".join(
        f"<item><title>Item {i}</title><link>https://s.example/{i}.html</link>"
        f'<guid isPermaLink="false">s-{i}</guid><pubDate>Sat, 0{i % 9 + 1} Nov 2025 10:00:00'
        f" +0200</pubDate><dc:creator>Ann</dc:creator><category>Tech</category>"
        f"<description>{_escape(_html(i)[:cut])}</description>"
        f"<content:encoded><![CDATA[{_html(i)}]]></content:encoded></item>"
        for i in range(8)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Feed</title>'
        f"<link>https://s.example/</link><language>en</language>{items}</channel></rss>"
    ).encode()


def _atom(cut: int) -> bytes:
    entries = "".join(
        f'<entry><title>Entry {i}</title><id>tag:s.example,2025:{i}</id><link href="/e/{i}"/>'
        f"<published>2025-11-0{i % 9 + 1}T10:00:00Z</published><updated>2025-11-0{i % 9 + 1}"
        f'T11:30:00+01:00</updated><author><name>Bo</name></author><category term="Tech"/>'
        f'<summary type="html">{_escape(_html(i)[:cut])}</summary>'
        f'<content type="html">{_escape(_html(i))}</content></entry>'
        for i in range(8)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:lang="zh-CN"><title>Feed</title><id>tag:s.example,2025:feed</id>'
        f'<link href="https://s.example/"/>{entries}</feed>'
    ).encode()


@pytest.mark.parametrize("make", [_rss, _atom])
@pytest.mark.parametrize("cut", [40, 57, 90, 130, 1000])
def test_generated_feeds_take_fast_path_and_match(make: object, cut: int) -> None:
    assert callable(make)
    data: bytes = make(cut)
    assert _parse(data, "https://s.example/feed.xml", {}, fast=True).parser == "lxml"
    fast, slow = _both(data, "https://s.example/feed.xml", {})
    assert isinstance(fast, ParsedFeed)
    assert fast == slow
    assert len(fast.entries) == 8


@pytest.mark.parametrize(
    "doc",
    [
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/"><channel><title>x</title></channel></rdf:RDF>',
        '<feed xmlns="http://purl.org/atom/ns#" version="0.3"><title>x</title></feed>',
        '<rss version="0.91"><channel><title>x</title></channel></rss>',
        '<rss version="2.0"><channel><title>a & b</title></channel></rss>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://b.example/"/>',
        '<rss version="2.0"><channel><item><x:y xmlns:x="urn:x">1</x:y></item></channel></rss>',
        '<rss version="2.0"><channel><item><title>t</title></item></channel></rss>',
    ],
)
def test_fast_path_declines_what_it_does_not_reproduce(doc: str) -> None:
    assert _parse(doc.encode(), "https://d.example/", {}, fast=True).parser == "feedparser"


def test_attribute_order_matches_feedparser() -> None:
    html = '<img src="a" alt="b"> <a href="x" title="t" rel="noopener noreferrer">y</a>'
    fast = _parse(_rss_items([html]), "https://s.example/feed.xml", {}, fast=True)
    slow = _parse(_rss_items([html]), "https://s.example/feed.xml", {}, fast=False)
    assert fast.parser == "lxml"
    assert fast.entries == slow.entries
    assert fast.entries[0].summary == (
        '<img alt="b" src="https://s.example/a"> '
        '<a href="https://s.example/x" title="t" rel="noopener noreferrer">y</a>'
    )


TRUNCATED = [
    'Intro <a href="/rel/1/" title="t">相关</a> and <a href="https://e.example/2"',
    'Intro <a href="https://e.example/2" onclick="steal()">source</a> then <img ',
    'Intro <img width="4" src="https://i.example/1.jpg" alt="图',
    "Open <p>paragraph <strong>bold <em>both",
    "<p><strong>Bold</strong> <script>alert(1)",
    "<p><strong>Bold</strong> <script>alert(1)</scr",
    "<p>Bold</p> <script>alert(1)</script>",
    "<p>x</p>\n<sty",
    '<p>Text <span style="color:red">y</span> <a href="x" ',
    # Not cut off, but markup the two sanitisers read differently.
    "text ending in a non-ASCII letter <关相",
    "</script>'&lt;<b>",
    "<script>&#169;</script>\t\t</li>相关<img ",
    "<b>></b> <em<b>x</b> a <> b",
    '<a href="x<img src=y>">t</a> <br/>/',
]


def _rss_items(summaries: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Item {i}</title><link>https://s.example/{i}.html</link>"
        f'<guid isPermaLink="false">s-{i}</guid><pubDate>Sat, 01 Nov 2025 10:00:00 +0000'
        f"</pubDate><description>{_escape(text)}</description></item>"
        for i, text in enumerate(summaries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
        f"<link>https://s.example/</link>{items}</channel></rss>"
    ).encode()


def _atom_entries(summaries: list[str]) -> bytes:
    entries = "".join(
        f'<entry><title>E {i}</title><id>tag:s.example,2025:{i}</id><link href="/e/{i}"/>'
        f'<updated>2025-11-01T10:00:00Z</updated><summary type="html">{_escape(text)}</summary>'
        f'<content type="html">{_escape(text[::-1])}</content></entry>'
        for i, text in enumerate(summaries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>F</title><id>tag:s.example,2025:feed</id>{entries}</feed>"
    ).encode()


@pytest.mark.parametrize("make", [_rss_items, _atom_entries])
def test_truncated_html_stays_on_fast_path_and_matches(make: object) -> None:
    assert callable(make)
    # Every cut of the sample paragraphs: mid-tag after whitespace, mid-attribute,
    # unclosed elements, an open <script> at the end.
    whole = _html(0) + "\n" + _html(2)
    summaries = [*TRUNCATED, *(whole[:cut] for cut in range(1, len(whole), 7))]
    data: bytes = make(summaries)
    url = "https://s.example/feed.xml"
    fast = _parse(data, url, {}, fast=True)
    assert fast.parser == "lxml"
    assert fast.entries == _parse(data, url, {}, fast=False).entries
    assert len(fast.entries) == len(summaries)


def test_repaired_text_in_a_cut_off_value_takes_the_slow_path() -> None:
    # "cafÃ©" is UTF-8 read as Latin-1: feedparser repairs it only after sanitising,
    # so a value that needs its sanitiser cannot be done on its own.
    data = _rss_items(["caf\u00c3\u00a9 <b>x</b> <script>alert(1)", "plain <b>y</b>"])
    url = "https://s.example/feed.xml"
    fast = _parse(data, url, {}, fast=True)
    assert fast.parser == "feedparser"
    assert fast == _parse(data, url, {}, fast=False)
    assert fast.entries[0].summary is not None and "café" in fast.entries[0].summary
