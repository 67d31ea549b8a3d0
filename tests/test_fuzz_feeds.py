"""Property: any mutation of a feed gives a ParsedFeed of XML-safe strings or a ParseError.

Feeds from tests/data/feeds and a generated RSS/Atom pair are truncated,
byte-flipped, re-encoded wrongly, given huge attributes, deep nesting and odd
entities, then handed to ``feedwright.parse_feed`` on both readers. Nothing
else may come out: no other exception, no string a publisher could not write
into XML 1.0. Runs are derandomised so CI sees the same examples each time;
``FEEDWRIGHT_FUZZ=2000`` asks for more.
"""

from __future__ import annotations

import dataclasses
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import feedwright

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
DATA = Path(__file__).parent / "data" / "feeds"
SEEDS = [
    p.read_bytes()
    for p in sorted(DATA.iterdir())
    if p.is_file() and not p.name.endswith((".expected.json", ".headers.json"))
]
SEEDS.append(
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
    b'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>G</title>'
    b'<link>https://g.example/</link><item><title>One &amp; two</title><guid isPermaLink="false">'
    b"g-1</guid><link>/1</link><pubDate>Sat, 01 Jun 2024 10:00:00 +0000</pubDate><description>"
    b"&lt;p&gt;Hi &lt;a href=&quot;/x&quot;&gt;x&lt;/a&gt;&lt;/p&gt;</description>"
    b"<content:encoded><![CDATA[<p>caf\xc3\xa9 <img src=i.png></p>]]></content:encoded>"
    b'<enclosure url="/a.mp3" type="audio/mpeg" length="12"/></item></channel></rss>'
)
SEEDS.append(
    b'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de"><title>A</title><id>urn:a</id>'
    b'<entry><id>urn:a:1</id><title type="html">&lt;b&gt;B&lt;/b&gt;</title>'
    b'<link href="https://a.example/1"/><updated>2024-05-01T10:00:00+02:00</updated>'
    b'<author><name>Z</name><email>z@a.example</email></author><category term="k"/>'
    b'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></content>'
    b"</entry></feed>"
)

ODD_ENTITIES = [
    b"&#0;", b"&#x0;", b"&#xD800;", b"&#xDFFF;", b"&#xFFFE;", b"&#1114112;", b"&#99999999999;",
    b"&#x110000;", b"&nbsp;", b"&undefined;", b"&amp;#0;", b"&#8;", b"&#x1F;", b"&lt;script&gt;",
    b"&#65", b"&", b"&#;", b"&#x;", b"&lol9;", b"\x00", b"\x0b", b"\xef\xbf\xbe", b"]]>",
]  # fmt: skip
ENCODINGS = ["latin-1", "utf-16", "utf-16-be", "utf-32", "gb18030", "cp1252", "shift_jis", "koi8-r"]

# XML 1.0's Char production, negated.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(
            st.sampled_from(
                ["truncate", "flip", "insert", "entity", "encoding", "attribute", "nest", "declare"]
            )
        )
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "truncate":
            del data[at:]
        elif op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "entity":
            data[at:at] = draw(st.sampled_from(ODD_ENTITIES))
        elif op == "encoding":
            text = bytes(data).decode("utf-8", "replace")
            data = bytearray(text.encode(draw(st.sampled_from(ENCODINGS)), "replace"))
        elif op == "attribute":
            tag = data.find(b">", at)
            if tag > 0:
                size = draw(st.sampled_from([10, 1000, 100_000, 1_000_000]))
                data[tag:tag] = b' huge="' + b"a" * size + b'"'
        elif op == "nest":
            depth = draw(st.sampled_from([10, 300, 5_000, 30_000]))
            tag = draw(st.sampled_from([b"div", b"x", b"b", b"rss:item"]))
            escaped = draw(st.booleans())
            open_, close = (b"&lt;%s&gt;", b"&lt;/%s&gt;") if escaped else (b"<%s>", b"</%s>")
            data[at:at] = (open_ % tag) * depth + b"t" + (close % tag) * depth
        elif op == "declare":
            encoding = draw(st.sampled_from([*ENCODINGS, "utf-8", "bogus", "utf-7", "ebcdic"]))
            data[0:0] = b'<?xml version="1.0" encoding="%s"?>' % encoding.encode()
    return bytes(data)


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        found = []
        for field in dataclasses.fields(value):
            found += _strings(getattr(value, field.name), f"{path}.{field.name}")
        return found
    if isinstance(value, list | tuple | frozenset | set):
        return [s for n, item in enumerate(value) for s in _strings(item, f"{path}[{n}]")]
    return []


@settings(
    max_examples=int(os.environ.get("FEEDWRIGHT_FUZZ", "150")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=mutated(), fast=st.booleans(), kind=st.sampled_from(["", "application/json"]))
def test_mutated_feeds_parse_to_xml_safe_strings_or_a_parse_error(
    data: bytes, fast: bool, kind: str
) -> None:
    headers = {"Content-Type": kind} if kind else {}
    try:
        parsed = feedwright.parse_feed(
            data, url="https://fuzz.example/feed", headers=headers, now=NOW, fast=fast
        )
    except feedwright.ParseError as exc:
        assert exc.url == "https://fuzz.example/feed"
        return
    assert isinstance(parsed, feedwright.ParsedFeed)
    for where, text in _strings(parsed):
        assert _NOT_XML.search(text) is None, (where, text[:200])
    for entry in parsed.entries:
        assert entry.updated >= entry.published
        assert entry.id
