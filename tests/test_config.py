"""config.yaml: typed, validated, unknown keys and bad values name key and line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from feedwright.config import FeedSource, PostsSource, load, parse
from feedwright.exceptions import ConfigError

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = """\
site:
  title: T
  url: https://example.com
"""


def cfg(text: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    return parse(text, tmp_path / "config.yaml")


def test_shipped_config_loads() -> None:
    config = load(ROOT / "config.yaml")
    assert config.site.url == "https://news.example.com/"
    assert config.site.timezone == "Asia/Shanghai"
    assert config.output.dir == ROOT / "feeds"
    assert config.posts_sources[0].path == ROOT / "posts"
    assert config.fetch.max_bytes == 10_000_000
    assert config.schedule.every == timedelta(hours=1)


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "content" / "posts").mkdir(parents=True)
    config = cfg(MINIMAL + "sources:\n  - posts: content/posts\nstate: db/s.db\n", tmp_path)
    assert config.site.url == "https://example.com/"
    assert config.output.dir == tmp_path / "feeds"
    assert config.output.formats == ("atom", "rss")
    assert config.output.limit == 50
    assert config.state == tmp_path / "db" / "s.db"
    source = config.sources[0]
    assert isinstance(source, PostsSource)
    assert source.path == tmp_path / "content" / "posts"


def test_feed_source(tmp_path: Path) -> None:
    config = cfg(
        MINIMAL
        + """\
sources:
  - feed: https://example.org/feed.xml
    title: Ex
    categories: [金融]
    category_map: {Finance: 金融, Ads: null}
    keep_categories: false
    every: 30m
""",
        tmp_path,
    )
    (source,) = config.feed_sources
    assert isinstance(source, FeedSource)
    assert source.category_map == {"Finance": "金融", "Ads": None}
    assert source.every == timedelta(minutes=30)
    assert source.keep_categories is False


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        (MINIMAL + "outptu:\n  dir: x\n", "outptu", 4),
        (MINIMAL + "output:\n  limt: 3\n", "output.limt", 5),
        (MINIMAL + "output:\n  limit: -1\n", "output.limit", 5),
        (MINIMAL + "output:\n  limit: many\n", "output.limit", 5),
        (MINIMAL + "output:\n  formats: [atom, pdf]\n", "output.formats", 5),
        (MINIMAL + "output:\n  content: some\n", "output.content", 5),
        (MINIMAL + "output:\n  rename: {a: ../x}\n", "output.rename", 5),
        (MINIMAL + "fetch:\n  timeout: 5 parsecs\n", "fetch.timeout", 5),
        (MINIMAL + "fetch:\n  max_bytes: lots\n", "fetch.max_bytes", 5),
        (MINIMAL + "schedule:\n  every: soon\n", "schedule.every", 5),
        (MINIMAL + "sources:\n  - feed: ftp://x/y\n", "sources[0].feed", 5),
        (MINIMAL + "sources:\n  - posts: .\n    permalnk: x\n", "sources[0].permalnk", 6),
        (MINIMAL + "sources:\n  - posts: .\n    permalink: '{slgu}/'\n", "sources[0].permalink", 6),
        (
            MINIMAL + "sources:\n  - posts: .\n    permalink: :year/:title/\n",
            "sources[0].permalink",
            6,
        ),
        (MINIMAL + "sources:\n  - posts: postz\n", "sources[0].posts", 5),
        (MINIMAL + "sources:\n  - title: nothing\n", "sources[0]", 5),
        (MINIMAL + "sources:\n  - title: T\n    post: .\n", "sources[0].post", 6),
        (MINIMAL + "sources:\n  - feeds: https://a/f\n", "sources[0].feeds", 5),
        (MINIMAL + "sources:\n  - feed: https://a/\n  - feed: https://a/\n", "sources[1]", 6),
        (MINIMAL + "sources:\n  - feed: https://a/f\n  - feed: HTTPS://A/f\n", "sources[1]", 6),
        (MINIMAL + "sources:\n  - feed: https://a/f\n    every: -5\n", "sources[0].every", 6),
        (MINIMAL + "fetch:\n  timeout: 0\n", "fetch.timeout", 5),
        (MINIMAL + "schedule:\n  every: -1\n", "schedule.every", 5),
        (MINIMAL.replace("title: T", "title: ''"), "site.title", 2),
        (MINIMAL + "output:\n  dir: ''\n", "output.dir", 5),
        (MINIMAL + "state: mysql://db/x\n", "state", 4),
        (MINIMAL + 'fetch:\n  user_agent: "a\\nb"\n', "fetch.user_agent", 5),
        (
            MINIMAL + "sources:\n  - posts: .\n    permalink: '{year}/posts/'\n",
            "sources[0].permalink",
            6,
        ),
        (MINIMAL + "  timezone: Mars/Olympus\n", "site.timezone", 4),
        ("site:\n  title: T\n", "site.url", None),
        (MINIMAL + "output:\n  dir: a\n  dir: b\n", "output.dir", 6),
        (MINIMAL + "sources:\n  - posts: .\n    categories: a, b\n", "sources[0].categories", 6),
        (MINIMAL + "output:\n  categories: 金融，科技\n", "output.categories", 5),
        (MINIMAL + "output:\n  dir: a\noutput:\n  limit: 3\n", "output", 6),
        (MINIMAL + "sources:\n  - posts: .\n    posts: x\n", "sources[0].posts", 6),
        ("site:\n  title: T\n  url: https://x/\n  author: [A, B]\n", "site.author", 4),
        (
            "site:\n  title: T\n  url: https://x/\n  author: {name: A, mail: a@b}\n",
            "site.author.mail",
            4,
        ),
    ],
)
def test_bad_config_names_key_and_line(
    tmp_path: Path, text: str, key: str, line: int | None
) -> None:
    with pytest.raises(ConfigError) as info:
        cfg(text, tmp_path)
    assert info.value.key == key
    if line is not None:
        assert info.value.line == line
        assert f"config.yaml:{line}: {key}:" in str(info.value)


def test_a_key_written_twice_names_both_lines(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        cfg(MINIMAL + "output:\n  dir: a\n  dir: b\n", tmp_path)
    assert str(info.value).endswith(
        "config.yaml:6: output.dir: written twice (lines 5 and 6): keep one"
    )


def test_categories_written_as_one_text(tmp_path: Path) -> None:
    # One name alone is a list of one; names joined by commas say how to write them.
    one = cfg(MINIMAL + "sources:\n  - posts: .\n    categories: Local News\n", tmp_path)
    assert one.sources[0].categories == ("Local News",)
    with pytest.raises(ConfigError) as info:
        cfg(MINIMAL + "sources:\n  - posts: .\n    categories: Tech, Local News\n", tmp_path)
    assert str(info.value).endswith(
        "sources[0].categories: 'Tech, Local News' would be one category with commas:"
        " write a list, [Tech, Local News]"
    )


@pytest.mark.parametrize(
    ("pattern", "ours"),
    [
        (
            ":year/:month/:day/:title/",  # Hexo's default
            "as in Jekyll and Hexo: write '{year}/{month}/{day}/{slug}/' with `style: jekyll`"
            " (or `style: hexo`), which fills {slug} as its :title",
        ),
        (
            "/:categories/:year/:month/:day/:title:output_ext",  # Jekyll's default
            "as in Jekyll and Hexo: write '/{categories}/{year}/{month}/{day}/{slug}.html'"
            " with `style: jekyll`, which fills {slug} as its :title",
        ),
        ("/:year/:post_title/", "write '/{year}/{title}/' with `style: jekyll`"),
        ("/:year/:name/", "write '/{year}/{filename}/'"),
        (  # Jekyll's and Hexo's :i_month is not zero-padded: no equal
            "/:year/:i_month/:title/",
            "as in Jekyll and Hexo (use {year}, {month}, {day}, {slug}, {title}, {category},"
            " {categories}, {filename})",
        ),
        (
            "date",  # Jekyll's default, by its name
            "'date' is Jekyll's name for '/:categories/:year/:month/:day/:title:output_ext':"
            " write '/{categories}/{year}/{month}/{day}/{slug}.html' with `style: jekyll`",
        ),
        ("pretty", "write '/{categories}/{year}/{month}/{day}/{slug}/' with `style: jekyll`"),
        ("ordinal", "'/:categories/:year/:y_day/:title:output_ext', which feedwright cannot"),
    ],
)
def test_a_jekyll_or_hexo_pattern_is_translated_in_the_error(
    tmp_path: Path, pattern: str, ours: str
) -> None:
    with pytest.raises(ConfigError) as info:
        cfg(MINIMAL + f"sources:\n  - posts: .\n    permalink: {pattern}\n", tmp_path)
    assert ours in str(info.value)


def test_yaml_merge_keys_give_defaults_that_keys_written_beside_them_override(
    tmp_path: Path,
) -> None:
    text = MINIMAL + (
        "sources:\n"
        "  - &wire {feed: https://a.example/one, every: 30m, categories: [News]}\n"
        "  - <<: *wire\n"
        "    feed: https://a.example/two\n"
    )
    config = cfg(text, tmp_path)
    assert [(s.url, s.every, s.categories) for s in config.feed_sources] == [
        ("https://a.example/one", timedelta(minutes=30), ("News",)),
        ("https://a.example/two", timedelta(minutes=30), ("News",)),
    ]
    with pytest.raises(ConfigError) as info:  # the same key twice by hand is still a mistake
        cfg(text + "    feed: https://a.example/three\n", tmp_path)
    assert "sources[1].feed: written twice (lines 7 and 8)" in str(info.value)


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    pairs = zip("abcdef", "bcdefg", strict=True)
    levels = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{b}: &{b} [{', '.join(['*' + a] * 10)}]\n" for a, b in pairs
    )
    with pytest.raises(ConfigError) as info:
        cfg(MINIMAL + levels, tmp_path)
    assert "once its aliases are expanded" in str(info.value)


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "---\n"])
def test_an_empty_config_says_so(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        cfg(text, tmp_path)
    assert "holds no settings: `feedwright init DIR` writes a starter config.yaml" in str(
        info.value
    )


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        cfg(MINIMAL + "output: [unclosed\n", tmp_path)
    assert info.value.line is not None
    assert "not valid YAML" in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "nope.yaml")


def test_durations_and_sizes(tmp_path: Path) -> None:
    config = cfg(
        MINIMAL + "fetch:\n  timeout: 15s\n  max_bytes: 500KB\nschedule:\n  every: 1d\n", tmp_path
    )
    assert config.fetch.timeout == timedelta(seconds=15)
    assert config.fetch.max_bytes == 500_000
    assert config.schedule.every == timedelta(days=1)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("state: {long}", "state"),
        ('state: "a\\0b"', "state"),
        ("ids: {long}", "ids"),
        ("output:\n  dir: {long}", "output.dir"),
        ('output:\n  dir: "f\\0"', "output.dir"),
        ("sources:\n  - posts: {long}", "sources[0].posts"),
        ('sources:\n  - posts: "p\\0"', "sources[0].posts"),
    ],
)
def test_a_path_no_system_takes_is_a_config_error_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, key: str
) -> None:
    # A name longer than the file system allows, or one holding a NUL byte,
    # used to end `check` with exit 70 (an OSError or ValueError from the disk).
    from feedwright import load_config
    from feedwright.cli import main

    line = line.replace("{long}", "a" * 300)
    (tmp_path / "config.yaml").write_text(MINIMAL + line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "config.yaml")
    assert info.value.key == key and info.value.line is not None
    assert "not a usable path" in str(info.value)
    assert main(["check", "-c", str(tmp_path / "config.yaml")]) == 2
    assert f"{key}: not a usable path" in capsys.readouterr().err


def test_a_time_zone_name_too_long_for_a_file_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(MINIMAL + f"  timezone: {'a' * 300}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown time zone") as info:
        load(tmp_path / "config.yaml")
    assert info.value.key == "site.timezone"


@pytest.mark.parametrize(
    "line",
    [
        "schedule:\n  every: 3000000d",
        "schedule:\n  every: .inf",
        "schedule:\n  every: 1.0e+300",
        "output:\n  tombstones: 99999999999d",
        "fetch:\n  deadline: 10000000000000000000000",
    ],
)
def test_a_duration_past_100_years_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str
) -> None:
    # Such a duration ended load_config with OverflowError (exit 70), or a build
    # with `date value out of range` once added to the time of the build.
    from feedwright.cli import main

    (tmp_path / "posts").mkdir()
    (tmp_path / "config.yaml").write_text(
        MINIMAL + "sources:\n  - posts: posts\n" + line + "\n", encoding="utf-8"
    )
    assert main(["build", "-c", str(tmp_path / "config.yaml")]) == 2
    assert "duration must be at most 100 years (36500d)" in capsys.readouterr().err


def test_a_duration_of_100_years_builds(tmp_path: Path) -> None:
    import feedwright

    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "a.md").write_text("---\ntitle: A\ndate: 2023-01-02\n---\nx\n")
    (tmp_path / "config.yaml").write_text(
        MINIMAL + "sources:\n  - posts: posts\nschedule:\n  every: 36500d\n"
        "output:\n  tombstones: 36500d\n",
        encoding="utf-8",
    )
    config = feedwright.load_config(tmp_path / "config.yaml")
    assert config.schedule.every == timedelta(days=36_500)
    assert feedwright.build(config).posts == 1


@pytest.mark.parametrize("title", ['"\\x1b"', '"\\x00\\ufffe"'])
def test_a_site_title_of_characters_xml_cannot_hold_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], title: str
) -> None:
    # Stripped from the feeds, such a title left them none: the build ended
    # with exit 70 (feedgen's "Required fields not set (title)").
    from feedwright.cli import main

    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "a.md").write_text("---\ntitle: A\ndate: 2023-01-02\n---\nx\n")
    text = f"site:\n  title: {title}\n  url: https://example.com\nsources:\n  - posts: posts\n"
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    assert main(["build", "-c", str(tmp_path / "config.yaml")]) == 2
    err = capsys.readouterr().err
    assert "config.yaml:2: site.title: must say something a feed can carry" in err


@pytest.mark.parametrize(
    ("author", "key"),
    [('""', "site.author"), ('{name: ""}', "site.author.name"), ('"\\x1b"', "site.author")],
)
def test_a_site_author_without_a_name_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], author: str, key: str
) -> None:
    # It used to pass, and the gate then refused every build's atom.xml with
    # "entry 1 has no <author> (nor has the feed)", naming neither the key nor the line.
    from feedwright.cli import main

    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "a.md").write_text("---\ntitle: A\ndate: 2023-01-02\n---\nx\n")
    text = f"site:\n  title: T\n  author: {author}\n  url: https://example.com\nsources:\n"
    (tmp_path / "config.yaml").write_text(text + "  - posts: posts\n", encoding="utf-8")
    assert main(["build", "-c", str(tmp_path / "config.yaml")]) == 2
    assert f"config.yaml:3: {key}: " in capsys.readouterr().err
    assert not (tmp_path / "feeds").exists()


@pytest.mark.parametrize(
    "tail",
    [
        "x: " + "[" * 5000 + "]" * 5000 + "\n",
        "x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
        "".join("  " * i + "a:\n" for i in range(1500)),
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings"],
)
def test_a_config_nested_past_the_recursion_limit_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tail: str
) -> None:
    # The YAML reader recursed past Python's limit: `check` ended with exit 70.
    from feedwright.cli import main

    (tmp_path / "config.yaml").write_text(MINIMAL + tail, encoding="utf-8")
    with pytest.raises(ConfigError, match="nested too deep to read"):
        load(tmp_path / "config.yaml")
    assert main(["check", "-c", str(tmp_path / "config.yaml")]) == 2
    assert "config.yaml: lists or mappings nested too deep to read" in capsys.readouterr().err
