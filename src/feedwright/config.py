"""config.yaml, declared once: every key with its type, default and check.

``load(path)`` reads the file, validates every key (unknown keys are errors
naming the key and its line) and returns a frozen :class:`Config`. Relative
paths resolve against the config file's folder. Nothing else in the library
reads the YAML. The ``sources:`` list is read by configsources.py.

Every key (docs/configuration.md, kept equal by a test, so a
pip-installed user reads it with ``python -m pydoc feedwright.config``)::

    Unknown keys are errors naming the key and line. Durations: `30s`, `15m`,
    `2h`, `1d` (a bare number is seconds; more than zero, but for
    `output.tombstones: 0`; at most 100 years, `36500d`). Sizes: `500KB`, `10MB` (KB = 1000 bytes; `KiB`, `MiB` also accepted).

    | key | type | default | meaning |
    |---|---|---|---|
    | `site.title` | string | required | feed titles derive from it |
    | `site.url` | URL | required | where the output folder's parent is served; resolves relative links; with a posts source, its host makes the posts' ids (`tag:<host>,2000:...`, docs/ids.md), so it must be a name (`localhost` and an IPv4 address do): an IPv6 address (`http://[::1]:8000/`) or a name with `_` is an error |
    | `site.description` | string | `""` | feed subtitle/description |
    | `site.author` | string or `{name, email, uri}` | none | default author of entries without one |
    | `site.language` | string | none | e.g. `zh-CN` |
    | `site.timezone` | IANA zone | `UTC` | zone for dates written without one |
    | `sources[].posts` | path | — | a folder of local posts, searched recursively |
    | `sources[].permalink` | pattern | none | post links = `site.url` + this; `{year}` `{month}` `{day}` `{slug}` `{title}` (the title, slugified) `{category}` (the first one, slugified) `{categories}` (every one, the folder's first, each slugified, joined with `/`; none: left out with its `/`) `{filename}`; any other placeholder, Jekyll's and Hexo's `:year` or Jekyll's named `date` (the error writes it with ours), or a pattern without `{slug}`, `{title}` or `{filename}` (every post one link) is an error |
    | `sources[].style` | `jekyll` or `hexo` | none | with `permalink`, fill `{slug}` and `{categories}` as that generator filled `:title` and `:categories`, so a moved site keeps its links (docs/ids.md): Jekyll's `:title` is the slug, case kept, in its `pretty` mode (`Hello World!` -> `Hello-World!`), its `:categories` every category in lower case, not slugified; Hexo's `:title` is the path under the posts folder, subfolders and date prefix kept, `slug:` ignored |
    | `sources[].feed` | URL | — | a remote RSS/Atom/JSON feed (or an HTML page that links to one) |
    | `sources[].title` | string | the feed's | title override for a remote feed |
    | `sources[].categories` | list | `[]` | categories added to every entry of this source (posts or feed); one name may be written alone, but names joined by commas are an error (write a list) |
    | `sources[].category_map` | mapping | `{}` | rename incoming categories; `null` drops one |
    | `sources[].keep_categories` | bool | `true` | keep the remote entries' own categories |
    | `sources[].every` | duration | `schedule.every` | refresh interval of this feed |
    | `sources[].filters` | `{include, exclude}` | none | which of a feed's entries are published: lists of regular expressions (title and text, any case) or `{field, match}` (field: `title`, `content`, `category`, `author` or `link`); kept if any include rule matches (or there is none) and no exclude rule does |
    | `sources[].priority` | int | `0` | the same article from several sources is published once, from the source with the highest priority (ties: local posts, then the feed of the article's own site, then config order) |
    | `output.dir` | path | `feeds` | where feeds are written (not a posts folder; inside one is fine) |
    | `output.formats` | list | `[atom, rss]` | also `json` (JSON Feed 1.1) |
    | `output.limit` | int | `50` | entries per feed, newest first; `0` = all |
    | `output.content` | `full` or `summary` | `full` | publish full content or summaries only |
    | `output.categories` | `all` or list | `all` | which category feeds to publish |
    | `output.slugs` | `unicode` or `ascii` | `unicode` | category folder names |
    | `output.rename` | mapping | `{}` | explicit slug per category |
    | `output.pages` | bool | `true` | an `index.html` beside each feed: its entries as a plain web page, with autodiscovery links; the top one also lists every category |
    | `output.stylesheet` | bool | `true` | publish `feed.xsl` and name it in every Atom and RSS file: a browser that applies XSLT shows the feed as a page (with `formats: [json]` alone there is no such file, and none is published) |
    | `output.archives` | bool | `false` | RFC 5005 archived feeds: each feed's older entries in immutable pages of `output.limit` entries (`<feed>/archive/<n>/atom.xml`), chained from the current feed by `prev-archive` |
    | `output.tombstones` | duration | `30d` | RFC 6721: an entry that leaves a feed (post deleted, made a draft, expired, re-filed, its source removed) is announced as `at:deleted-entry` for this long; `0` = never |
    | `output.max_id_changes` | share | `20%` | `build` refuses (exit 4) when more of a feed's entries would change id, if at least 3 would; `--allow-id-changes` publishes anyway (docs/ids.md) |
    | `fetch.timeout` | duration | `20s` | connect/read timeout, and the total deadline of one fetch |
    | `fetch.max_bytes` | size | `10MB` | larger (decoded) bodies are refused |
    | `fetch.concurrency` | int | `32` | feeds fetched at once |
    | `fetch.user_agent` | string | `feedwright/<version> (+site.url)` | the User-Agent header |
    | `fetch.deadline` | duration | `10m` | a whole refresh round; feeds not done by then are reported as timed out and tried again next run |
    | `fetch.transport` | `asyncio` or `httpx` | `asyncio` | the network backend: feedwright's own asyncio one (faster on big rounds) or httpx's client; URLs a proxy applies to always go through httpx |
    | `schedule.every` | duration | `1h` | default refresh interval of remote feeds |
    | `schedule.jitter` | 0–1 | `0.1` | spread each feed's refresh by up to this fraction of its interval |
    | `schedule.adaptive` | bool | `false` | adapt each feed's interval (unless it sets `every`) to how often it really publishes: twice per mean gap between its entries of the last 30 days |
    | `schedule.min_every` | duration | `15m` | the shortest adapted interval |
    | `schedule.max_every` | duration | `1d` | the longest adapted interval (a feed silent for 30 days) |
    | `state` | path or `postgresql://` URL | `.feedwright/state.db` | the store: a SQLite file, or a PostgreSQL database (`postgresql://user@host:5432/db`, the `postgres` extra; docs/postgres.md) |
    | `ids` | path | `feedwright.ids` | the id ledger: the id and date each post was first published with, kept across new hosts, permalinks, moved files and a lost state; commit it with the site (docs/ids.md). Two configs in one folder must each name their own `ids` and `state`: by default they share them, and each build would take the other's posts for moved ones |
    | `retention` | int | `1000` | entries kept per remote feed in the store; `0` = all |
    | `queue` | `redis://` or `amqp://` URL | none | distributed refresh: `run` becomes the dispatcher and `feedwright worker` processes fetch (Celery; the `scale` extra; docs/scale.md); none = everything in `run` |
    | `queue_lease` | duration | `5m` | how long a claimed source is a worker's before another may claim it again |
    | `queue_batch` | int | `100` | sources per task sent to the workers |
    | `websub.hub` | URL or list | none | WebSub hubs: named in every feed, and told about each feed whose bytes changed |
    | `podcast.image` | URL or path on the site | required | the podcast's artwork: a `.jpg` or `.png` (Apple asks for 1400–3000 px square) |
    | `podcast.category` | string or `[category, subcategory]` | required | an Apple Podcasts category, e.g. `Technology` or `[Arts, Books]` |
    | `podcast.explicit` | bool | `false` | `itunes:explicit` of every podcast feed (an episode's `explicit:` wins for it) |
    | `podcast.owner` | `{name, email}` | `site.author` | `itunes:owner`: who Apple contacts about the podcast |
    | `podcast.type` | `episodic` or `serial` | `episodic` | `itunes:type` |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from .configdoc import (
    Doc as _Doc,
)
from .configdoc import (
    PathFact,
    name_list,
)
from .configdoc import (
    Section as _Section,
)
from .configdoc import (
    boolean as _bool,
)
from .configdoc import (
    choice as _choice,
)
from .configdoc import (
    duration as _duration,
)
from .configdoc import (
    duration_or_zero as _duration_or_zero,
)
from .configdoc import (
    fraction as _fraction,
)
from .configdoc import (
    share as _share,
)
from .configdoc import (
    size as _size,
)
from .configdoc import (
    str_list as _str_list,
)
from .configdoc import (
    string as _str,
)
from .configdoc import (
    timezone as _timezone,
)
from .configdoc import (
    url as _url,
)
from .configdoc import (
    url_list as _url_list,
)
from .configdoc import (
    whole as _int,
)
from .configsources import FeedSource, PostsSource, Source, read_sources
from .exceptions import ConfigError
from .model import Person
from .text import strip_xml_illegal

if TYPE_CHECKING:
    pass

Format = Literal["atom", "rss", "json"]
# Each format's file name, in a feed's folder under output.dir.
FILENAMES: dict[Format, str] = {"atom": "atom.xml", "rss": "rss.xml", "json": "feed.json"}
# In output.dir: the files there that are ours (publish/write.py). A folder
# holding one is feedwright's output, never posts (posts/walk.py).
MANIFEST_NAME = ".feedwright-manifest.json"

DEFAULT_STATE = ".feedwright/state.db"  # relative to the config's folder
DEFAULT_IDS = "feedwright.ids"  # the id ledger, relative to the config's folder


@dataclass(frozen=True, slots=True)
class Site:
    title: str
    url: str  # always ends with "/"
    description: str = ""
    author: Person | None = None
    language: str | None = None
    timezone: str = "UTC"  # IANA name; zone for dates written without one


@dataclass(frozen=True, slots=True)
class Output:
    dir: Path  # absolute
    formats: tuple[Format, ...] = ("atom", "rss")
    limit: int = 50  # 0 = every entry
    content: Literal["full", "summary"] = "full"
    categories: Literal["all"] | tuple[str, ...] = "all"
    slugs: Literal["unicode", "ascii"] = "unicode"
    rename: Mapping[str, str] = field(default_factory=dict)
    pages: bool = True  # an index.html beside each feed
    stylesheet: bool = True  # feed.xsl, referenced by every Atom and RSS file
    archives: bool = False  # RFC 5005 archive pages chained from each current feed
    tombstones: timedelta = timedelta(days=30)  # RFC 6721, kept this long; 0 = none
    max_id_changes: float = 0.2  # the share of a feed's ids a build may change (changes.py)
    # Not a key: the site folder when it is not ``dir``'s parent (``plan``
    # builds into a copy of the output folder, elsewhere).
    site_folder: Path | None = field(default=None, metadata={"internal": True})

    @property
    def served(self) -> Path:
        """The site folder, which ``site.url`` serves: ``dir``'s parent."""
        return self.site_folder or self.dir.parent


@dataclass(frozen=True, slots=True)
class WebSub:
    hub: tuple[str, ...] = ()  # hubs every feed names and every changed feed is pinged at


@dataclass(frozen=True, slots=True)
class Podcast:
    """The ``podcast:`` block: iTunes channel tags of every feed holding episodes."""

    image: str  # absolute http(s) URL of a .jpg or .png
    category: tuple[str, ...]  # (category,) or (category, subcategory), Apple's names
    explicit: bool = False
    owner: Person | None = None  # None: site.author
    type: Literal["episodic", "serial"] = "episodic"


@dataclass(frozen=True, slots=True)
class Fetch:
    timeout: timedelta = timedelta(seconds=20)
    max_bytes: int = 10 * 1000 * 1000
    concurrency: int = 32
    user_agent: str | None = None  # None: "feedwright/<version> (+site.url)"
    deadline: timedelta = timedelta(minutes=10)  # a whole refresh round
    # The network backend: our asyncio one (remote/aionet.py) or httpx's own client.
    transport: Literal["asyncio", "httpx"] = "asyncio"


@dataclass(frozen=True, slots=True)
class Schedule:
    every: timedelta = timedelta(hours=1)
    jitter: float = 0.1  # fraction of the interval, spread deterministically per feed
    # Adapt each feed's interval (those without their own `every`) to how often
    # it really publishes, within [min_every, max_every] (schedule.adaptive_interval).
    adaptive: bool = False
    min_every: timedelta = timedelta(minutes=15)
    max_every: timedelta = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Config:
    path: Path  # the config file, absolute
    site: Site
    sources: tuple[Source, ...] = ()
    output: Output = field(default_factory=lambda: Output(dir=Path("feeds").absolute()))
    fetch: Fetch = field(default_factory=Fetch)
    schedule: Schedule = field(default_factory=Schedule)
    state: Path | str = Path(DEFAULT_STATE)  # absolute after load(); str: a postgresql:// URL
    retention: int = 1000  # entries kept per remote source in the store; 0 = all
    ids: Path = Path(DEFAULT_IDS)  # the id ledger (ledger.py); absolute after load()
    websub: WebSub = field(default_factory=WebSub)
    podcast: Podcast | None = None
    # Distributed refresh (cluster/): the Celery broker, a claim's lease, sources per task.
    queue: str | None = None
    queue_lease: timedelta = timedelta(minutes=5)
    queue_batch: int = 100

    @property
    def posts_sources(self) -> tuple[PostsSource, ...]:
        return tuple(s for s in self.sources if isinstance(s, PostsSource))

    @property
    def feed_sources(self) -> tuple[FeedSource, ...]:
        return tuple(s for s in self.sources if isinstance(s, FeedSource))


# --------------------------------------------------------------------------- loading


def _person(doc: _Doc, key: str, value: Any) -> Person | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return Person(name=_said(value))
        except ValueError as exc:  # an author without a name fails Atom's gate
            raise doc.error(key, f"the name {exc}") from None
    if not isinstance(value, dict):
        raise doc.error(key, "must be a name, or a mapping of name, email and uri")
    sec = _Section(doc, key, value)
    person = Person(
        name=sec.require("name", _said),
        email=sec.get("email", _str, None),
        uri=sec.get("uri", _url, None),
    )
    sec.finish()
    return person


def _site(doc: _Doc, sec: _Section) -> Site:
    url = sec.require("url", _url)
    if not url.endswith("/"):
        url += "/"
    sec.seen.add("author")
    site = Site(
        title=sec.require("title", _said),
        url=url,
        description=sec.get("description", _str, ""),
        author=_person(doc, sec.path("author"), sec.value.get("author")),
        language=sec.get("language", _str, None),
        timezone=sec.get("timezone", _timezone, "UTC"),
    )
    sec.finish()
    return site


def _rename(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of category -> slug")
    out: dict[str, str] = {}
    for k, v in value.items():
        slug = _str(v)
        if not slug or "/" in slug or "\\" in slug or slug in (".", "..") or "\x00" in slug:
            raise ValueError(f"slug for {k!r} must be a plain folder name, got {slug!r}")
        out[_str(k)] = slug
    return out


def _formats(value: Any) -> tuple[Format, ...]:
    names = _str_list(value)
    if not names:
        raise ValueError("needs at least one of atom, rss, json")
    for name in names:
        if name not in ("atom", "rss", "json"):
            raise ValueError(f"unknown format {name!r} (atom, rss, json)")
    return tuple(dict.fromkeys(cast(tuple[Format, ...], names)))


def _categories(value: Any) -> Literal["all"] | tuple[str, ...]:
    if value == "all":
        return "all"
    return name_list(value)


def _queue_url(value: Any) -> str:
    text = _str(value)
    if not text.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
        raise ValueError(f"expected a redis:// or amqp:// URL, got {text!r}")
    return text


def _state(doc: _Doc, base: Path, value: str) -> Path | str:
    """``state:``: a PostgreSQL URL as written, or a file path made absolute."""
    if value.startswith(("postgresql://", "postgres://")):
        return value
    if not value.strip() or re.match(r"[A-Za-z][\w+.-]+://", value):
        raise doc.error("state", f"a file path or a postgresql:// URL, got {value!r}")
    return doc.resolve(base / value, "state")


def _nonblank(value: Any) -> str:
    """Text that must say something (a feed's title, a folder)."""
    text = _str(value)
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _said(value: Any) -> str:
    """Text published in the feeds that must say something there, once the
    characters XML cannot carry are stripped (a title of control characters)."""
    text = _nonblank(value)
    if not strip_xml_illegal(text)[0].strip():
        raise ValueError(
            f"must say something a feed can carry, got only characters XML cannot hold: {text!r}"
        )
    return text


def _header_value(value: Any) -> str:
    """Text sent as an HTTP header: one line of printable characters."""
    text = _str(value)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("must be one line of text (no line breaks or control characters)")
    return text


def load(path: Path | str) -> Config:
    """Read and validate a config file; raise ConfigError naming the key and line."""
    path = Path(path).absolute()
    return parse(read(path), path)


def read(path: Path) -> str:
    """A config file's text; ConfigError when there is none or it cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("no such file (try `feedwright init`)", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path=str(path)) from None


def parse(text: str, path: Path) -> Config:
    """Validate config text as if read from ``path`` (relative paths resolve against its folder)."""
    return parse_noting(text, path)[0]


def parse_noting(text: str, path: Path) -> tuple[Config, list[PathFact]]:
    """:func:`parse`, and what the result took from the disk: each path made
    real, as written and as resolved, and whether it is a folder."""
    doc = _Doc(path, text)
    if doc.data is None:
        raise ConfigError(
            "holds no settings: `feedwright init DIR` writes a starter config.yaml"
            " (every key: python -m pydoc feedwright.config)",
            path=str(path),
        )
    base = path.parent
    root = _Section(doc, "", doc.data)
    site = _site(doc, root.section("site"))

    sources = read_sources(doc, root, base)
    if any(isinstance(s, PostsSource) for s in sources):  # their ids are made of its host
        from .posts.links import tag_host_problem

        if (problem := tag_host_problem(site.url)) is not None:
            raise doc.error("site.url", problem)

    out = root.section("output")
    output = Output(
        dir=doc.resolve(base / out.get("dir", _nonblank, "feeds"), "output.dir"),
        formats=out.get("formats", _formats, ("atom", "rss")),
        limit=out.get("limit", _int(0), 50),
        content=cast(
            Literal["full", "summary"], out.get("content", _choice("full", "summary"), "full")
        ),
        categories=out.get("categories", _categories, "all"),
        slugs=cast(
            Literal["unicode", "ascii"], out.get("slugs", _choice("unicode", "ascii"), "unicode")
        ),
        rename=out.get("rename", _rename, {}),
        pages=out.get("pages", _bool, True),
        stylesheet=out.get("stylesheet", _bool, True),
        archives=out.get("archives", _bool, False),
        tombstones=out.get("tombstones", _duration_or_zero, timedelta(days=30)),
        max_id_changes=out.get("max_id_changes", _share, 0.2),
    )
    if output.pages and any(isinstance(s, PostsSource) and s.path == output.dir for s in sources):
        raise doc.error(
            "output.dir",
            "is a posts folder: its index.html pages would be read as posts;"
            " write the feeds to a folder of their own (feeds, say)",
        )
    out.finish()

    hubs = root.section("websub")
    websub = WebSub(hub=hubs.get("hub", _url_list, ()))
    hubs.finish()
    podcast = _podcast(doc, root, site)

    fet = root.section("fetch")
    fetch = Fetch(
        timeout=fet.get("timeout", _duration, timedelta(seconds=20)),
        max_bytes=fet.get("max_bytes", _size, 10 * 1000 * 1000),
        concurrency=fet.get("concurrency", _int(1), 32),
        user_agent=fet.get("user_agent", _header_value, None),
        deadline=fet.get("deadline", _duration, timedelta(minutes=10)),
        transport=cast(
            Literal["asyncio", "httpx"],
            fet.get("transport", _choice("asyncio", "httpx"), "asyncio"),
        ),
    )
    fet.finish()

    sch = root.section("schedule")
    schedule = Schedule(
        every=sch.get("every", _duration, timedelta(hours=1)),
        jitter=sch.get("jitter", _fraction, 0.1),
        adaptive=sch.get("adaptive", _bool, False),
        min_every=sch.get("min_every", _duration, timedelta(minutes=15)),
        max_every=sch.get("max_every", _duration, timedelta(days=1)),
    )
    if schedule.min_every > schedule.max_every:
        raise doc.error("schedule.min_every", "must not be longer than schedule.max_every")
    sch.finish()

    config = Config(
        path=path,
        site=site,
        sources=sources,
        output=output,
        fetch=fetch,
        schedule=schedule,
        state=_state(doc, base, root.get("state", _str, DEFAULT_STATE)),
        retention=root.get("retention", _int(0), 1000),
        ids=doc.resolve(base / root.get("ids", _str, DEFAULT_IDS), "ids"),
        websub=websub,
        podcast=podcast,
        queue=root.get("queue", _queue_url, None),
        queue_lease=root.get("queue_lease", _duration, timedelta(minutes=5)),
        queue_batch=root.get("queue_batch", _int(1), 100),
    )
    root.finish()
    return config, doc.facts


def _podcast(doc: _Doc, root: _Section, site: Site) -> Podcast | None:
    """The ``podcast:`` block, or None when there is none."""
    root.seen.add("podcast")
    if root.value.get("podcast") is None:
        return None
    from .podcast import cover_url, itunes_category

    sec = _Section(doc, "podcast", root.value["podcast"])
    sec.seen.add("owner")
    podcast = Podcast(
        image=sec.require("image", lambda v: cover_url(_str(v), site.url)),
        category=sec.require("category", lambda v: itunes_category(_str_list(v))),
        explicit=sec.get("explicit", _bool, False),
        owner=_person(doc, sec.path("owner"), sec.value.get("owner")),
        type=cast(
            Literal["episodic", "serial"],
            sec.get("type", _choice("episodic", "serial"), "episodic"),
        ),
    )
    sec.finish()
    return podcast


__all__ = [
    "DEFAULT_IDS",
    "DEFAULT_STATE",
    "FILENAMES",
    "MANIFEST_NAME",
    "Config",
    "FeedSource",
    "Fetch",
    "Format",
    "Output",
    "Podcast",
    "PostsSource",
    "Schedule",
    "Site",
    "Source",
    "WebSub",
    "load",
    "parse",
    "parse_noting",
    "read",
]
