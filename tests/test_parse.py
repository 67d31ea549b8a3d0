"""Remote feed bytes -> entries through ``feedwright.parse_feed``, against the
sample corpus in tests/data/feeds/.

Each sample ``NAME.<ext>`` sits beside ``NAME.expected.json`` (the normalised
result, or the error it must raise) and optionally ``NAME.headers.json`` (the
HTTP response headers it is served with). After an intended change, rewrite
the expected files and review the diff::

    FEEDWRIGHT_REGEN=1 pytest tests/test_parse.py
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import feedwright
from feedwright import Entry, ParsedFeed, ParseError

DATA = Path(__file__).parent / "data" / "feeds"
NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
REGEN = os.environ.get("FEEDWRIGHT_REGEN") == "1"
SAMPLES = sorted(
    p
    for p in DATA.iterdir()
    if p.is_file() and not p.name.endswith((".expected.json", ".headers.json"))
)


def _stem(path: Path) -> str:
    return path.name.rsplit(".", 1)[0]


def _url(path: Path) -> str:
    return f"https://feeds.example/{path.name}"


def _headers(path: Path) -> dict[str, str]:
    sidecar = path.with_name(_stem(path) + ".headers.json")
    if sidecar.exists():
        headers: dict[str, str] = json.loads(sidecar.read_text(encoding="utf-8"))
        return headers
    return {}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def _result(path: Path) -> dict[str, Any]:
    url = _url(path)
    try:
        parsed = feedwright.parse_feed(path.read_bytes(), url=url, headers=_headers(path), now=NOW)
    except ParseError as exc:
        assert exc.url == url
        return {"error": "ParseError"}
    return {
        "title": parsed.title,
        "link": parsed.link,
        "feed_id": parsed.feed_id,
        "bozo": parsed.bozo is not None,  # the message text is feedparser's, not ours to pin
        "undated_ids": sorted(parsed.undated_ids),
        "entries": [_jsonable(asdict(e)) for e in parsed.entries],
    }


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_feed(path: Path) -> None:
    expected_path = path.with_name(_stem(path) + ".expected.json")
    got = _result(path)
    if REGEN:
        expected_path.write_text(
            json.dumps(got, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
        )
    assert expected_path.exists(), f"run with FEEDWRIGHT_REGEN=1 to create {expected_path.name}"
    assert got == json.loads(expected_path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------- the corpus, spelled out
# The golden files pin everything; these say what matters in each, so a careless
# regeneration cannot quietly accept a regression.


def _parse(name: str, now: datetime = NOW, fast: bool = True) -> ParsedFeed:
    path = DATA / name
    return feedwright.parse_feed(
        path.read_bytes(), url=_url(path), headers=_headers(path), now=now, fast=fast
    )


def _by_id(parsed: ParsedFeed) -> dict[str, Entry]:
    return {e.id: e for e in parsed.entries}


def test_rss20_fields() -> None:
    parsed = _parse("rss20.xml")
    ep12, ep11 = parsed.entries
    assert ep12.id == "radio.example:episode:12"  # guid isPermaLink=false is still the id
    assert ep12.link == "https://feeds.example/shows/12"  # relative link resolved against the URL
    assert ep12.published == datetime(2024, 5, 14, 16, 0, tzinfo=UTC)
    assert ep12.updated == ep12.published
    assert [a.name for a in ep12.authors] == ["Sam Okafor"]
    assert ep12.categories == ("Podcasts", "Local History")  # "podcasts" deduplicated
    assert ep12.summary == "Why the old bridge has <em>three</em> arches."
    assert ep12.content is not None
    assert 'href="https://feeds.example/maps/bridge"' in ep12.content
    assert 'src="https://feeds.example/images/arch.png"' in ep12.content
    assert [(e.url, e.type, e.length) for e in ep12.enclosures] == [
        ("https://cdn.radio.example/ep12.mp3", "audio/mpeg", 24986239),
        ("https://cdn.radio.example/ep12-thumb.jpg", "image/jpeg", 0),
        ("https://cdn.radio.example/ep12-cover.png", "image/png", 0),
    ]
    assert ep12.language == "en-US"  # HTTP Content-Language
    assert ep11.authors[0].name == "News Desk" and ep11.authors[0].email == "desk@radio.example"
    # missing type: guessed from the extension; image without one: image/jpeg; bad length: 0
    assert [(e.type, e.length) for e in ep11.enclosures] == [("audio/ogg", 0), ("image/jpeg", 0)]
    assert ep12.source is not None
    assert ep12.source.title == "Riverside Radio" and ep12.source.link == "https://radio.example/"
    assert ep12.origin == "https://feeds.example/rss20.xml"


def test_atom10_xml_base_resolves_links() -> None:
    parsed = _parse("atom10-xmlbase.xml")
    assert parsed.link == "https://maps.example/blog/"
    assert parsed.feed_id == "urn:uuid:6c1b0e6a-3c1d-4c5e-9a0e-1f2d3c4b5a69"
    first, second = parsed.entries
    assert first.link == "https://maps.example/blog/posts/2024/projections.html"
    assert first.title == "Projections explained"
    assert first.enclosures[0].url == "https://maps.example/blog/files/projections.pdf"
    assert first.content is not None
    assert 'href="https://maps.example/blog/img/mercator.png"' in first.content
    assert 'href="https://maps.example/glossary#conformal"' in first.content
    assert first.summary == "Why Greenland looks huge &amp; other puzzles."
    assert first.categories == ("cartography", "maths")
    assert first.published == datetime(2024, 5, 19, 19, 15, tzinfo=UTC)
    assert first.authors[0].uri == "https://maps.example/about/ada"  # inherited from the feed
    assert first.language == "en"
    # type="text" content is escaped, not interpreted
    assert second.content == (
        "Lines of equal height.\nCloser lines mean steeper ground &lt;not a tag&gt;."
    )
    assert second.published == second.updated == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_json_feeds() -> None:
    v10 = _parse("jsonfeed10.json")
    assert v10.title == "Bakery Board"
    rye, welcome = v10.entries
    assert welcome.id == "1"  # a numeric id becomes a string
    assert rye.content is not None and "javascript" not in rye.content
    assert rye.authors[0].name == "Mina Cole"  # JSON Feed 1.0 "author"
    assert rye.enclosures[0].type == "image/jpeg"
    assert welcome.content == "Hello &amp; welcome.\nFresh bread &lt;daily&gt;."
    assert welcome.updated == datetime(2024, 4, 3, 6, tzinfo=UTC)

    v11 = _parse("jsonfeed11.json")
    report, bridge = v11.entries
    assert report.link == "https://feeds.example/r/42"
    assert report.content is not None and "onerror" not in report.content
    assert report.categories == ("Alps", "Conditions")
    assert report.language == "en" and bridge.language == "de-CH"
    assert report.updated == datetime(2024, 5, 18, 17, tzinfo=UTC)  # zone-less: UTC
    assert [e.type for e in report.enclosures] == ["application/gpx+xml", "audio/mpeg"]
    assert bridge.link == "https://news.example/trails/41"  # external_url fallback
    assert bridge.id in v11.undated_ids


def test_titles_that_are_text_keep_what_looks_like_a_tag() -> None:
    """A text title is text: "<template>" and "vector<bool>" are words of it,
    not tags to drop. Titles that are HTML (Atom type="html", RSS or JSON
    titles with markup in them) become their text."""
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:f</id>
<updated>2024-01-01T00:00:00Z</updated>
<entry><id>urn:1</id><updated>2024-01-01T00:00:00Z</updated>
 <title type="text">Using the &lt;template&gt; element &amp; more</title></entry>
<entry><id>urn:2</id><updated>2024-01-01T00:00:00Z</updated>
 <title type="html">&lt;b&gt;Bold&lt;/b&gt; std::vector&amp;lt;bool&amp;gt;</title></entry>
</feed>"""
    rss = b"""<rss version="2.0"><channel><title>t</title><link>https://r.example/</link>
<item><guid>1</guid><title>Why std::vector&lt;bool&gt; is special</title></item>
<item><guid>2</guid><title>&lt;em&gt;Em&lt;/em&gt; news: AT&amp;amp;T</title></item>
</channel></rss>"""
    jsonfeed = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "t",
            "items": [
                {"id": "1", "title": "Why std::vector<bool> is special", "content_text": "x"},
                {"id": "2", "title": "a < b & c", "content_text": "x"},
                {"id": "3", "title": "<b>AT&amp;T</b> news", "content_text": "x"},
            ],
        }
    ).encode()
    titles = [
        [e.title for e in feedwright.parse_feed(body, url="https://r.example/f", now=NOW).entries]
        for body in (atom, rss, jsonfeed)
    ]
    assert titles == [
        ["Using the <template> element & more", "Bold std::vector<bool>"],
        ["Why std::vector<bool> is special", "Em news: AT&T"],
        ["Why std::vector<bool> is special", "a < b & c", "AT&T news"],
    ]


def test_encodings_are_detected_not_mojibaked() -> None:
    gbk = _parse("gbk-undeclared.xml")
    assert gbk.title == "张家港新闻"
    assert gbk.entries[0].title == "港口扩建工程正式开工"
    assert gbk.entries[0].categories == ("经济",)
    assert gbk.bozo is not None and "gb18030" in gbk.bozo

    latin = _parse("latin1-as-utf8.xml")
    assert latin.title == "Café Müller Nachrichten"
    assert latin.entries[0].title == "Crème brûlée für alle"

    assert _parse("utf8-header-latin1.xml").title == "Ünïcödé Ŧitle — “quotes”"
    assert _parse("utf16-bom.xml").title == "Wide Feed ÅÄÖ 日本"


def test_ill_formed_feed_is_recovered() -> None:
    parsed = _parse("illformed-amp.xml")
    assert parsed.bozo is not None
    assert parsed.title == "Fish & Chips Weekly"
    (entry,) = parsed.entries
    assert entry.title == "Salt & vinegar"
    assert entry.link == "https://chips.example/p?id=7&ref=rss"


def test_a_cut_off_feed_is_read_as_far_as_it_goes_and_noted() -> None:
    # A download cut short with a Content-Length that matched: the entries
    # before the break are kept, and the note (shown by build and status) says so.
    whole = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>One</title><guid>1</guid></item>"
        b"<item><title>Two</title><guid>2</guid></item></channel></rss>"
    )
    parsed = _parse_bytes(whole[: whole.index(b"<item><title>Two") + 20], {})
    assert parsed.entries[0].title == "One"
    assert parsed.note is not None
    assert parsed.note.startswith("not well-formed XML (") and "could be read" in parsed.note
    assert _parse_bytes(whole, {}).note is None


@pytest.mark.parametrize("name", ["garbage.bin", "html-page.html"])
def test_not_a_feed(name: str) -> None:
    with pytest.raises(ParseError) as info:
        _parse(name)
    assert info.value.url == _url(DATA / name)
    assert str(info.value).startswith(info.value.url)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"{not json",
        b'{"hello": "world"}',
        b"[1, 2, 3]",
        b"<html></html>",
        b"\xff" * 50,
    ],
)
def test_more_non_feeds(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        feedwright.parse_feed(body, url="https://x.example/", now=NOW)
    if not body.strip():
        assert (
            str(info.value) == "https://x.example/: the server sent an empty body: no feed to read"
        )


def test_duplicate_ids_are_disambiguated_stably() -> None:
    parsed = _parse("duplicate-guids.xml")
    ids = [e.id for e in parsed.entries]
    assert len(ids) == 3  # the exact repeat is dropped
    assert ids[0] == "echo-1" and ids[2] == "echo-2"
    assert ids[1].startswith("echo-1#") and len(ids[1]) == len("echo-1#") + 12
    assert parsed.entries[1].title == "Second take, same guid"
    assert [e.id for e in _parse("duplicate-guids.xml").entries] == ids


def test_a_repeated_id_with_a_link_of_its_own_keeps_its_id_through_edits() -> None:
    def feed(second: str) -> bytes:
        items = [("A", "https://d.example/a", "One."), ("B", "https://d.example/b", second)]
        body = "".join(
            f"<item><title>{t}</title><guid>dup</guid><link>{link}</link>"
            f"<description>{d}</description></item>"
            for t, link, d in items
        )
        return f'<rss version="2.0"><channel><title>D</title>{body}</channel></rss>'.encode()

    before = [e.id for e in _parse_bytes(feed("Two."), {}).entries]
    after = [e.id for e in _parse_bytes(feed("Two, edited."), {}).entries]
    assert before == after and before[0] == "dup" and before[1].startswith("dup#")


def test_missing_ids_fall_back_to_link_then_hash() -> None:
    parsed = _parse("missing-guids.xml")
    link_only, nothing, untitled = parsed.entries
    assert link_only.id == "https://board.example/n/1"
    assert nothing.id.startswith("urn:sha256:") and len(nothing.id) == len("urn:sha256:") + 64
    assert untitled.id.startswith("urn:sha256:") and untitled.id != nothing.id
    assert untitled.title == ""
    assert _parse("missing-guids.xml").entries[1].id == nothing.id


def test_dates() -> None:
    parsed = _parse("dates.xml")
    entries = _by_id(parsed)
    undated = entries["tag:clock.example,2024:undated"]
    assert undated.published == undated.updated == NOW
    # A date more than a day ahead is no date: dated when first seen (by the
    # store), not clamped to each fetch's time, which moved it every time.
    assert parsed.undated_ids == {"tag:clock.example,2024:undated", "tag:clock.example,2024:future"}
    future = entries["tag:clock.example,2024:future"]
    assert future.published == future.updated == NOW
    soon = entries["tag:clock.example,2024:soon"]
    assert soon.published == datetime(2024, 6, 1, 20, tzinfo=UTC)  # within a day: kept
    upd = entries["tag:clock.example,2024:updated-only"]
    assert upd.published == upd.updated == datetime(2024, 5, 3, 9, 30, tzinfo=UTC)
    backwards = entries["tag:clock.example,2024:backwards"]
    assert backwards.published == backwards.updated == datetime(2024, 5, 5, 10, tzinfo=UTC)


def test_an_earlier_now_does_not_take_real_dates_for_typos() -> None:
    """``now`` set in the past (a test, a replay): a date after it but not
    after the clock is a date, not a typo dated when first seen."""
    body = (DATA / "rss20.xml").read_bytes()
    parsed = feedwright.parse_feed(
        body, url="https://feeds.example/rss20.xml", now=datetime(2000, 1, 1, tzinfo=UTC)
    )
    assert parsed.undated_ids == set()
    assert parsed.entries[0].published == datetime(2024, 5, 14, 16, 0, tzinfo=UTC)


def test_hostile_html_is_neutralised() -> None:
    parsed = _parse("hostile-html.xml")
    assert parsed.title == "Hostile Feed"
    assert parsed.link is None  # javascript: feed link dropped
    (entry,) = parsed.entries
    assert entry.title == "Bold AT&T"
    assert entry.link is None
    assert entry.enclosures == ()
    html = (entry.summary or "") + (entry.content or "")
    lowered = html.lower()
    for bad in (
        "<script", "alert", "onclick", "onerror", "onload", "<style", "javascript", "vbscript",
        "data:", "<iframe", "<object", "<embed", "<form", "<input", "<svg", "style=", "class=",
        "id=", "target=",
    ):  # fmt: skip
        assert bad not in lowered, bad
    assert 'href="mailto:editor@hostile.example"' in html
    assert '<a href="https://ok.example/" rel="noopener noreferrer">ok</a>' in html
    assert 'src="https://feeds.example/x.png"' in html


def _big_laughs() -> bytes:
    # Quadratic blowup: one 100 kB entity used 20 000 times would be 2 GB expanded.
    big = "a" * 100_000
    refs = "&big;" * 20_000
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY big "{big}">]>\n'
        f'<rss version="2.0"><channel><title>t</title><item><guid>g</guid><title>{refs}</title>'
        f"<description>{refs}</description></item></channel></rss>"
    ).encode()


def test_entity_expansion_never_happens() -> None:
    parsed = _parse("billion-laughs.xml")
    (entry,) = parsed.entries
    assert entry.title == "&lol9;"  # an undeclared entity, shown as written
    assert parsed.title == "Laughs &plain;"
    assert "lollol" not in (entry.summary or "")
    assert "expanded" not in (entry.summary or "")

    url = "https://laughs.example/big"
    big = feedwright.parse_feed(_big_laughs(), url=url, now=NOW)
    (entry,) = big.entries
    assert len(entry.title) + len(entry.summary or "") < 300_000
    assert "aaaa" not in entry.title


def test_external_entities_are_never_loaded() -> None:
    parsed = _parse("xxe.xml")
    (entry,) = parsed.entries
    everything = json.dumps(_jsonable(asdict(entry))) + (parsed.title or "")
    assert "root:" not in everything
    assert "/bin/" not in everything
    assert entry.summary is not None and entry.summary.startswith("Before")


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE rss [<!ENTITY a "]>">]>\n',
        "<?pi x?><!-- c --><!DOCTYPE rss SYSTEM 'x.dtd'>",
        "<!DOCTYPE rss [ <!-- ]> --> ]>",
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://x/rss.dtd">',
    ],
)
def test_doctypes_are_dropped_whatever_they_hold(prolog: str) -> None:
    body = prolog + '<rss version="2.0"><channel><title>Kept</title></channel></rss>'
    assert _parse_bytes(body.encode()).title == "Kept"


@pytest.mark.parametrize(
    "body",
    [
        '<!DOCTYPE rss [ <!ENTITY a "unterminated',
        "<!DOCTYPE x [" + "<!--" * 50_000,  # many unterminated openers: still linear
    ],
)
def test_an_unterminated_doctype_is_not_a_feed(body: str) -> None:
    with pytest.raises(ParseError):
        _parse_bytes(body.encode())


def _channel(title: str) -> str:
    return f'<rss version="2.0"><channel><title>{title}</title></channel></rss>'


@pytest.mark.parametrize(
    ("body", "headers", "title", "noted"),
    [
        (b'<?xml version="1.0" encoding="gbk"?>' + _channel("中文").encode("gbk"), {}, "中文", 0),
        (("\ufeff" + _channel("é")).encode(), {"Content-Type": "text/xml;charset=latin-1"}, "é", 0),
        (_channel("é").encode("cp1252"), {}, "é", 1),
    ],
)  # fmt: skip
def test_declared_and_guessed_encodings(
    body: bytes, headers: dict[str, str], title: str, noted: int
) -> None:
    parsed = _parse_bytes(body, headers)
    assert parsed.title == title
    assert (parsed.bozo is not None) == bool(noted)


# --------------------------------------------------------------------------- process-pool readiness


def test_the_result_pickles() -> None:
    for fast in (True, False):
        parsed = _parse("rss20.xml", fast=fast)
        assert pickle.loads(pickle.dumps(parsed)) == parsed


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError):
        _parse("rss20.xml", now=datetime(2024, 6, 1))


# --------------------------------------------------------------------------- edge cases


def _parse_bytes(body: bytes, headers: dict[str, str] | None = None) -> ParsedFeed:
    return feedwright.parse_feed(body, url="https://edge.example/feed", headers=headers, now=NOW)


def test_body_is_never_taken_for_a_path_or_url(tmp_path: Path) -> None:
    # feedparser.parse(str_or_bytes) opens files and URLs; a body that names one must not.
    feed = tmp_path / "secret.xml"
    feed.write_text('<rss version="2.0"><channel><title>SECRET</title></channel></rss>')
    with pytest.raises(ParseError):
        _parse_bytes(str(feed).encode())
    with pytest.raises(ParseError):
        _parse_bytes(b"http://127.0.0.1:9/feed.xml")


def test_bare_ampersands_are_repaired_but_entities_and_cdata_kept() -> None:
    body = (
        b'<rss version="2.0"><channel><title>x & y &amp; &#38; &#x26; &b=2</title><item>'
        b"<guid>g</guid><title><![CDATA[p?a=1&b=2]]></title></item></channel></rss>"
    )
    parsed = _parse_bytes(body)
    assert parsed.title == "x & y & & & &b=2"
    assert parsed.entries[0].title == "p?a=1&b=2"


def test_repair_leaves_cdata_urls_alone() -> None:
    body = (
        b'<rss version="2.0"><channel><title>A & B</title><item>'
        b"<link><![CDATA[https://edge.example/p?a=1&b=2]]></link><title>t</title>"
        b"</item></channel></rss>"
    )
    parsed = _parse_bytes(body)
    assert parsed.title == "A & B"
    assert parsed.entries[0].link == "https://edge.example/p?a=1&b=2"
    assert parsed.bozo is not None and "repaired" in parsed.bozo


def test_xml_served_as_json_is_still_xml() -> None:
    body = b'<rss version="2.0"><channel><title>T</title></channel></rss>'
    parsed = _parse_bytes(body, {"Content-Type": "application/json"})
    assert parsed.title == "T" and parsed.entries == []


def test_json_with_bom_and_leading_space() -> None:
    body = (
        b'\xef\xbb\xbf \n{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": []}'
    )
    assert _parse_bytes(body).title == "J"


def test_http_charset_beats_declaration() -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0"><channel><title>中文</title></channel></rss>'
    )
    parsed = _parse_bytes(body.encode("gbk"), {"content-type": "text/xml; charset=GBK"})
    assert parsed.title == "中文"
    assert parsed.bozo is None


def test_empty_but_valid_feed() -> None:
    parsed = _parse_bytes(b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>')
    assert parsed.entries == [] and parsed.title is None


def test_entity_expansion_in_attribute_and_parameter_entities() -> None:
    body = (
        b'<!DOCTYPE feed [<!ENTITY % p "<!ENTITY e \'BOOM\'>"> %p; <!ENTITY a "BOOM">]>'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&a;</title>'
        b'<entry><id>x</id><title>&e;</title><link href="https://edge.example/&a;"/></entry></feed>'
    )
    parsed = _parse_bytes(body)
    assert "BOOM" not in json.dumps(_jsonable(asdict(parsed.entries[0])))
    assert "BOOM" not in (parsed.title or "")


def test_control_characters_do_not_break_parsing() -> None:
    body = b'<rss version="2.0"><channel><title>Bell\x07 feed</title><item><guid>a\x0bb</guid>'
    body += b"<title>x\x1fy</title></item></channel></rss>"
    parsed = _parse_bytes(body)
    assert parsed.bozo is None
    assert parsed.title == "Bell feed"
    assert [(e.id, e.title) for e in parsed.entries] == [("ab", "xy")]
