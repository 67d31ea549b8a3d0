"""The sanitiser against hostile input: each case is an input and the exact safe output.

Each value goes in as a JSON Feed item from ``BASE`` through
``feedwright.parse_feed`` (JSON Feed values meet our sanitiser alone, with
no feedparser pass before it): ``content_html`` comes out as the entry's
content, ``url`` as its link, ``title`` as its title.
"""

from __future__ import annotations

import json

import pytest

import feedwright

BASE = "https://blog.example/posts/1.html"


def _item(**fields: str) -> feedwright.Entry:
    doc = {"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", **fields}]}
    parsed = feedwright.parse_feed(json.dumps(doc).encode(), url=BASE)
    assert parsed.parser == "json"
    (entry,) = parsed.entries
    return entry


def sanitize_html(html: str) -> str:
    return _item(content_html=html).content or ""


def safe_url(url: str) -> str | None:
    return _item(url=url).link


def plain_text(value: str) -> str:
    return _item(title=value).title


HTML_CASES = [
    # scripts and styles go, contents included
    ("<p>a<script>alert(1)</script>b</p>", "<p>ab</p>"),
    ("<style>body{display:none}</style><p>x</p>", "<p>x</p>"),
    ("<SCRIPT SRC=https://evil.example/x.js></SCRIPT>ok", "ok"),
    ("<svg onload=alert(1)><script>alert(2)</script></svg>ok", "ok"),
    ("<noscript><p>hidden</p></noscript>ok", "ok"),
    # event handlers
    ('<img src="a.png" onerror="alert(1)">', '<img src="https://blog.example/posts/a.png">'),
    ('<p onclick="x()" onmouseover="y()">t</p>', "<p>t</p>"),
    ('<body onload="alert(1)">t</body>', "t"),
    # javascript:, in every disguise
    ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="JaVaScRiPt:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="&#106;avascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="&#x6A;avascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="jav&#x09;ascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="jav&#x0A;ascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="  javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="vbscript:msgbox(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
    ('<a href="data:text/html,<script>alert(1)</script>">x</a>',
     '<a rel="noopener noreferrer">x</a>'),
    ('<img src="data:image/png;base64,iVBORw0KGgo=">', "<img>"),
    ('<video poster="javascript:alert(1)" src="v.mp4"></video>',
     '<video src="https://blog.example/posts/v.mp4"></video>'),
    ('<blockquote cite="javascript:x">q</blockquote>', "<blockquote>q</blockquote>"),
    # embedding and forms
    ('<iframe src="https://evil.example/"></iframe>ok', "ok"),
    ('<object data="x.swf"><param name="a" value="b"></object>ok', "ok"),
    ('<embed src="x.swf">ok', "ok"),
    ('<form action="https://evil.example/"><input name="q"><button>go</button></form>ok', "ok"),
    ('<meta http-equiv="refresh" content="0;url=https://evil.example/">ok', "ok"),
    ('<base href="https://evil.example/">ok', "ok"),
    ('<link rel="stylesheet" href="https://evil.example/x.css">ok', "ok"),
    # attributes that change presentation or identity
    ('<p style="position:fixed;top:0">x</p>', "<p>x</p>"),
    ('<p class="a" id="b">x</p>', "<p>x</p>"),
    ('<a href="https://ok.example/" target="_blank">x</a>',
     '<a href="https://ok.example/" rel="noopener noreferrer">x</a>'),
    # what stays, resolved against the base
    ('<a href="../about">x</a>',
     '<a href="https://blog.example/about" rel="noopener noreferrer">x</a>'),
    ('<img src="//cdn.example/i.png" alt="i">', '<img src="https://cdn.example/i.png" alt="i">'),
    ('<a href="mailto:me@blog.example">m</a>',
     '<a href="mailto:me@blog.example" rel="noopener noreferrer">m</a>'),
    ('<a href="#top">t</a>',
     '<a href="https://blog.example/posts/1.html#top" rel="noopener noreferrer">t</a>'),
    ("<table><tr><td colspan=2>c</td></tr></table>",
     '<table><tbody><tr><td colspan="2">c</td></tr></tbody></table>'),
    ("<p>a &amp; b &lt; c</p><!-- comment -->", "<p>a &amp; b &lt; c</p>"),
    ("<unknown>text</unknown>", "text"),
    # characters XML cannot carry
    ("<p>a\x00b\x08c\x1fd\ufffe</p>", "<p>abcd</p>"),
]  # fmt: skip


@pytest.mark.parametrize(("dirty", "clean"), HTML_CASES)
def test_sanitize_html(dirty: str, clean: str) -> None:
    assert sanitize_html(dirty) == clean


def test_sanitize_html_is_idempotent() -> None:
    for dirty, _ in HTML_CASES:
        once = sanitize_html(dirty)
        assert sanitize_html(once) == once


URL_CASES = [
    ("https://ok.example/a", "https://ok.example/a"),
    ("HTTP://OK.example/a", "HTTP://OK.example/a"),
    ("mailto:a@b.example", "mailto:a@b.example"),
    ("/x", "https://blog.example/x"),
    ("x y", "https://blog.example/posts/x%20y"),
    ('https://ok.example/"a"<b>{c}|d^e`f', "https://ok.example/%22a%22%3Cb%3E%7Bc%7D%7Cd%5Ee%60f"),
    ("https://ok.example/%20/中文?q=1#frag", "https://ok.example/%20/中文?q=1#frag"),
    ("//cdn.example/i.png", "https://cdn.example/i.png"),
    ("  https://ok.example/  ", "https://ok.example/"),
    ("javascript:alert(1)", None),
    ("java\tscript:alert(1)", None),
    ("java\nscript:alert(1)", None),
    ("\x00javascript:alert(1)", None),
    ("data:image/png;base64,AA", None),
    ("vbscript:x", None),
    ("file:///etc/passwd", None),
    ("ftp://files.example/x", None),
    ("http:///nohost", None),
    ("http://[::1", None),  # unparsable
    ("   ", None),
]


@pytest.mark.parametrize(("url", "expected"), URL_CASES)
def test_safe_url(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


TEXT_CASES = [
    ("AT&amp;T", "AT&T"),
    ("AT&T", "AT&T"),
    ("Tom &amp;amp; Jerry", "Tom &amp; Jerry"),  # unescaped once, never twice
    ("<b>x</b> y", "x y"),
    ("&lt;b&gt;x&lt;/b&gt;", "<b>x</b>"),  # escaped markup is text that shows the markup
    ("a < b > c", "a < b > c"),
    ("<script>alert(1)</script>Title", "Title"),
    ("<style>p{}</style>Title", "Title"),
    ("Caf&eacute; &#x4E2D;&#25991;", "Café 中文"),
    ("  line one\n\tline two  ", "line one line two"),
    ("bell\x07 and\x00 null", "bell and null"),
    ("", ""),
]


@pytest.mark.parametrize(("value", "expected"), TEXT_CASES)
def test_plain_text(value: str, expected: str) -> None:
    assert plain_text(value) == expected
