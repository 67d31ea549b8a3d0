"""What a build reports: :class:`BuildReport` and the summaries in it.

The build record (feedwright.incremental) keeps :func:`summary` of the last build, so
a build that finds nothing changed reports it again (:func:`cached_report`)
without reading or rendering anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .exceptions import PostError, SourceError
from .logs import moved_message

if TYPE_CHECKING:
    from .incremental import Record
    from .update import SourceResult
    from .websub import PingResult


@dataclass(frozen=True, slots=True)
class FeedSummary:
    """One published feed: the combined one (``slug`` None) or a category's."""

    slug: str | None  # its folder under output.dir
    category: str | None  # the category's display name
    title: str
    entries: tuple[str, ...]  # the ids it holds, in order
    updated: datetime  # its newest entry's time (2000-01-01 for an empty feed)


@dataclass(frozen=True, slots=True)
class PublishSummary:
    """What a publish did."""

    written: list[str]  # output paths (POSIX, relative to output.dir)
    unchanged: list[str]
    removed: list[str]
    stripped_chars: int  # XML-illegal characters removed from the published text
    categories: int  # category feeds published
    feeds: list[FeedSummary] = field(default_factory=list)  # empty when nothing changed
    rejected: list[str] = field(default_factory=list)  # files the gate refused, one line each


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What one build did; problems with single posts and sources are in it."""

    posts: int  # local posts published (due by now)
    remote: int  # remote entries considered
    held: int  # future-dated posts held back
    skipped: int  # drafts and unpublished posts
    publish: PublishSummary
    sources: list[SourceResult] = field(default_factory=list)
    post_errors: list[PostError] = field(default_factory=list)
    # The next timed change: the earliest held-back post due, a post's end
    # (expiryDate), a tombstone that expires.
    next_post_at: datetime | None = None
    cached: bool = False  # nothing had changed: no post was read, no feed rendered
    pings: list[PingResult] = field(default_factory=list)  # WebSub requests sent
    # Remote sources failing, backing off or gone now (their keys), whether or
    # not this build fetched them: every build says so until they recover.
    failing: tuple[str, ...] = ()
    # What the id ledger said: posts moved (ids kept), ids changed, damaged lines.
    ids: tuple[str, ...] = ()
    # Ids this build changed (new id -> the one published before; ledger.py).
    id_changes: dict[str, str] = field(default_factory=dict)

    @property
    def source_errors(self) -> list[SourceError]:
        return [r.error for r in self.sources if r.error is not None]

    @property
    def problems(self) -> list[str]:
        """Every problem as one line: the file or URL, then the reason."""
        failed = [str(p) for p in self.pings if p.error is not None]
        problems = [str(e) for e in self.post_errors] + [str(e) for e in self.source_errors]
        return problems + self.publish.rejected + failed

    @property
    def warnings(self) -> list[str]:
        """Problems a source recovered from (bytes replaced, a guessed encoding),
        feeds that moved for good, and what the id ledger reports."""
        return (
            [f"{r.url}: {r.note}" for r in self.sources if r.note]
            + [
                moved_message(r.url, r.moved_to, discovered=r.discovered)
                for r in self.sources
                if r.moved_to
            ]
            + list(self.ids)
        )

    @property
    def categories(self) -> int:
        return self.publish.categories


#: How an offline build's note on a feed never fetched ends; a daemon's says
#: to restart it (a build beside it waits for the daemon's lock).
BUILD_FETCHES = "a build without --offline fetches it"
_RESTART_FETCHES = "the daemon started again without --offline fetches it"


def lasting_warnings(
    report: BuildReport, *, offline: bool
) -> list[tuple[str, str, dict[str, Any]]]:
    """What ``build`` prints after a publish that a daemon logs once while it
    lasts: (text, event, fields) each. ``offline``: also the feeds the state
    never fetched (a daemon that fetches says how its fetches went instead)."""
    return [
        *((str(e), "post-problem", {"path": e.path}) for e in report.post_errors),
        # the gate refused a file, or another tool's file is in the way
        *((line, "not-published", {"path": None}) for line in report.publish.rejected),
        # posts moved, ids changed, damaged lines of the id ledger
        *((note, "ids", {"path": None}) for note in report.ids),
        # an offline publish's sources: the feeds never fetched into the state
        *(
            (
                f"{r.url}: {r.note.replace(BUILD_FETCHES, _RESTART_FETCHES)}",
                "never-fetched",
                {"url": r.url},
            )
            for r in report.sources
            if offline and r.note
        ),
    ]


_COUNTS = ("posts", "remote", "held", "skipped", "stripped_chars", "categories")


def cached_report(record: Record, sources: list[SourceResult]) -> BuildReport | None:
    """The last build's report again; None if its record cannot give one (damaged)."""
    summary = record.summary
    try:
        counts = {name: summary[name] for name in _COUNTS}
        problems = [PostError(m, path=p) for p, m in summary["post_errors"]]
        ledger_problems = tuple(summary.get("ledger_problems", ()))
    except (KeyError, TypeError, ValueError):
        return None
    if (
        not all(type(n) is int for n in counts.values())
        or not all(isinstance(e.path, str) and isinstance(e.message, str) for e in problems)
        or not all(isinstance(p, str) for p in ledger_problems)
    ):
        return None
    return BuildReport(
        posts=counts["posts"],
        remote=counts["remote"],
        held=counts["held"],
        skipped=counts["skipped"],
        publish=PublishSummary(
            written=[],
            unchanged=sorted(record.stamps),
            removed=[],
            stripped_chars=counts["stripped_chars"],
            categories=counts["categories"],
        ),
        sources=sources,
        post_errors=problems,
        next_post_at=record.next_post_at,
        ids=ledger_problems,  # the id ledger's damaged lines: the same text, the same lines
        cached=True,
    )


def summary(build: BuildReport) -> dict[str, Any]:
    """The counts a build record keeps, from which :func:`cached_report` makes
    the report of a build that finds nothing changed."""
    return {
        "posts": build.posts,
        "remote": build.remote,
        "held": build.held,
        "skipped": build.skipped,
        "categories": build.categories,
        "stripped_chars": build.publish.stripped_chars,
        "post_errors": [[e.path, e.message] for e in build.post_errors],
    }


def build_view(report: BuildReport) -> dict[str, Any]:
    """What ``build`` prints of a report (``--json`` prints it as it is)."""
    from .model import rfc3339_or_none

    pub = report.publish
    return {
        "posts": report.posts,
        "remote_entries": report.remote,
        "held_future_posts": report.held,
        "skipped_drafts": report.skipped,
        "categories": report.categories,
        "written": pub.written,
        "unchanged": len(pub.unchanged),
        "removed": pub.removed,
        "stripped_chars": pub.stripped_chars,
        "next_post_at": rfc3339_or_none(report.next_post_at),
        "sources": [
            {
                "source": r.key,
                "url": r.url,
                "result": r.outcome,
                "new": r.new,
                "updated": r.updated,
                "error": str(r.error) if r.error else None,
                "note": r.note,
                "error_streak": r.streak,
                "last_error": r.last_error,
                "next_due": rfc3339_or_none(r.next_due),
            }
            for r in report.sources
        ],
        "pings": [{"hub": p.hub, "feeds": len(p.feeds), "error": p.error} for p in report.pings],
        "failing_sources": list(report.failing),
        "problems": report.problems,
        "warnings": report.warnings,
    }


def plural(count: int, word: str, words: str = "") -> str:
    """``1 post``, ``2 posts``; ``words`` for a plural that is not word + s."""
    return f"{count} {word}" if count == 1 else f"{count} {words or word + 's'}"


def summary_line(view: dict[str, Any]) -> str:
    """The one line ``build`` prints of a :func:`build_view`."""
    extra = ""
    if view["sources"]:
        fetched = sum(1 for r in view["sources"] if r["result"] != "skipped")
        entries = plural(view["remote_entries"], "remote entry", "remote entries")
        extra = f", {plural(fetched, 'feed')} refreshed, {entries}"
    if pinged := {p["hub"] for p in view["pings"] if p["error"] is None}:
        extra += f", {plural(len(pinged), 'hub')} pinged"
    if view["held_future_posts"]:
        extra += f", {view['held_future_posts']} scheduled"
    if view["skipped_drafts"]:
        extra += f", {plural(view['skipped_drafts'], 'draft')}"
    if view["stripped_chars"]:
        extra += f", {plural(view['stripped_chars'], 'control character')} stripped"
    if view["failing_sources"]:
        failing = plural(len(view["failing_sources"]), "source")
        extra += f"; {failing} failing, see `feedwright status`"
    return (
        f"{plural(view['posts'], 'post')}, "
        f"{plural(view['categories'], 'category', 'categories')}, "
        f"{plural(len(view['written']), 'file')} written, {view['unchanged']} unchanged" + extra
    )


__all__ = [
    "BUILD_FETCHES",
    "BuildReport",
    "FeedSummary",
    "PublishSummary",
    "build_view",
    "cached_report",
    "lasting_warnings",
    "plural",
    "summary",
    "summary_line",
]
