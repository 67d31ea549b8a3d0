"""The posts reader's fast paths, each held to the general path it shortcuts.

Seeded fuzzes compare: the line-token ``_simple_yaml`` with the line-regex
version it replaced and with PyYAML; the ISO 8601 and zone-name RFC 2822
date shortcuts with ``_DATE`` and ``parsedate``; the closing-fence search
with the ``^``-anchored one; ``_entry_fast`` with ``_entry_general``; the
digest of the file's bytes with the digest of the body text; and a whole
folder read with every shortcut against one with them turned off.
"""

from __future__ import annotations

import random
import re
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from feedwright.config import PostsSource, Site
from feedwright.exceptions import PostError
from feedwright.sources import posts

SITE = Site(title="t", url="https://news.example.com/", language="zh-CN", timezone="Asia/Shanghai")
ZONE = ZoneInfo("Asia/Shanghai")
NEVER = re.compile(r"(?!)")

# --------------------------------------------------------------------------- YAML


_OLD_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?:[ \t]+(.*?))?[ \t]*\Z")
_OLD_ITEM = re.compile(r"( *)-[ \t]+(.*?)[ \t]*\Z")


def old_simple_yaml(raw: str) -> dict[str, Any] | None:
    """``_simple_yaml`` as it was before line tokens: the reference."""
    scalar, bad = posts._simple_scalar, posts._NOT_SIMPLE
    data: dict[str, Any] = {}
    block_keys: list[str] = []
    items: list[Any] | None = None
    indent: str | None = None
    for line in raw.split("\n"):
        if not line or line.isspace():
            continue
        if line[0] in " -":
            if items is None:
                return None
            m = _OLD_ITEM.match(line)
            if m is None or (indent is not None and m[1] != indent):
                return None
            indent = m[1]
            value = scalar(m[2])
            if value is bad:
                return None
            items.append(value)
            continue
        m = _OLD_KEY.match(line)
        if m is None:
            return None
        key, text = m[1], m[2]
        if key in data or key in posts._NULLS or key in posts._BOOLS:
            return None
        if not text:
            items, indent = [], None
            data[key] = items
            block_keys.append(key)
            continue
        items = None
        if text[0] == "[" and text[-1] == "]":
            inner = text[1:-1].strip()
            values = [scalar(v.strip()) for v in inner.split(",")] if inner else []
            if bad in values or any(
                v is None or (isinstance(v, str) and ("[" in v or "]" in v)) for v in values
            ):
                return None
            data[key] = values
            continue
        value = scalar(text)
        if value is bad:
            return None
        data[key] = value
    for key in block_keys:
        if not data[key]:
            data[key] = None
    return data


_WORDS = [
    "a",
    "b c",
    "财经",
    "true",
    "no",
    "null",
    "~",
    "",
    "x:y",
    "a: b",
    "#x",
    "c #d",
    "-1",
    "[x]",
]
_WORDS += ["it''s", "'", '"', "{a}", "a,b", "\u3000", "\t", "10:30", "1e3", "é", "-", "?", "%"]


def _scalar_text(rnd: random.Random) -> str:
    word = rnd.choice(_WORDS)
    style = rnd.random()
    if style < 0.3:
        return f"'{word}'"
    if style < 0.4:
        return f'"{word}"'
    return word


def _line(rnd: random.Random) -> str:
    pad = rnd.choice(["", "", " ", "  ", "\t"])
    gap = rnd.choice([" ", " ", "  ", "\t", "", " \u3000"])
    key = rnd.choice(
        ["title", "tags", "categories", "date", "null", "True", "a-b", "_x", "9k", "k"]
    )
    kind = rnd.random()
    if kind < 0.1:
        return rnd.choice(["", "  ", "\t", "# c", "..."])
    if kind < 0.3:
        return f"{rnd.choice(['', ' ', '  ', ' ', '   '])}-{gap}{_scalar_text(rnd)}{pad}"
    if kind < 0.45:
        return f"{key}{rnd.choice(['', ' '])}:{pad}"
    if kind < 0.7:
        sep = rnd.choice([",", ", ", " ,\t", ",,", "，"])
        items = sep.join(_scalar_text(rnd) for _ in range(rnd.randint(0, 4)))
        inner = rnd.choice(["", " ", "\t"]) + items + rnd.choice(["", " "])
        return f"{key}:{gap}[{inner}]{pad}"
    return f"{key}{rnd.choice(['', ' '])}:{gap}{_scalar_text(rnd)}{pad}"


def test_line_tokens_agree_with_the_line_regexes_and_pyyaml() -> None:
    rnd = random.Random(5)
    accepted = 0
    for _ in range(4000):
        raw = "\n".join(_line(rnd) for _ in range(rnd.randint(1, 6))) + rnd.choice(["", "\n"])
        fast = posts._simple_yaml(raw)
        posts._LINE_CACHE.clear()
        assert posts._simple_yaml(raw) == fast, repr(raw)  # cached tokens change nothing
        assert fast == old_simple_yaml(raw), repr(raw)
        if fast is not None and not _TAB_QUIRKS.search(raw):
            accepted += 1
            assert fast == (yaml.load(raw, Loader=posts._loader()) or {}), repr(raw)
    assert accepted > 300


# Two shapes the fast path has always accepted and PyYAML refuses (a line of
# only tabs; a tab after an item's "-"): kept as they were, not compared here.
_TAB_QUIRKS = re.compile(r"^[ \t]*\t[ \t]*$|^ *- *\t", re.M)


def test_lists_from_the_line_cache_are_fresh() -> None:
    first = posts._simple_yaml("tags: ['a', 'b']\n")
    assert first == {"tags": ["a", "b"]}
    first["tags"].append("c")
    assert posts._simple_yaml("tags: ['a', 'b']\n") == {"tags": ["a", "b"]}


def test_close_fence_search_agrees_with_the_line_anchored_one() -> None:
    old_close = re.compile(r"^(?:-{3,}|\.\.\.)[ \t]*$", re.M)
    rnd = random.Random(7)
    pieces = ["---", "----", "...", "--- ", "-- -", "a---", "x", "", " ---", "---x", "+++"]
    for _ in range(3000):
        head = "---\n" + "\n".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 5)))
        head += rnd.choice(["", "\n", "\nbody\n"])
        old = old_close.search(head, 4)
        new = posts._CLOSE_YAML.search(head, 3)
        assert (old is None) == (new is None), repr(head)
        if old is not None and new is not None:
            assert (old.start(), old.end()) == (new.start() + 1, new.end()), repr(head)


# --------------------------------------------------------------------------- dates


def _general_date(text: str, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as m:
        m.setattr(posts, "_ISO_SECONDS", NEVER)
        try:
            return posts.parse_date(text, ZONE)
        except (ValueError, OverflowError) as exc:
            return type(exc)


def test_iso_shortcut_agrees_with_the_date_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(3)
    taken = 0
    for _ in range(3000):
        text = (
            f"{rnd.choice([1, 2, 1970, 2024, 9999]):04d}-{rnd.randint(0, 13):02d}"
            f"-{rnd.randint(0, 32):02d}{rnd.choice('T ')}{rnd.randint(0, 25):02d}"
            f":{rnd.randint(0, 60):02d}:{rnd.randint(0, 61):02d}"
        )
        if rnd.random() < 0.6:
            text += f"{rnd.choice('+-')}{rnd.randint(0, 25):02d}:{rnd.randint(0, 99):02d}"
        assert posts._ISO_SECONDS.match(text)
        try:
            got: object = posts.parse_date(text, ZONE)
        except (ValueError, OverflowError) as exc:
            got = type(exc)
        else:
            assert got.tzinfo is UTC  # type: ignore[attr-defined]
            taken += 1
        assert got == _general_date(text, monkeypatch), text
    assert taken > 500


def test_zone_name_rfc2822_agrees_with_parsedate() -> None:
    rnd = random.Random(11)
    checked = 0
    for _ in range(3000):
        weekday = rnd.choice(["", "Mon, ", "Sat,", "Xyz, "])
        zone = rnd.choice(["GMT", "gmt", "UT", "UTC", "Utc", "Z", "z", "EST", "GMTX"])
        text = (
            f"{weekday}{rnd.randint(0, 32)} {rnd.choice(['Jan', 'aug', 'DEC', 'Foo'])}"
            f" {rnd.choice([1, 1970, 2021, 9999]):04d} {rnd.randint(0, 24):02d}"
            f":{rnd.randint(0, 60):02d}{rnd.choice(['', f':{rnd.randint(0, 61):02d}'])} {zone}"
        )
        try:
            ref = parsedate_to_datetime(text)
            expected: object = (ref if ref.tzinfo else ref.replace(tzinfo=UTC)).astimezone(UTC)
        except (TypeError, ValueError, IndexError, OverflowError):
            expected = "error"
        try:
            got: object = posts.parse_date(text, ZONE)
        except (ValueError, OverflowError):
            got = "error"
        assert got == expected, text
        checked += posts._RFC2822.match(text) is not None
    assert checked > 1000


# --------------------------------------------------------------------------- entries


def _value(rnd: random.Random, key: str) -> object:
    choice = rnd.random()
    if key in ("categories", "tags"):
        if choice < 0.5:
            return [rnd.choice(["Go", "go", " 财经 ", "a b", "", "ＧＯ"]) for _ in range(3)]
        if choice < 0.6:
            return "a, b c"
        if choice < 0.7:
            return ["x", ["nested"], None, 3]
    if key == "date":
        if choice < 0.7:
            return rnd.choice(
                [
                    "2019-08-09 19:30:15",
                    "2019-04-04T07:55:32+08:00",
                    "Mon, 23 Aug 2021 04:36:11 GMT",
                ]
            )
        if choice < 0.8:
            return rnd.choice(["2019-02-30 10:00:00", "soon", ""])
    if key == "title" and choice < 0.7:
        return rnd.choice(["Hello  world", "标题", "a", "b", "  "])
    if key in ("author", "headimg", "thumbnail") and choice < 0.7:
        return rnd.choice(["李明", "https://x.example/a.png", "/img/b.webp", " ", "javascript:x"])
    return rnd.choice([None, True, 7, "text", ["l"], {"name": "n"}])


_KEYS = ["title", "date", "categories", "tags", "author", "headimg", "thumbnail", "comments"]
_RARE = ["draft", "slug", "updated", "description", "lang", "id", "category", "image"]


def _outcome(fn: Any, *args: Any) -> object:
    try:
        return fn(*args)
    except PostError as exc:
        return ("error", exc.message)


@pytest.mark.parametrize("pattern", ["{year}/{month}/{day}/{slug}/", "{title}-{category}", ""])
def test_fast_entries_equal_general_entries(pattern: str, tmp_path: Path) -> None:
    rnd = random.Random(pattern)
    where = tmp_path / "2021-03-04-post.md"
    where.write_text("# Heading\n")
    source = PostsSource(path=tmp_path, permalink=pattern, categories=("Site",))
    taken = 0
    for i in range(2000):
        keys = [k for k in _KEYS if rnd.random() < (0.97 if k in ("title", "date") else 0.8)]
        if rnd.random() < 0.1:
            keys.append(rnd.choice(_RARE))
        meta = {k: _value(rnd, k) for k in keys}
        rel = rnd.choice(["2021-03-04-post.md", "a/b/index.md", "c d/文章.html"])
        args = (str(where), rel, meta, "# Heading\n\nbody", source, SITE, i % 2 == 0, None)
        general = _outcome(posts._entry_general, *args)
        fast = posts._entry_fast(*args)
        if fast is not None:
            taken += 1
            assert fast == general, meta
        assert _outcome(posts._entry, *args) == general, meta
    assert taken > 100


# --------------------------------------------------------------------------- files


FILES: dict[str, bytes] = {
    "plain.md": "---\ntitle: 标题\ndate: 2023-01-02 03:04:05\n---\n\n正文 body\n".encode(),
    "bom.md": "\ufeff---\ntitle: b\n---\n正文".encode(),
    "double-bom.md": "\ufeff\ufeff---\ntitle: b\n---\nx".encode(),
    "crlf.md": b"---\r\ntitle: c\r\n---\r\nline\r\n",
    "none.md": "没有前言\n".encode(),
    "blank-lines.md": b"\n\n  \n---\ntitle: d\n---",
    "json.md": b'{"title": "j"}\n\nbody',
    "hexo-json.md": b';;;\n"title": "h"\n;;;\nbody',
    "toml.md": b"+++\ntitle = 't'\n+++\nbody",
    "control.md": b"---\ntitle: a\x07b\n---\nbo\x0bdy",
    "nonchar.md": "---\ntitle: n\n---\nx\ufffey".encode(),
    "del-and-c1.md": "---\ntitle: a\x7fb\u0085c\u0090d\n---\nx".encode(),
    "gb.md": "---\ntitle: 国标\n---\n正文".encode("gb18030"),
    "utf16.md": "---\ntitle: w\n---\nwide".encode("utf-16"),
    "no-close.md": b"---\ntitle: x\n",
    "empty-fm.md": b"---\n---\nbody",
}


def test_digest_of_the_bytes_is_the_digest_of_the_body(tmp_path: Path) -> None:
    source = PostsSource(path=tmp_path)
    read = 0
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
        try:
            entry = posts.read_post(tmp_path / name, source, SITE)
        except PostError:
            continue
        assert entry is not None and entry.body is not None and entry.body.text is not None
        assert entry.body.digest == posts._digest(entry.body.text), name
        read += 1
    assert read >= 12


def test_front_matter_known_printable_still_drops_what_yaml_refuses(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_bytes(FILES["del-and-c1.md"])
    entry = posts.read_post(tmp_path / "p.md", PostsSource(path=tmp_path), SITE)
    # DEL and U+0090 go as YAML cannot read them; U+0085 is whitespace to the title.
    assert entry is not None and entry.title == "ab cd"


def _hexo_post(rnd: random.Random, i: int) -> bytes:
    date = rnd.choice(
        ["2019-08-09 19:30:15", "2019-04-04T07:55:32+08:00", "Mon, 23 Aug 2021 04:36:11 GMT"]
    )
    cats = "".join(f" - '{rnd.choice(['财经', 'Go', 'go'])}'\n" for _ in range(rnd.randint(0, 2)))
    tags = ", ".join(f"'{t}'" for t in rnd.sample(["a", "城市", "B", "b"], rnd.randint(0, 3)))
    lines = [
        f"title: '文章 {i}'",
        f"categories: \n{cats}".rstrip("\n"),
        f"tags: [{tags}]",
        rnd.choice(["", f"headimg: 'https://p.example/{i}.jpg'", "thumbnail: /t.png"]),
        rnd.choice(["author: 李明", "author: Bob", ""]),
        "comments: false",
        f"date: {date}",
        rnd.choice(["", "", "draft: false", "description: d", "title2: &a x"]),
    ]
    text = "---\n" + "\n".join(x for x in lines if x) + "\n---\n\n正文 " + "字" * i + "\n"
    return text.encode()


def test_a_folder_reads_the_same_with_every_shortcut_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(1)
    for i in range(150):
        (tmp_path / f"p{i:03d}.md").write_bytes(_hexo_post(rnd, i))
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    source = PostsSource(path=tmp_path, permalink="{year}/{month}/{day}/{slug}/")
    fast = posts.read_posts(source, SITE, keep_text=False)
    with monkeypatch.context() as m:
        m.setattr(posts, "_entry_fast", lambda *args: None)
        m.setattr(posts, "_ISO_SECONDS", NEVER)
        m.setattr(posts, "_simple_yaml", old_simple_yaml)
        slow = posts.read_posts(source, SITE, keep_text=False)
    assert len(fast.entries) > 150
    assert fast.entries == slow.entries
    assert [(e.path, e.message) for e in fast.errors] == [(e.path, e.message) for e in slow.errors]
    assert (fast.skipped, fast.stripped) == (slow.skipped, slow.stripped)
