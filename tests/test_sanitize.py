"""The sanitiser against hostile input: each case is an input and the exact safe output."""

from __future__ import annotations

import pytest

from feedwright.sanitize import plain_text, safe_url, sanitize_html

BASE = "https://blog.example/posts/1.html"

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
    assert sanitize_html(dirty, BASE) == clean


def test_sanitize_html_without_base_keeps_relative_urls() -> None:
    assert sanitize_html('<a href="../x">x</a><img src="data:x">') == (
        '<a href="../x" rel="noopener noreferrer">x</a><img>'
    )
    assert sanitize_html('<a href="javascript:alert(1)">x</a>') == (
        '<a rel="noopener noreferrer">x</a>'
    )


def test_sanitize_html_is_idempotent() -> None:
    for dirty, _ in HTML_CASES:
        once = sanitize_html(dirty, BASE)
        assert sanitize_html(once, BASE) == once


URL_CASES = [
    ("https://ok.example/a", None, "https://ok.example/a"),
    ("HTTP://OK.example/a", None, "HTTP://OK.example/a"),
    ("mailto:a@b.example", None, "mailto:a@b.example"),
    ("/x", BASE, "https://blog.example/x"),
    ("x y", BASE, "https://blog.example/posts/x%20y"),
    (
        'https://ok.example/"a"<b>{c}|d^e`f',
        None,
        "https://ok.example/%22a%22%3Cb%3E%7Bc%7D%7Cd%5Ee%60f",
    ),
    ("https://ok.example/%20/中文?q=1#frag", None, "https://ok.example/%20/中文?q=1#frag"),
    ("//cdn.example/i.png", BASE, "https://cdn.example/i.png"),
    ("  https://ok.example/  ", None, "https://ok.example/"),
    ("/x", None, None),  # relative with nothing to resolve against
    ("javascript:alert(1)", BASE, None),
    ("java\tscript:alert(1)", BASE, None),
    ("java\nscript:alert(1)", BASE, None),
    ("\x00javascript:alert(1)", BASE, None),
    ("data:image/png;base64,AA", BASE, None),
    ("vbscript:x", BASE, None),
    ("file:///etc/passwd", BASE, None),
    ("ftp://files.example/x", BASE, None),
    ("http:///nohost", None, None),
    ("http://[::1", None, None),  # unparsable
    ("", BASE, None),
    ("   ", BASE, None),
    (None, BASE, None),
]


@pytest.mark.parametrize(("url", "base", "expected"), URL_CASES)
def test_safe_url(url: str | None, base: str | None, expected: str | None) -> None:
    assert safe_url(url, base) == expected


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
