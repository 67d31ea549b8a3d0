"""feedwright's Python API: what the CLI and the daemon are thin shells over.

Every function takes ``config`` as a path to a ``config.yaml`` or a loaded
:class:`~feedwright.config.Config`, reads the clock only when ``now`` is not
given, and reports per-item problems (a bad post, a failing feed) as values
in its result; errors that end a run raise a
:class:`~feedwright.exceptions.FeedwrightError`.

Calling it from another program leaves that program as it was: CPU work
runs in worker processes that are fresh interpreters (never a fork of the
caller unless ``fork=True``; they never import its main file), which stop
before the call returns; nothing here leaves signal handlers installed,
changes the garbage collector, the working folder or ``multiprocessing``'s
settings, prints or exits (docs/api.md, "Embedding feedwright").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .config import Config, FeedSource, PostsSource, load
from .exceptions import ConfigError, PostError
from .model import Entry, gone

if TYPE_CHECKING:
    from .adopt import AdoptReport
    from .parallel import Pool
    from .pipeline import BuildReport
    from .preview import Plan
    from .publish.validate import OutputCheck
    from .remote.fetch import FetchResponse
    from .remote.guard import Resolver
    from .remote.parse import ParsedFeed

ConfigLike = Config | str | Path
T = TypeVar("T")


def load_config(path: str | Path) -> Config:
    """Read and validate a ``config.yaml``; raise ConfigError naming the key and line."""
    return load(Path(path))


def _config(config: ConfigLike) -> Config:
    return config if isinstance(config, Config) else load_config(config)


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _pool(fork: bool) -> Pool:
    from .parallel import Pool
    from .pipeline import WORK_TIMEOUT, WORKER_NICENESS

    return Pool(timeout=WORK_TIMEOUT, nice=WORKER_NICENESS, fork=fork)


def _off_loop(call: Callable[[], T]) -> T:
    """``call()``; in a thread of its own when this thread runs an event loop
    (a notebook, an async program): feedwright runs loops of its own, which
    ``asyncio.run`` refuses inside a running one. The caller's loop waits,
    as for any synchronous call; its state store is opened and used in that
    one thread."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="feedwright") as thread:
        return thread.submit(call).result()


def build(
    config: ConfigLike,
    *,
    offline: bool = False,
    now: datetime | None = None,
    wait: float = 0.0,
    fork: bool = False,
    allow_id_changes: bool = False,
) -> BuildReport:
    """Refresh due remote feeds (unless ``offline``), read the posts and publish.

    Holds the output folder's lock meanwhile (``wait`` seconds for it, else
    LockError). Problems with single posts and sources are in the report.
    ``fork=True`` lets worker processes be forked from this one when it has
    no other thread (faster; what the ``feedwright`` command does).
    Raises IdChangeError, writing nothing, when too many of a feed's entry ids
    would change (``output.max_id_changes``), unless ``allow_id_changes``.
    """
    from .pipeline import run_once

    cfg, moment = _config(config), _now(now)

    def run() -> BuildReport:
        with _pool(fork) as pool:
            return run_once(
                cfg,
                now=moment,
                offline=offline,
                lock_wait=wait,
                pool=pool,
                allow_id_changes=allow_id_changes,
            )

    return _off_loop(run)


def plan(
    config: ConfigLike, *, fetch: bool = False, now: datetime | None = None, fork: bool = False
) -> Plan:
    """What the next build would publish, per feed (entries added, removed,
    changed, ids changed) and per file, writing nothing: the build runs on
    temporary copies of the state, the output and the id ledger. Remote feeds
    are fetched (into the copy) only with ``fetch=True``; no hub is pinged.
    ``fork`` as for :func:`build`."""
    from .preview import plan as preview

    cfg, moment = _config(config), _now(now)

    def run() -> Plan:
        with _pool(fork) as pool:
            return preview(cfg, now=moment, fetch=fetch, pool=pool)

    return _off_loop(run)


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What :func:`check` found: every post read, and each problem."""

    config: Path
    posts: list[Entry]  # readable posts, drafts left out, future-dated and expired ones included
    drafts: int
    feeds: int  # remote feeds configured
    problems: list[PostError] = field(default_factory=list)
    stripped: int = 0  # characters XML (or YAML) cannot carry, removed from the posts
    # What publishes, but probably not as meant ("path: what"): a post without
    # a title or date, a near-miss front matter key, an output category no
    # post or source has.
    warnings: list[str] = field(default_factory=list)

    def scheduled(self, now: datetime) -> int:
        """How many posts are dated after ``now`` (published when their time
        comes), their end (``expiryDate``) not reached by then."""
        return sum(1 for e in self.posts if e.published > now and not gone(e, now))

    def expired(self, now: datetime) -> int:
        """How many posts have reached their end (``expiryDate``) by ``now``:
        a build publishes them nowhere."""
        return sum(1 for e in self.posts if gone(e, now))


def check(config: ConfigLike, *, fork: bool = False) -> CheckReport:
    """Validate the config and read every post; writes nothing. Raises
    ConfigError naming the key (``output.dir`` too: a folder that cannot be
    made or written)."""
    from . import posts
    from .checks import (
        bundled,
        empty_categories,
        inspect_posts,
        replaced,
        taken_folders,
        translated,
        underscored,
    )
    from .incremental import PARALLEL_POSTS, read_posts
    from .ledger import load as load_ledger
    from .lock import output_problem
    from .media import missing_files

    cfg = _config(config)
    if problem := output_problem(cfg.output.dir):
        raise ConfigError(problem, key="output.dir", path=str(cfg.path))
    found = {str(s.path): posts.find(s.path) for s in cfg.posts_sources}
    book = load_ledger(cfg.ids, lambda: None)  # the ids a build would publish, and its problems
    with _pool(fork) as pool:
        # (Dated as a build now would date them: a file's time ahead of the clock is no schedule.)
        read = read_posts(cfg, None, found, pool, book=book, now=datetime.now(UTC))
        files = {root: list(f.files) for root, f in found.items()}
        many = sum(map(len, files.values())) >= PARALLEL_POSTS
        warnings = inspect_posts(cfg, files, pool, parallel=many)
    warnings = [*book.problems, *(read.resolved.notes if read.resolved else ()), *warnings]
    every = read.every_entry()
    seen = [c for entry in every for c in entry.categories]
    from . import store as state_store
    from .publish.slugs import FOLDERS_KEY, held_folders

    if state_store.exists(cfg.state):
        with state_store.open(cfg.state) as store:
            stored = store.entries([s.key for s in cfg.feed_sources]) if cfg.feed_sources else []
            # the category folders published before
            held = held_folders(store.get_meta(FOLDERS_KEY), cfg.output)
        seen += [c for s in stored for c in s.entry.categories]
    else:
        held = held_folders(None, cfg.output)
    warnings += empty_categories(cfg, seen)
    warnings += taken_folders(cfg, seen, held)
    warnings += underscored(cfg, found)
    warnings += bundled(cfg, found)
    warnings += translated(cfg, found)
    warnings += replaced(cfg, found)
    warnings += [
        f"{path}: {count} control character{'' if count == 1 else 's'} removed (XML cannot"
        " carry them; they are not published)"
        for path, count in read.stripped_in
    ]

    # An episode whose audio file is not in the site folder: build holds it back.
    mine = {e.id: e for e in every if e.id in read.where}
    missing = missing_files(mine.values(), cfg, path_of=lambda e: read.path_of(e.id))
    return CheckReport(
        config=cfg.path,
        posts=every,
        drafts=read.drafts,
        feeds=len(cfg.feed_sources),
        problems=[*read.problems, *missing],
        stripped=read.stripped,
        warnings=warnings,
    )


def fetch_feed(
    url: str,
    config: ConfigLike | None = None,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    now: datetime | None = None,
    resolver: Resolver | None = None,
) -> FetchResponse:
    """Fetch one feed the way :func:`build` does, and return what came back.

    The same request (conditional with ``etag`` / ``last_modified``), limits
    (``config``'s ``fetch`` section, defaults without one), redirects, SSRF
    guard and HTML-page discovery; ``FetchResponse.status`` is 200 or 304.
    ``resolver`` is an ``async resolve(host) -> [IP address, ...]`` used for
    every name instead of the system's (a DNS-over-HTTPS client, a fixed
    table); connections go to exactly the addresses it gave. Raises
    FetchError (GoneError, RateLimitedError, TooLargeError) naming ``url``.
    Runs its own event loop (in a thread of its own when called from a
    running one).
    """
    from .config import Fetch
    from .remote.fetch import FetchRequest, default_user_agent, fetch_one

    cfg = None if config is None else _config(config)
    settings = cfg.fetch if cfg is not None else Fetch()
    agent = settings.user_agent or default_user_agent(
        cfg.site.url if cfg is not None else "https://github.com/feedwright"
    )
    request, moment = FetchRequest(url, etag, last_modified), _now(now)
    return _off_loop(
        lambda: fetch_one(settings, request, user_agent=agent, now=moment, resolver=resolver)
    )


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One remote source as the store remembers it."""

    source: str  # the configured URL
    url: str  # what is fetched now (after permanent redirects)
    last_fetch: datetime | None
    result: str  # ok | not-modified | unchanged | error | gone | rate-limited | never fetched
    status: str  # active | gone
    error_streak: int
    last_error: str | None
    next_due: datetime | None  # None: due now (or never, when gone)
    entries: int
    filtered: int = 0  # stored entries its `filters` keep from being published
    # Politeness (politeness.py): what fetching it cost and saved.
    requests: int = 0
    not_modified: int = 0  # 304s
    unchanged: int = 0  # 200s with the body parsed last time
    bytes_down: int = 0
    bytes_saved: int = 0  # by 304s
    validators_ignored: int = 0
    churned: int = 0  # bodies that changed while their entries did not
    every: timedelta | None = None  # the refresh interval in force
    hints: str | None = None  # the feed's ttl / skipHours / skipDays, as said
    notes: tuple[str, ...] = ()  # its habits worth knowing (ignores validators, ...)


def status(config: ConfigLike) -> list[SourceStatus]:
    """Each configured remote source: last fetch, result, error streak, next due, entries."""
    from . import store as state_store
    from .store import SourceState

    cfg = _config(config)
    states: dict[str, SourceState] = {}
    counts: dict[str, int] = {}
    filtered: dict[str, int] = {}
    if state_store.exists(cfg.state):
        with state_store.open(cfg.state) as store:
            states = store.source_states()
            counts = store.entry_counts()
            filtered = _filtered(cfg, store)
    from .politeness import describe_hints, interval_of, notes

    rows = []
    for source in cfg.feed_sources:
        state = states.get(source.key)
        polite: dict[str, Any] = (
            {
                "requests": state.requests,
                "not_modified": state.not_modified,
                "unchanged": state.unchanged,
                "bytes_down": state.bytes_down,
                "bytes_saved": state.bytes_saved,
                "validators_ignored": state.validators_ignored,
                "churned": state.churned,
                "hints": describe_hints(state),
                "notes": tuple(notes(state)),
            }
            if state
            else {}
        )
        rows.append(
            SourceStatus(
                source=source.key,
                url=state.url if state else source.url,
                last_fetch=state.last_fetch if state else None,
                result=(state.last_result if state else None) or "never fetched",
                status=state.status if state else "active",
                error_streak=state.error_count if state else 0,
                last_error=state.last_error if state else None,
                next_due=state.next_check if state and state.status != "gone" else None,
                entries=counts.get(source.key, 0),
                filtered=filtered.get(source.key, 0),
                every=interval_of(state, source, cfg),
                **polite,
            )
        )
    return rows


def _filtered(config: Config, store: Any) -> dict[str, int]:
    """How many stored entries of each filtered source are kept out of the feeds."""
    from .filters import keep

    with_filters = {s.key: s.filters for s in config.feed_sources if s.filters}
    if not with_filters:
        return {}
    out: dict[str, int] = {}
    for stored in store.entries(list(with_filters)):
        key = stored.entry.origin
        if not keep(stored.entry, with_filters[key]):
            out[key] = out.get(key, 0) + 1
    return out


def read_post(path: str | Path, config: ConfigLike) -> Entry | None:
    """One post file as the entry it publishes (unrendered body), None for a draft.

    The file is read as part of the posts folder of ``config`` that holds it
    (its links and id depend on that folder), else as if its own folder were
    one. Raises PostError naming the file.
    """
    from . import posts

    cfg = _config(config)
    file = Path(path)
    absolute = file.absolute()
    source = next(
        (s for s in cfg.posts_sources if absolute.is_relative_to(s.path)),
        PostsSource(path=absolute.parent),
    )
    rel = absolute.relative_to(source.path).as_posix()
    return posts.read(file, rel, source, cfg.site).entry


def parse_feed(
    content: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
    fast: bool = True,
) -> ParsedFeed:
    """Parse one fetched feed document (RSS, Atom, JSON Feed) into entries.

    ``headers`` are the HTTP response's (the charset and content type
    matter). ``fast=False`` reads every document with feedparser, the
    parser of record; by default well-formed RSS 2.0 and Atom 1.0 take the
    lxml reader that gives the same entries faster (``ParsedFeed.parser``
    says which read it; ``ParsedFeed.note`` what was repaired). Raises
    ParseError.
    """
    from .remote.parse import parse_feed as parse

    return parse(
        content,
        url=url,
        headers=dict(headers or {}),
        source=FeedSource(url=url),
        now=_now(now),
        fast=fast,
    )


def adopt_ids(
    config: ConfigLike,
    feeds: Sequence[str],
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> AdoptReport:
    """Publish each post under the id (and date) an old feed gave it: for a
    site moved from Jekyll, Hexo or Hugo (``docs/ids.md``).

    ``feeds``: the old feeds readers subscribe to (file paths or http(s)
    URLs; Atom, RSS or JSON Feed). Each old entry is matched to the post with
    the same link (the scheme, a trailing ``/`` or ``index.html`` and the like
    aside), else the same title dated within a day and a half; the matched
    posts' lines of the id ledger then take the old id, and the old date when
    the post has no date of its own. A post whose front matter sets
    ``id``/``guid`` keeps it. Entries matching several posts, or several
    entries one post, are skipped (``AdoptReport.ambiguous``), and so are
    ids the publish gate refuses (``AdoptReport.refused``). ``dry_run``
    writes nothing. Holds the output folder's lock while it writes
    (LockError). Raises FetchError or ParseError naming a feed that cannot
    be read (nothing written then), ConfigError for a damaged ledger.
    """
    from .adopt import adopt_ids as adopt

    cfg, moment = _config(config), _now(now)
    return _off_loop(lambda: adopt(cfg, list(feeds), dry_run=dry_run, now=moment))


def __getattr__(name: str) -> Any:
    if name == "ParsedFeed":
        from .remote.parse import ParsedFeed

        return ParsedFeed
    if name == "FetchResponse":
        from .remote.fetch import FetchResponse

        return FetchResponse
    if name == "AdoptReport":
        from .adopt import AdoptReport

        return AdoptReport
    if name == "BuildReport":
        from .pipeline import BuildReport

        return BuildReport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_output(folder: Path | str) -> OutputCheck:
    """The validation gate's rules (``publish/validate.py``) on every feed file
    under ``folder``, ours or anyone's; writes nothing. FileNotFoundError
    when there is no such folder."""
    from .publish.validate import check_output as run_checks

    return run_checks(folder)


__all__ = [
    "AdoptReport",
    "BuildReport",
    "CheckReport",
    "FetchResponse",
    "ParsedFeed",
    "SourceStatus",
    "adopt_ids",
    "build",
    "check",
    "check_output",
    "fetch_feed",
    "load_config",
    "parse_feed",
    "plan",
    "read_post",
    "status",
]
