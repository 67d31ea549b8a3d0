"""The ``feedwright`` command: a thin shell over the library.

Library errors become one clean line on stderr and an exit code here, and
only here: 0 all well; 1 published but some posts/sources had problems;
2 bad usage or invalid config (nothing written); 3 the output is locked.
"""

from __future__ import annotations

# Imports here are kept to what a no-change `feedwright build` needs (see
# _quick_build); the rest are made where they are used.
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import __version__
from .exceptions import ConfigError, FeedwrightError, LockError, PublishError, StoreError

if TYPE_CHECKING:
    import argparse
    from datetime import datetime

    from .app import BuildReport
    from .config import Config
    from .quick import Miss

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


def _now() -> datetime:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _load(args: argparse.Namespace) -> Config:
    from pathlib import Path

    from .config import load

    return load(Path(args.config))


def _progress() -> Any:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\rfetching feeds: {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


def _dt(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def cmd_build(args: argparse.Namespace) -> int:
    from .app import run_once

    config = None
    if args.parsed is not None:
        from .config import from_bytes

        try:
            config = from_bytes(args.parsed)
        except ValueError:
            config = None
    report = run_once(
        config or _load(args),
        now=_now(),
        offline=args.offline,
        lock_wait=args.wait,
        progress=_progress(),
        snapshot=args.snapshot,
    )
    return _show_build(_build_view(report), as_json=args.json, quiet=args.quiet)


def _build_view(report: BuildReport) -> dict[str, Any]:
    """What ``build`` prints of a report (``--json`` prints it as it is)."""
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
        "next_post_at": _dt(report.next_post_at),
        "sources": [
            {
                "source": r.key,
                "url": r.url,
                "result": r.outcome,
                "new": r.new,
                "updated": r.updated,
                "error": str(r.error) if r.error else None,
                "note": r.note,
            }
            for r in report.sources
        ],
        "problems": report.problems,
    }


def _cached_view(record: dict[str, Any]) -> dict[str, Any]:
    """:func:`_build_view` of the report ``app.run_once`` makes from the same
    record when nothing changed (``app._cached_report``): no source refreshed,
    nothing written, every file unchanged."""
    summary = record["summary"]
    next_post = summary.get("next_post_at")
    return {
        "posts": summary["posts"],
        "remote_entries": summary["remote"],
        "held_future_posts": summary["held"],
        "skipped_drafts": summary["skipped"],
        "categories": summary["categories"],
        "written": [],
        "unchanged": len(record["stamps"]),
        "removed": [],
        "stripped_chars": summary.get("stripped_chars", 0),
        "next_post_at": next_post.replace("+00:00", "Z") if next_post else None,
        "sources": [],
        "problems": [f"{path}: {message}" for path, message in summary["post_errors"]],
    }


def _show_build(view: dict[str, Any], *, as_json: bool, quiet: bool) -> int:
    for problem in view["problems"]:
        _err(problem)
    for source in view["sources"]:
        if source.get("note"):
            _err(f"warning: {source['url']}: {source['note']}")
    if as_json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
    elif not quiet:
        extra = ""
        if view["sources"]:
            fetched = sum(1 for r in view["sources"] if r["result"] != "skipped")
            extra = f", {fetched} feeds refreshed, {view['remote_entries']} remote entries"
        if view["stripped_chars"]:
            extra += f", {view['stripped_chars']} control characters stripped"
        print(
            f"{view['posts']} posts, {view['categories']} categories, "
            f"{len(view['written'])} files written, {view['unchanged']} unchanged{extra}"
        )
    return EXIT_PROBLEMS if view["problems"] else EXIT_OK


# `build` options the no-change shortcut understands; anything else goes to argparse.
_QUICK_FLAGS = {"--offline": "offline", "--json": "json", "-q": "quiet", "--quiet": "quiet"}


def _quick_build(argv: Sequence[str]) -> int | Miss | None:
    """A ``build`` with nothing to do, answered without argparse, the config
    parser or the library (``quick.cached_build``); None: build for real.

    Only the plain forms are recognised (``-c FILE``, ``--config FILE``,
    ``--config=FILE``, ``--offline``, ``--json``, ``-q``/``--quiet``);
    any other argument leaves the command line to argparse, as does a
    ``FEEDWRIGHT_NO_SHORTCUT`` set to anything. A Miss may carry the posts'
    snapshot it took, for the real build.
    """
    if not argv or argv[0] != "build" or os.environ.get("FEEDWRIGHT_NO_SHORTCUT"):
        return None
    config = "config.yaml"
    flags: set[str] = set()
    rest = list(argv[1:])
    while rest:
        arg = rest.pop(0)
        if arg in ("-c", "--config") and rest and not rest[0].startswith("-"):
            config = rest.pop(0)
        elif arg.startswith("--config=") and len(arg) > len("--config="):
            config = arg[len("--config=") :]
        elif arg in _QUICK_FLAGS:
            flags.add(_QUICK_FLAGS[arg])
        else:
            return None
    from .quick import Miss, cached_build

    record = cached_build(config, offline="offline" in flags)
    if isinstance(record, Miss):
        return record
    try:
        view = _cached_view(record)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # a record some other version wrote: build for real
    return _show_build(view, as_json="json" in flags, quiet="quiet" in flags)


def cmd_check(args: argparse.Namespace) -> int:
    from .app import read_all_posts

    config = _load(args)
    posts = read_all_posts(config)
    for error in posts.errors:
        _err(str(error))
    now = _now()
    held = sum(1 for e in posts.entries if e.published > now)
    summary = {
        "config": str(config.path),
        "posts": len(posts.entries),
        "future_posts": held,
        "drafts": posts.skipped,
        "feeds": len(config.feed_sources),
        "problems": [str(e) for e in posts.errors],
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    elif not args.quiet:
        print(
            f"config ok; {len(posts.entries)} posts ({held} scheduled), "
            f"{posts.skipped} drafts, {len(config.feed_sources)} remote feeds, "
            f"{len(posts.errors)} problems"
        )
    return EXIT_PROBLEMS if posts.errors else EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from .store import Store

    config = _load(args)
    rows: list[dict[str, Any]] = []
    states = {}
    counts: dict[str, int] = {}
    if config.state.exists():
        with Store.open(config.state) as store:
            states = store.source_states()
            counts = {s.key: store.entry_count(s.key) for s in config.feed_sources}
    for source in config.feed_sources:
        state = states.get(source.key)
        rows.append(
            {
                "source": source.key,
                "url": state.url if state else source.url,
                "last_fetch": _dt(state.last_fetch) if state else None,
                "result": (state.last_result if state else None) or "never fetched",
                "status": state.status if state else "active",
                "error_streak": state.error_count if state else 0,
                "last_error": state.last_error if state else None,
                "next_due": (_dt(state.next_check) if state and state.status != "gone" else None)
                if state
                else "now",
                "entries": counts.get(source.key, 0),
            }
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print("no remote feeds configured")
        return EXIT_OK
    headers = ["source", "last fetch", "result", "errors", "next due", "entries"]
    table = [
        [
            r["source"],
            r["last_fetch"] or "-",
            r["result"] + (f" ({r['last_error']})" if r["last_error"] else ""),
            str(r["error_streak"]),
            "never (gone)" if r["status"] == "gone" else (r["next_due"] or "now"),
            str(r["entries"]),
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .starter import init

    created = init(Path(args.dir))
    for path in created:
        print(f"created {path}")
    if not created:
        print(f"{args.dir}: already set up, nothing changed")
    return EXIT_OK


def cmd_import_opml(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .subscriptions import import_opml

    config = _load(args)
    count = import_opml(config.path, Path(args.file), config)
    print(f"{count} new feeds added to {config.path}")
    return EXIT_OK


def cmd_export_opml(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .store import Store
    from .subscriptions import export_opml

    config = _load(args)
    titles: dict[str, str] = {}
    if config.state.exists():
        with Store.open(config.state) as store:
            titles = {k: s.title for k, s in store.source_states().items() if s.title}
    data = export_opml(config, titles)
    if args.output and args.output != "-":
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from .daemon import run_daemon

    config = _load(args)
    return run_daemon(
        config, offline=args.offline, serve=args.serve, json_logs=args.json, verbose=args.verbose
    )


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="feedwright",
        description="Publish per-category Atom/RSS feeds from local posts and remote feeds.",
    )
    parser.add_argument("--version", action="version", version=f"feedwright {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str, *, config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        if config:
            p.add_argument(
                "-c", "--config", default="config.yaml", help="config file (default ./config.yaml)"
            )
        p.add_argument("-v", "--verbose", action="store_true", help="log every step")
        return p

    p = command("build", "refresh remote feeds, read posts, publish, exit")
    p.add_argument("--offline", action="store_true", help="publish from what is stored; no fetch")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    p.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for the lock"
    )
    p.set_defaults(func=cmd_build)

    p = command("run", "the daemon: keep every feed current until SIGTERM/SIGINT")
    p.add_argument("--offline", action="store_true", help="never fetch remote feeds")
    p.add_argument("--json", action="store_true", help="log JSON lines instead of text")
    p.add_argument("--serve", metavar="HOST:PORT", help="also serve the output folder over HTTP")
    p.set_defaults(func=cmd_run)

    p = command("check", "validate config and every post; writes nothing")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    p.set_defaults(func=cmd_check)

    p = command("status", "each remote source: last fetch, result, errors, next due, entries")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)

    p = command("init", "create a starter config.yaml, posts/ and feeds/", config=False)
    p.add_argument("dir", nargs="?", default=".", help="folder to set up (default: here)")
    p.set_defaults(func=cmd_init)

    p = command("import-opml", "add the feeds of an OPML file to config.yaml")
    p.add_argument("file", help="an OPML file")
    p.set_defaults(func=cmd_import_opml)

    p = command("export-opml", "print the configured remote feeds as OPML")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.set_defaults(func=cmd_export_opml)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    quick = _quick_build(sys.argv[1:] if argv is None else argv)
    if isinstance(quick, int):
        return quick
    parser = build_parser()
    args = parser.parse_args(argv)
    # The posts the shortcut stated already, the config it found unchanged
    # since the last build parsed it (a build runs right after it).
    args.snapshot = None if quick is None else quick.snapshot
    args.parsed = None if quick is None else quick.parsed
    if args.verbose or args.func is cmd_run:
        # Only the daemon and -v log; a plain build does not import logging
        # (~10 ms of a no-change build), and warnings still reach stderr.
        import logging

        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="%(asctime)s %(levelname)s %(message)s",
            stream=sys.stderr,
        )
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        _err(f"feedwright: {exc}")
        return EXIT_USAGE
    except LockError as exc:
        _err(f"feedwright: {exc}")
        return EXIT_LOCKED
    except (StoreError, PublishError, FeedwrightError) as exc:
        _err(f"feedwright: {exc}")
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        _err("feedwright: interrupted")
        return 130
    except BrokenPipeError:
        # `feedwright status --json | head`: the reader left; not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    return code


def run() -> None:
    """The ``feedwright`` command: :func:`main`, then out."""
    code = main()
    _exit_now(code)
    sys.exit(code)


def _exit_now(code: int) -> None:
    """Leave at once, without tearing the interpreter down, when nothing is
    left to finish: freeing every object a build made (a 10,000-post site's
    cached entries) took 50-70 ms of an edit build's ~0.7 s, and the OS frees
    the memory at once. By now the store is closed, the outputs are renamed
    into place and the lock is released; this only skips the goodbyes, and
    not when a thread, a process pool (the aggregator's parsers) or logging
    handlers could still have something to do.
    """
    threading = sys.modules.get("threading")
    if (
        (threading is not None and threading.active_count() > 1)
        or "concurrent.futures.process" in sys.modules
        or "logging" in sys.modules
    ):
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # let the normal exit report it
    os._exit(code)


if __name__ == "__main__":
    run()
