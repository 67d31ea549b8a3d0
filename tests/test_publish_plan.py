"""Slugs and feed planning: pure functions, checked against real paths in tmp folders."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedwright.config import Output, Site
from feedwright.model import Entry, newest_first
from feedwright.publish.plan import plan, to_uri
from feedwright.publish.slugs import (
    MAX_SLUG_BYTES,
    TOP_LEVEL_FILES,
    assign_slugs,
    is_safe_slug,
    slugify,
)
from feedwright.text import category_key, strip_xml_illegal

NASTY = [
    "..",
    ".",
    "/",
    "\\",
    "\x00",
    "../etc",
    "../../etc/passwd",
    "a/b",
    "a\\b",
    "C++",
    "C#",
    "C",
    "c",
    "F#",
    "🚀",
    "🚀🚀",
    "❤️",
    "👍🏽",
    "CON",
    "nul",
    "Com1",
    "LPT9",
    "atom.xml",
    "rss.xml",
    "index.opml",
    "feed.json",
    ".feedwright-manifest.json",
    ".hidden",
    "x" * 300,
    "金" * 300,
    "",
    "   ",
    "-",
    "---",
    "金融",
    "Café",
    "cafe",
    "Straße",
    "Ελληνικά",
    "日本語 news",
    "news",
    "a b",
    "a-b",
    "A_B",
    "tab\there",
    "C:",
    "trailing.",
    "trailing ",
    "zero\u200bwidth",
    "‮rtl",
]


def _output(tmp_path: Path, mode: str = "unicode", **kw: object) -> Output:
    return Output(dir=tmp_path / "feeds", slugs=mode, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["unicode", "ascii"])
@pytest.mark.parametrize("name", NASTY)
def test_every_slug_is_a_safe_folder_inside_output(tmp_path: Path, name: str, mode: str) -> None:
    slug = slugify(name, mode)  # type: ignore[arg-type]
    assert is_safe_slug(slug), slug
    assert len(slug.encode("utf-8")) <= MAX_SLUG_BYTES
    if mode == "ascii":
        assert slug.isascii()
    out = tmp_path / "feeds"
    folder = out / slug
    folder.mkdir(parents=True)  # the file system accepts it as one folder
    assert folder.resolve().parent == out.resolve()
    (folder / "atom.xml").write_bytes(b"x")
    assert [p.name for p in out.iterdir()] == [slug]


@pytest.mark.parametrize("mode", ["unicode", "ascii"])
def test_distinct_categories_never_share_a_slug(tmp_path: Path, mode: str) -> None:
    slugs = assign_slugs(NASTY, _output(tmp_path, mode))
    # Names that are one category after normalisation ("C"/"c", blanks) share one entry.
    folded = [s.casefold() for s in slugs.values()]
    assert len(set(folded)) == len(folded)
    reserved = {n.casefold() for n in TOP_LEVEL_FILES}
    assert not reserved & set(folded)
    out = tmp_path / "feeds"
    for slug in slugs.values():
        (out / slug).mkdir(parents=True)
    assert len(list(out.iterdir())) == len(slugs)


def test_slug_of_a_category_does_not_depend_on_the_others(tmp_path: Path) -> None:
    alone = {
        name: assign_slugs([name], _output(tmp_path))[name.casefold()]
        for name in ("C++", "C#", "C")
    }
    together = assign_slugs(["C", "C#", "C++", "c", "Tech", "tech"], _output(tmp_path))
    assert together == {
        "c": "c",
        "c#": "c-sharp",
        "c++": "c-plus-plus",
        "tech": "tech",
    }
    assert alone == {"C++": "c-plus-plus", "C#": "c-sharp", "C": "c"}


@pytest.mark.parametrize(
    ("name", "unicode", "ascii"),
    [
        ("金融", "金融", None),
        ("Café Crème", "café-crème", "cafe-creme"),
        ("Straße", "strasse", "strasse"),
        ("C++", "c-plus-plus", "c-plus-plus"),
        ("C#", "c-sharp", "c-sharp"),
        ("Node.js", "node-js", "node-js"),
        ("🚀 Launch", "rocket-launch", "rocket-launch"),
        ("Ｔｅｃｈ", "tech", "tech"),
        ("../etc", "etc", "etc"),
    ],
)
def test_slug_examples(name: str, unicode: str, ascii: str | None) -> None:
    assert slugify(name, "unicode") == unicode
    got = slugify(name, "ascii")
    if ascii is None:
        assert got.startswith("c-") and len(got) == 10  # no transliteration: stable hash
    else:
        assert got == ascii


def test_ascii_mode_keeps_untransliterable_names_distinct() -> None:
    assert slugify("日本語 news", "ascii") != slugify("news", "ascii")
    assert slugify("日本語 news", "ascii").startswith("news-")
    assert slugify("金融", "ascii") == slugify("金融", "ascii")
    assert slugify("金融", "ascii") != slugify("股票", "ascii")


def test_long_names_are_capped_and_stay_distinct() -> None:
    a, b = slugify("x" * 200 + "a", "unicode"), slugify("x" * 200 + "b", "unicode")
    assert a != b
    assert len(a.encode()) <= MAX_SLUG_BYTES and len(b.encode()) <= MAX_SLUG_BYTES
    wide = slugify("金" * 100, "unicode")
    assert len(wide.encode()) <= MAX_SLUG_BYTES
    wide.encode("utf-8").decode("utf-8")  # never cut inside a character


def test_rename_honoured_unless_unsafe(tmp_path: Path) -> None:
    output = _output(tmp_path, rename={"金融": "finance", "Evil": "../x", "Atom": "atom.xml"})
    slugs = assign_slugs(["金融", "Evil", "Atom", "Finance"], output)
    assert slugs["金融"] == "finance"
    assert slugs["finance"].startswith("finance-")
    assert is_safe_slug(slugs["evil"]) and "/" not in slugs["evil"]
    assert slugs["atom"] == "atom-xml"


def test_to_uri_encodes_once() -> None:
    assert to_uri("https://example.com/a b/金") == "https://example.com/a%20b/%E9%87%91"
    assert to_uri(to_uri("https://example.com/金?q=融#x")) == to_uri(
        "https://example.com/金?q=融#x"
    )
    assert to_uri("https://example.com/%E9%87%91") == "https://example.com/%E9%87%91"


def test_plan_is_independent_of_input_order(tmp_path: Path) -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    entries = [
        Entry(
            id=f"id-{i}",
            title=f"t{i}",
            published=t0 + timedelta(hours=i % 3),
            updated=t0 + timedelta(hours=i),
            categories=(("Tech", "tech", "TECH")[i % 3], f"Cat {i % 4}"),
        )
        for i in range(12)
    ]
    site = Site(title="S", url="https://s.example/")
    output = _output(tmp_path, limit=5)
    forward = plan(entries, output, site)
    backward = plan(list(reversed(entries)), output, site)
    assert forward == backward
    assert [p.slug for p in forward] == [None, "cat-0", "cat-1", "cat-2", "cat-3", "tech"]
    tech = forward[-1]
    assert tech.category == "Tech"  # spelling of the oldest entry (published, then id)
    assert tech.title == "S - Tech"
    assert len(tech.entries) == 5
    assert list(tech.entries) == sorted(tech.entries, key=Entry.sort_key)


def display_names_by_sorting(entries: list[Entry]) -> dict[str, str]:
    """The definition the plan's category names must keep: each key's most
    used spelling (entries that use it), ties to the spelling seen first when
    every entry is walked oldest first (published, then id)."""
    uses: dict[str, dict[str, int]] = {}
    for entry in sorted(entries, key=lambda e: (e.published, e.id)):
        spelt = {}
        for category in entry.categories:
            cat = strip_xml_illegal(category)[0]
            key = category_key(cat)
            if key:
                spelt[" ".join(cat.split())] = key
        for spelling, key in spelt.items():
            counts = uses.setdefault(key, {})
            counts[spelling] = counts.get(spelling, 0) + 1
    return {key: max(counts, key=lambda s: counts[s]) for key, counts in uses.items()}


def _random_entries(
    rng: random.Random, spellings: list[str], *, ids: int, hours: int, most: int
) -> list[Entry]:
    """1 to ``most``-1 entries; few distinct times, so many ties are broken by id."""
    base = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        Entry(
            id=f"id-{rng.randrange(ids):04}",
            title="t",
            published=base + timedelta(hours=rng.randrange(hours)),
            updated=base,
            categories=tuple(rng.choice(spellings) for _ in range(rng.randrange(4))),
        )
        for _ in range(rng.randrange(1, most))
    ]


def test_display_names_agree_with_counting_every_entry_oldest_first() -> None:
    rng = random.Random(11)
    spellings = ["Tech", "tech", " TECH ", "港口", "Sport", "sport\x01", "C++", "c++", "", "  "]
    site = Site(title="S", url="https://s.example/")
    for _ in range(300):
        entries = _random_entries(rng, spellings, ids=1000, hours=4, most=12)
        unique = list({e.id: e for e in entries}.values())
        plans = plan(newest_first(unique), Output(dir=Path("out")), site)
        got = {category_key(p.category or ""): p.category for p in plans[1:]}
        assert got == display_names_by_sorting(unique)


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_category_feeds_agree_with_filtering_every_entry(limit: int) -> None:
    # plan() collects members per tuple of categories and merges them; the
    # definition is: every entry with the category, newest first, the limit.
    rng = random.Random(limit)
    spellings = ["Tech", "tech", "港口", "Sport", "C++", "c++", "Misc", "misc "]
    site = Site(title="S", url="https://s.example/")
    for _ in range(200):
        entries = _random_entries(rng, spellings, ids=100, hours=6, most=30)
        plans = plan(entries, Output(dir=Path("out"), limit=limit), site)
        pool = newest_first({e.id: e for e in reversed(entries)}.values())
        for feed in plans[1:]:
            key = category_key(feed.category or "")
            want = [e for e in pool if key in {category_key(c) for c in e.categories}]
            assert list(feed.entries) == (want[:limit] if limit else want)
