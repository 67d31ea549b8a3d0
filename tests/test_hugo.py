"""A Hugo site's content folder as feedwright's posts folder: what Hugo
publishes as pages (checked against Debian's hugo 0.111) is what feedwright
publishes as entries."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest

from feedwright.cli import main

CONFIG = """\
site:
  title: Hugo site
  url: https://example.org/
sources:
  - posts: content
output:
  dir: feeds
state: .feedwright/state.db
"""


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def post(title: str, day: int) -> str:
    return f"---\ntitle: {title}\ndate: 2024-01-{day:02d}\n---\n\n{title} body.\n"


BUNDLES = {
    "content/posts/plain.md": post("Plain", 1),
    "content/posts/trip/index.md": post("Trip", 2) + "![map](map.png)\n",
    "content/posts/trip/notes.md": post("Trip notes", 3),
    "content/posts/trip/day1/index.md": post("Day one", 4),
    "content/posts/page/index.html": "---\ntitle: Page\ndate: 2024-01-05\n---\n<p>Page.</p>\n",
    "content/posts/page/aside.md": post("Aside", 6),
    "content/posts/two/index.en.md": post("Two", 7),
    "content/posts/two/extra.md": post("Extra", 8),
    "content/posts/section/_index.md": post("Section", 9),
    "content/posts/section/inner.md": post("Inner", 10),
}


_LANGUAGES_TOML = 'baseURL = "https://example.org/"\n[languages.en]\n[languages.fr]\n'


def titles(root: Path) -> list[str]:
    feed = feedparser.parse((root / "feeds" / "atom.xml").read_bytes())
    return sorted(entry.title for entry in feed.entries)


@pytest.mark.parametrize(
    "hugo_config",
    [
        ("hugo.toml", 'baseURL = "https://example.org/"\n'),
        ("config.yaml", "baseURL: https://example.org/\n"),
        ("config/_default/hugo.toml", 'baseURL = "https://example.org/"\n'),
        ("config.json", '{"baseURL": "https://example.org/"}\n'),
        ("hugo.yaml", "title: A Hugo site\n"),
    ],
)
def test_a_hugo_leaf_bundle_publishes_its_index_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], hugo_config: tuple[str, str]
) -> None:
    site = tmp_path / "site"
    write(site, {**BUNDLES, hugo_config[0]: hugo_config[1]})
    config = tmp_path / "feedwright.yaml"
    config.write_text(CONFIG.replace("content", str(site / "content")), encoding="utf-8")
    assert main(["build", "-q", "-c", str(config)]) == 0
    # Hugo 0.111 renders these pages and no others: the rest are page resources.
    assert titles(tmp_path) == ["Inner", "Page", "Plain", "Trip", "Two"]
    assert main(["check", "-c", str(config)]) == 0
    err = capsys.readouterr().err
    said = "not read: a page resource of a Hugo leaf bundle"
    for rel in ("trip/notes.md", "trip/day1/index.md", "page/aside.md", "two/extra.md"):
        assert f"content/posts/{rel}: {said}" in err
    assert "plain.md: not read" not in err and "inner.md: not read" not in err


@pytest.mark.parametrize("config_name", ["config.yaml", "config.json"])
def test_outside_a_hugo_site_every_file_of_a_folder_with_an_index_is_a_post(
    tmp_path: Path, config_name: str
) -> None:
    # Hexo publishes every file of source/_posts, index.md's neighbours too;
    # feedwright's own config beside `content` is no Hugo config.
    write(tmp_path, {config_name: CONFIG, **BUNDLES})
    assert main(["build", "-q", "-c", str(tmp_path / config_name)]) == 0
    assert titles(tmp_path) == [
        "Aside", "Day one", "Extra", "Inner", "Page", "Plain", "Trip", "Trip notes", "Two",
    ]  # fmt: skip


def test_a_bundle_index_in_one_language_links_to_its_folder(tmp_path: Path) -> None:
    # Hugo 0.111 (languages en and fr, en the default) publishes these at
    # /posts/trip/ and /fr/posts/trip/, never at .../index.en/.
    write(
        tmp_path,
        {
            "config.yaml": CONFIG,
            "content/posts/trip/index.en.md": post("Trip", 1) + "![map](map.png)\n",
            "content/posts/trip/index.fr.md": post("Voyage", 1),
            "content/posts/plain.md": post("Plain", 2),
        },
    )
    assert main(["build", "-q", "-c", str(tmp_path / "config.yaml")]) == 0
    feed = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes())
    got = {e.title: (e.link, e.id) for e in feed.entries}
    site = "https://example.org/"
    assert got["Trip"][0] == f"{site}posts/trip/"
    assert got["Voyage"][0] == f"{site}fr/posts/trip/"
    assert got["Plain"][0] == f"{site}posts/plain/"
    # Each language keeps its own id, as before.
    assert got["Trip"][1] == "tag:example.org,2000:posts/trip/index.en"
    assert got["Voyage"][1] == "tag:example.org,2000:posts/trip/index.fr"
    trip = next(e for e in feed.entries if e.title == "Trip")
    assert f'src="{site}posts/trip/map.png"' in trip.content[0].value
    # With the site in French, the French index is the one at the folder.
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.replace("  url:", "  language: fr-FR\n  url:"), encoding="utf-8")
    assert main(["build", "-q", "-c", str(config)]) == 0
    feed = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes())
    links = {e.title: e.link for e in feed.entries}
    assert links["Trip"] == f"{site}en/posts/trip/" and links["Voyage"] == f"{site}posts/trip/"


def test_a_bundle_index_in_another_language_keeps_its_folder_under_a_permalink_pattern(
    tmp_path: Path,
) -> None:
    pattern = CONFIG.replace(
        "  - posts: content\n", '  - posts: content\n    permalink: "{year}/{slug}/"\n'
    )
    files = {
        "config.yaml": pattern,
        "content/posts/trip/index.en.md": post("Trip", 1),
        "content/posts/trip/index.fr.md": post("Voyage", 1),
    }
    write(tmp_path, files)
    assert main(["build", "-q", "-c", str(tmp_path / "config.yaml")]) == 0
    feed = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes())
    links = {e.title: e.link for e in feed.entries}
    site = "https://example.org/"
    assert links == {"Trip": f"{site}2024/trip/", "Voyage": f"{site}fr/2024/trip/"}


def test_a_day_month_year_date_is_read_as_hugo_reads_it(tmp_path: Path) -> None:
    # Hugo 0.111 dates "02 Jan 2024" at the day's start; feedwright left the post out.
    write(
        tmp_path,
        {
            "config.yaml": CONFIG.replace("  url:", "  timezone: Europe/Paris\n  url:"),
            "content/posts/a.md": "---\ntitle: A\ndate: 02 Jan 2024\n---\nA.\n",
            "content/posts/b.md": "---\ntitle: B\ndate: Wed, 3 Jan 2024\n---\nB.\n",
        },
    )
    assert main(["build", "-q", "-c", str(tmp_path / "config.yaml")]) == 0
    feed = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes())
    dates = {e.title: e.published for e in feed.entries}
    assert dates == {"A": "2024-01-01T23:00:00Z", "B": "2024-01-02T23:00:00Z"}


def test_adopting_hugo_s_rss_says_nothing_of_a_fraction_of_a_second(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Hugo's RSS writes pubDate in whole seconds: .123 is no other date.
    write(
        tmp_path,
        {
            "config.yaml": CONFIG,
            "content/posts/a.md": "---\ntitle: A\ndate: 2024-01-23T15:04:05.123+01:00\n---\nA.\n",
            "content/posts/b.md": "---\ntitle: B\ndate: 2024-01-24T10:00:00Z\n---\nB.\n",
            "old.xml": (
                '<?xml version="1.0"?><rss version="2.0"><channel><title>Old</title>'
                "<link>https://example.org/</link>"
                "<item><title>A</title><link>https://example.org/posts/a/</link>"
                "<pubDate>Tue, 23 Jan 2024 15:04:05 +0100</pubDate>"
                "<guid>https://example.org/posts/a/</guid></item>"
                "<item><title>B</title><link>https://example.org/posts/b/</link>"
                "<pubDate>Wed, 24 Jan 2024 09:00:00 +0000</pubDate>"
                "<guid>https://example.org/posts/b/</guid></item>"
                "</channel></rss>"
            ),
        },
    )
    config = str(tmp_path / "config.yaml")
    assert main(["adopt-ids", "-c", config, str(tmp_path / "old.xml")]) == 0
    err = capsys.readouterr().err
    assert "a.md: keeps its own date" not in err
    assert "b.md: keeps its own date 2024-01-24T10:00:00Z" in err  # an hour is a difference


def test_what_hugo_lists_in_no_rss_is_in_no_feed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Hugo 0.111's main RSS leaves out ln.md, lf.md, ll.md (`list: local`:
    # its section's list only) and the headless bundle hl/; it lists hlp.md
    # (headless outside a bundle) and rn.md (no page rendered, an empty
    # <link>). Later Hugo reads `build` as 0.111 reads `_build`.
    def fm(title: str, extra: str) -> str:
        return f"---\ntitle: {title}\ndate: 2024-01-01\n{extra}\n---\nBody.\n"

    write(
        tmp_path,
        {
            "config.yaml": CONFIG,
            "content/posts/hlp.md": fm("HLP", "headless: true"),
            "content/posts/hl/index.md": fm("HL", "headless: true"),
            "content/posts/rn.md": fm("RN", "_build:\n  render: never"),
            "content/posts/ln.md": fm("LN", "_build:\n  list: never"),
            "content/posts/lf.md": fm("LF", "_build:\n  list: false"),
            "content/posts/ll.md": fm("LL", "_build:\n  list: local"),
            "content/posts/bln.md": fm("BLN", "build:\n  List: never"),
            "content/posts/la.md": fm("LA", "_build:\n  list: always"),
        },
    )
    config = str(tmp_path / "config.yaml")
    assert main(["build", "-q", "-c", config]) == 0
    assert titles(tmp_path) == ["HLP", "LA", "RN"]
    assert main(["check", "-c", config]) == 0
    out, err = capsys.readouterr()
    posts = tmp_path / "content" / "posts"
    assert f"{posts / 'rn.md'}: Hugo renders no page for it (build: render)" in err
    for name in ("hlp.md", "ln.md", "ll.md", "index.md", "la.md"):
        assert f"{name}:" not in err
    assert "3 posts, 0 scheduled, 5 drafts" in out


def test_a_translation_is_left_out_as_hugo_s_main_rss_leaves_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Hugo 0.111 (en the default, fr a language) lists post.md, plain.md,
    # trip/index.en.md and other.de.md (de is no language of the site: the
    # page other.de) in index.xml; post.fr.md, solo.fr.md and
    # trip/index.fr.md in fr/index.xml only.
    hugo = 'baseURL = "https://example.org/"\ndefaultContentLanguage = "en"\n'
    hugo += "[languages.en]\nweight = 1\n[languages.fr]\nweight = 2\n"
    write(
        tmp_path,
        {
            "hugo.toml": hugo,
            "feedwright.yaml": CONFIG,
            "content/posts/post.md": post("Post", 1),
            "content/posts/post.fr.md": post("Billet", 2),
            "content/posts/solo.fr.md": post("Solo", 3),
            "content/posts/trip/index.en.md": post("Trip", 4),
            "content/posts/trip/index.fr.md": post("Voyage", 5),
            "content/posts/plain.md": post("Plain", 6),
            "content/posts/other.de.md": post("Other", 7),
        },
    )
    config = str(tmp_path / "feedwright.yaml")
    assert main(["build", "-q", "-c", config]) == 0
    feed = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes())
    site = "https://example.org/"
    assert {e.title: e.link for e in feed.entries} == {
        "Post": f"{site}posts/post/",
        "Trip": f"{site}posts/trip/",
        "Plain": f"{site}posts/plain/",
        "Other": f"{site}posts/other.de/",
    }
    assert main(["check", "-c", config]) == 0
    err = capsys.readouterr().err
    said = "not read: a translation into another language than the Hugo site's default"
    for rel in ("post.fr.md", "solo.fr.md", "trip/index.fr.md"):
        assert f"content/posts/{rel}: {said}" in err
    assert "other.de.md: not read" not in err


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("hugo.toml", _LANGUAGES_TOML, _LANGUAGES_TOML + "weight = = 2\n"),
        (
            "config/_default/languages.yaml",
            "en:\n  weight: 1\nfr:\n  weight: 2\n",
            "fr: [weight: 2\n",
        ),
    ],
)
def test_a_hugo_config_that_cannot_be_read_is_a_problem_not_a_silent_guess(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, good: str, bad: str
) -> None:
    # Which files are translations comes from the Hugo config: one feedwright
    # cannot parse (a typo; Hugo itself would not build) used to be taken for
    # a site of one language, its translations published as posts, silently.
    write(
        tmp_path,
        {
            "hugo.toml": 'baseURL = "https://example.org/"\n',
            name: good,
            "feedwright.yaml": CONFIG,
            "content/posts/post.md": post("Post", 1),
            "content/posts/post.fr.md": post("Billet", 2),
        },
    )
    config = str(tmp_path / "feedwright.yaml")
    assert main(["build", "-q", "-c", config]) == 0
    assert titles(tmp_path) == ["Post"]
    # The config breaks and nothing else changes: the next build sees it
    # (not the last build's summary replayed), and so does the one after.
    write(tmp_path, {name: bad})
    said = f"{tmp_path / name}: cannot be read as {name.rpartition('.')[2].upper()}: "
    unknown = "the Hugo site's languages are unknown, so a translation (name.<language>.md)"
    for command in ("build", "build", "check"):
        assert main([command, "-c", config]) == 1, command
        err = capsys.readouterr().err
        assert said in err and unknown in err, err
    assert titles(tmp_path) == ["Billet", "Post"]  # (the rest is published)
    # Fixed: the translation is left out again, and nothing is said.
    write(tmp_path, {name: good})
    for command in ("build", "check"):
        assert main([command, "-c", config]) == 0, command
        assert "cannot be read" not in capsys.readouterr().err
    assert titles(tmp_path) == ["Post"]


def test_the_walk_links_and_check_take_one_file_for_a_bundle_s_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Hugo 0.111: index.backup.md and index.2.md are their bundles' indexes
    # (pages at the folder, note.md a resource); Index.md is the page
    # "index" and its neighbour a page too (Hugo lowercases the path).
    # feedwright linked the first two to .../index.backup/ and .../index.2/,
    # and left Index.md's neighbour out as a resource.
    write(
        tmp_path,
        {
            "hugo.toml": 'baseURL = "https://example.org/"\n',
            "feedwright.yaml": CONFIG,
            "content/posts/c/index.backup.md": post("C", 1),
            "content/posts/c/note.md": post("C note", 2),
            "content/posts/ix/index.2.md": post("IX", 3) + "headless: true\n",
            "content/posts/ix/note.md": post("IX note", 4),
            "content/posts/d/Index.md": post("D", 5),
            "content/posts/d/note.md": post("D note", 6),
            "content/posts/hl/index.en.md": post("HL", 7).replace("date:", "headless: true\ndate:"),
        },
    )
    config = str(tmp_path / "feedwright.yaml")
    assert main(["build", "-q", "-c", config]) == 0
    feed = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes())
    site = "https://example.org/"
    assert {e.title: (e.link, e.id) for e in feed.entries} == {
        "C": (f"{site}posts/c/", "tag:example.org,2000:posts/c/index.backup"),
        "IX": (f"{site}posts/ix/", "tag:example.org,2000:posts/ix/index.2"),
        "D": (f"{site}posts/d/Index/", "tag:example.org,2000:posts/d/Index"),
        "D note": (f"{site}posts/d/note/", "tag:example.org,2000:posts/d/note"),
    }  # (hl/index.en.md: a headless bundle, in no Hugo list)
    assert main(["check", "-c", config]) == 0
    err = capsys.readouterr().err
    for rel in ("c/note.md", "ix/note.md"):
        assert f"content/posts/{rel}: not read: a page resource" in err
    assert "d/note.md: not read" not in err


def links_and_ids(root: Path) -> dict[str, tuple[str, str]]:
    feed = feedparser.parse((root / "feeds" / "atom.xml").read_bytes())
    return {e.title: (e.link, e.id) for e in feed.entries}


def test_a_site_of_one_language_names_its_pages_as_hugo_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Hugo 0.111, its only language en: post.en.md is the page post; fr and
    # de are no languages of the site, so two/index.fr.md is two/'s index at
    # /posts/two/ (feedwright linked /fr/posts/two/, a page Hugo never
    # makes). Of files that make one page Hugo takes one: a language part
    # first, then by name (trip/index.en.md; t2/index.fr.md before
    # index.md); of pages, the last suffix (z.md after z.html).
    write(
        tmp_path,
        {
            "hugo.toml": 'baseURL = "https://example.org/"\n',
            "feedwright.yaml": CONFIG.replace("  url:", "  language: fr-FR\n  url:"),
            "content/posts/two/index.fr.md": post("Two", 1),
            "content/posts/trip/index.en.md": post("Trip", 2),
            "content/posts/trip/index.fr.md": post("Voyage", 3),
            "content/posts/t2/index.md": post("T2", 4),
            "content/posts/t2/index.fr.md": post("T2 fr", 5),
            "content/posts/post.en.md": post("Post", 6),
            "content/posts/both.md": post("Both", 7),
            "content/posts/both.en.md": post("Both en", 8),
            "content/posts/other.fr.md": post("Other", 9),
            "content/posts/z.html": post("Z html", 10),
            "content/posts/z.md": post("Z", 11),
        },
    )
    config = str(tmp_path / "feedwright.yaml")
    assert main(["build", "-q", "-c", config]) == 0
    site, tag = "https://example.org/posts/", "tag:example.org,2000:posts/"
    assert links_and_ids(tmp_path) == {  # the ids are those of before
        "Two": (f"{site}two/", f"{tag}two/index.fr"),
        "Trip": (f"{site}trip/", f"{tag}trip/index.en"),
        "T2 fr": (f"{site}t2/", f"{tag}t2/index.fr"),
        "Post": (f"{site}post/", f"{tag}post.en"),
        "Both en": (f"{site}both/", f"{tag}both.en"),
        "Other": (f"{site}other.fr/", f"{tag}other.fr"),
        "Z": (f"{site}z/", f"{tag}z"),
    }
    assert main(["check", "-c", config]) == 0
    err = capsys.readouterr().err
    posts = tmp_path / "content" / "posts"
    for rel, instead in [
        ("trip/index.fr.md", "index.en.md"),
        ("t2/index.md", "index.fr.md"),
        ("both.md", "both.en.md"),
        ("z.html", "z.md"),
    ]:
        assert f"{posts / rel}: not read: Hugo publishes its page from {instead} beside" in err
    assert "two/index.fr.md: not read" not in err and "post.en.md: not read" not in err


def test_a_hugo_site_s_default_language_is_its_config_s(tmp_path: Path) -> None:
    # Hugo 0.111 with defaultContentLanguage = "fr" and no other language:
    # post.fr.md is the page post (post.md is left out), solo.en.md the page
    # solo.en, b/index.en.md b/'s index at /posts/b/: none under /en/ or
    # /fr/, whatever feedwright's site.language says.
    write(
        tmp_path,
        {
            "hugo.toml": 'baseURL = "https://example.org/"\ndefaultContentLanguage = "fr"\n',
            "feedwright.yaml": CONFIG,
            "content/posts/post.md": post("Post", 1),
            "content/posts/post.fr.md": post("Billet", 2),
            "content/posts/solo.en.md": post("Solo", 3),
            "content/posts/b/index.en.md": post("B", 4),
            "content/posts/c/index.fr.md": post("C", 5),
        },
    )
    assert main(["build", "-q", "-c", str(tmp_path / "feedwright.yaml")]) == 0
    site, tag = "https://example.org/posts/", "tag:example.org,2000:posts/"
    assert links_and_ids(tmp_path) == {
        "Billet": (f"{site}post/", f"{tag}post.fr"),
        "Solo": (f"{site}solo.en/", f"{tag}solo.en"),
        "B": (f"{site}b/", f"{tag}b/index.en"),
        "C": (f"{site}c/", f"{tag}c/index.fr"),
    }


def test_hugo_s_default_language_in_its_folder_is_in_the_links(tmp_path: Path) -> None:
    # Hugo 0.111 with languages en and fr and defaultContentLanguageInSubdir
    # lists /en/posts/post/ in /en/index.xml; /posts/post/ is no page.
    hugo = 'baseURL = "https://example.org/"\ndefaultContentLanguageInSubdir = true\n'
    hugo += "[languages.en]\nweight = 1\n[languages.fr]\nweight = 2\n"
    pattern = '  - posts: content\n    permalink: "{year}/{slug}/"\n'
    write(
        tmp_path,
        {
            "hugo.toml": hugo,
            "feedwright.yaml": CONFIG,
            "dated.yaml": CONFIG.replace("  - posts: content\n", pattern),
            "content/posts/post.en.md": post("Post", 1),
            "content/posts/trip/index.md": post("Trip", 2),
        },
    )
    assert main(["build", "-q", "-c", str(tmp_path / "feedwright.yaml")]) == 0
    links = {title: link for title, (link, _) in links_and_ids(tmp_path).items()}
    site = "https://example.org/en/"
    assert links == {"Post": f"{site}posts/post/", "Trip": f"{site}posts/trip/"}
    assert main(["build", "-q", "-c", str(tmp_path / "dated.yaml")]) == 0
    links = {title: link for title, (link, _) in links_and_ids(tmp_path).items()}
    assert links == {"Post": f"{site}2024/post/", "Trip": f"{site}2024/trip/"}


def test_a_change_to_the_hugo_config_s_languages_makes_new_links(tmp_path: Path) -> None:
    # The posts are as cached, the Hugo config is not: their links follow it.
    write(
        tmp_path,
        {
            "hugo.toml": 'baseURL = "https://example.org/"\n',
            "feedwright.yaml": CONFIG,
            "content/posts/post.fr.md": post("Billet", 1),
            "content/posts/trip/index.md": post("Trip", 2),
        },
    )
    config = str(tmp_path / "feedwright.yaml")
    assert main(["build", "-q", "-c", config]) == 0
    site = "https://example.org/"
    before = {"Billet": f"{site}posts/post.fr/", "Trip": f"{site}posts/trip/"}
    assert {t: link for t, (link, _) in links_and_ids(tmp_path).items()} == before
    hugo = 'baseURL = "https://example.org/"\ndefaultContentLanguage = "fr"\n'
    hugo += "defaultContentLanguageInSubdir = true\n[languages.fr]\n[languages.en]\n"
    (tmp_path / "hugo.toml").write_text(hugo, encoding="utf-8")
    assert main(["build", "-q", "-c", config]) == 0
    after = {"Billet": f"{site}fr/posts/post/", "Trip": f"{site}fr/posts/trip/"}
    assert {t: link for t, (link, _) in links_and_ids(tmp_path).items()} == after
