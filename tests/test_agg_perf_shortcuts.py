"""The aggregation speed-ups give exactly what the plain code they shortcut gives.

Each shortcut is checked against its reference on the same inputs: the
``_suspect`` pre-checks against the ``_SUSPECT`` regex, ``safe_url``'s
plain-URL shortcut against the full resolution, the cached nh3 Cleaner against
``nh3.clean`` with the same allowlists, and the worker-to-main packing of
parsed feeds against the feed itself. The last test refreshes over loopback
with tiny save batches and checks every source and entry still lands.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import nh3
import pytest

from feedwright.sanitize import (
    _ATTRIBUTES,
    _CLEAN_CONTENT_TAGS,
    _PLAIN_URL,
    _TAGS,
    _URL_ATTRIBUTES,
    SAFE_SCHEMES,
    _clean_chars,
    _resolve,
    _url_attribute,
    safe_url,
    sanitize_html,
)
from feedwright.sources import feeds

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DATA = Path(__file__).parent / "data" / "feeds"

# --------------------------------------------------------------------------- _suspect

SUSPECT_CASES = [
    "",
    "plain text",
    "<p>fine <a href='/x'>link</a></p>",
    "<svg><circle/></svg>",
    "< svg>",
    "<SVG>",
    "<svgx>",  # not a whole tag name: \b fails
    "<!-- c -->",
    "<!DOCTYPE x>",
    "a < b",
    "a <",
    "x </ y",
    "x </",
    "</p>",
    '<p style="color:red">',
    '<p STYLE = "x">',
    "lifestyle=",  # \b before style fails
    "stylesheet",
    "javascript",
    "JavaScript:alert(1)",
    "java\u017fcript",  # re.I matches "s" to U+017F
    "javascr\u0131pt",  # ... "i" to U+0131
    "javascr\u0130pt",  # ... and to U+0130
    "\u212aey vbscript",
    "VBSCRIPT",
    "data:",
    "DATA:text/html",
    "data :",
    "expression(",
    "expression  (1)",
    "EXPRESSION\t(",
    "expressions(",
    "<\u017fvg>",
    "<st\u0131le>",
    "<p>\u76f8\u5173\u9605\u8bfb</p> &amp; &lt;code&gt;",
    "<script>alert(1)</script>",
    "\u017ftyle=",
]


def _old(value: str) -> bool:
    return feeds._SUSPECT.search(value) is not None


@pytest.mark.parametrize("value", SUSPECT_CASES)
def test_suspect_agrees_with_the_regex(value: str) -> None:
    assert feeds._suspect(value) == _old(value)


def test_suspect_agrees_with_the_regex_on_random_markup() -> None:
    rng = random.Random(20261128)
    pieces = [
        "<", ">", "/", "!", " ", "\t", "\n", "=", "(", ":", "a", "p", "s", "x", "\u017f",
        "\u0131", "\u0130", "\u212a", "\u76f8", "style", "script", "java", "vb", "data",
        "expression", "svg", "math", "head", "title", "link", "frame", "S", "T", "Y", "L", "E",
    ]  # fmt: skip
    flagged = 0
    for _ in range(20_000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert feeds._suspect(value) == _old(value), value
        flagged += _old(value)
    assert 0 < flagged < 20_000  # both answers were exercised


def test_suspect_agrees_with_the_regex_on_sample_feeds() -> None:
    values = [p.read_text("utf-8", "replace") for p in sorted(DATA.iterdir()) if p.is_file()]
    for value in values:
        for cut in range(0, len(value), 97):
            piece = value[cut : cut + 400]
            assert feeds._suspect(piece) == _old(piece), piece


# --------------------------------------------------------------------------- safe_url

BASES = [
    None,
    "",
    "http://h.example/a/b",
    "https://h.example/x/",
    "https://H.example:8080/p?q#f",
    "mailto:x@y.example",
    "ftp://x.example/",
    "//x.example/y",
    "rel/",
]


def test_plain_urls_come_back_unchanged_from_the_full_resolution() -> None:
    rng = random.Random(7)
    tail = "abcXYZ019.-_~!$&'()*+,;=:@%/?#[] \t\"<>{}|\\^`\u00e9"
    hits = 0
    for _ in range(6_000):
        url = (
            rng.choice(["http://", "https://", "HTTP://", "http:/", "https:"])
            + rng.choice(["a.example", "A.B", "x", "1.2.3.4", "a-b.c:80", "h:", "..", "h:99999"])
            + rng.choice(["", "/", "?", "#"])
            + "".join(rng.choice(tail) for _ in range(rng.randint(0, 14)))
        )
        if _PLAIN_URL.fullmatch(url):
            hits += 1
            for base in BASES:
                assert _resolve(url, base) == url, (url, base)
        for base in BASES[1:4]:
            assert safe_url(url, base) == _resolve(url, base), (url, base)
    assert hits > 200


@pytest.mark.parametrize(
    "url",
    [
        "HTTPS://a.example/",  # urlsplit lower-cases the scheme
        "https://a.example/x;",  # urljoin drops an empty ";" parameter
        "https://a.example/x?",  # ... and an empty query
        "https://a.example/x#",
        "https://a.example/a b",  # percent-encoded
        "https://u@a.example/",
        "https://[::1]/",
        " https://a.example/",
        "javascript:alert(1)",
        "/relative",
    ],
)
def test_urls_that_need_work_do_not_take_the_shortcut(url: str) -> None:
    assert _PLAIN_URL.fullmatch(url) is None


# --------------------------------------------------------------------------- sanitize_html


def _reference_sanitize(html_text: str, base_url: str | None) -> str:
    """sanitize_html as it was: nh3.clean with every allowlist passed on each call."""

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute in _URL_ATTRIBUTES:
            return _url_attribute(base_url, value)
        return value

    cleaned = nh3.clean(
        _clean_chars(html_text),
        tags=set(_TAGS),
        clean_content_tags=set(_CLEAN_CONTENT_TAGS),
        attributes={tag: set(attrs) for tag, attrs in _ATTRIBUTES.items()},
        attribute_filter=attribute_filter,
        url_schemes=set(SAFE_SCHEMES),
        strip_comments=True,
    )
    return _clean_chars(cleaned).strip()


HOSTILE = [
    '<p onclick="x()">Bonds<script>alert(1)</script><a href="&#106;avascript:alert(1)">c</a></p>',
    '<a href="/rel/1/" title="t">相关</a> <img src="i.png" alt="a" onerror="x()">',
    '<iframe src="https://evil.example/"></iframe><span style="color:red">y</span>',
    '<a href="data:text/html,x">d</a><img src="//cdn.example/i.png"><video poster="p.jpg">',
    "<!-- c --><svg><script>1</script></svg><math>m</math>\x01\x0b<b>ok</b>",
    '<a href="mailto:a@b.example">m</a> <a href="https://x.example/a b">sp</a>',
]


@pytest.mark.parametrize("base", [None, "https://feeds.example/f/feed.xml", "http://o.example/"])
def test_cached_cleaner_gives_what_nh3_clean_gave(base: str | None) -> None:
    for html_text in HOSTILE:
        assert sanitize_html(html_text, base) == _reference_sanitize(html_text, base)


def test_each_base_keeps_its_own_cleaner() -> None:
    html_text = '<a href="/x">x</a>'
    first = sanitize_html(html_text, "https://one.example/")
    second = sanitize_html(html_text, "https://two.example/")
    assert 'href="https://one.example/x"' in first
    assert 'href="https://two.example/x"' in second


# --------------------------------------------------------------------------- saving in batches


def _rss(n: int, items: int) -> bytes:
    body = "".join(
        f"<item><title>Item {n}-{i}</title><link>https://s{n}.example/{i}</link>"
        f'<guid isPermaLink="false">s{n}-{i}</guid>'
        f"<pubDate>Sat, 01 Nov 2025 10:{i:02d}:00 +0000</pubDate>"
        f"<description>&lt;p&gt;Body {i}&lt;/p&gt;</description></item>"
        for i in range(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {n}</title><link>https://s{n}.example/</link>{body}</channel></rss>"
    ).encode()
