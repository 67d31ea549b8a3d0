"""The ``feedwright`` command: a thin shell over the API (``feedwright.api``).

Its arguments are ``cliparser.py``'s; :data:`COMMANDS` runs each subcommand.

Errors become one clean line on stderr and an exit code here, and only here::

    0   all well
    1   published, but some posts or sources had problems (each named on stderr)
    2   bad usage or invalid config (the key and line named), nothing written
    3   another build or daemon holds the lock on this output folder
    4   refused: too many entry ids would change (see --allow-id-changes;
        `plan` says so with the same code)
    70  an internal error (a bug): one line naming it and the file with the details
    130 interrupted (Ctrl-C); 143 terminated (SIGTERM): nothing half published

No traceback ever reaches a user unless they ask for it with ``-v``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .cliparser import parse_args
from .exceptions import ConfigError, FeedwrightError, IdChangeError, LockError
from .report import build_view
from .report import plural as _plural

if TYPE_CHECKING:
    from .config import Config

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_LOCKED, EXIT_IDS = 0, 1, 2, 3, 4
EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TERMINATED = 70, 130, 143


class _Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, a cron or systemd stop) to a one-shot command:
    stopped as Ctrl-C stops it (temp files removed, nothing half published)."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _load(args: argparse.Namespace, *, cached: bool = False) -> Config:
    if cached:  # build: parsed once per change of the file
        from .incremental.configcache import load as load_cached

        return load_cached(Path(args.config))
    from .config import load  # (what api.load_config is, without the API's report types)

    return load(Path(args.config))


# --------------------------------------------------------------------------- commands


def cmd_build(args: argparse.Namespace) -> int:
    from .parallel import Pool
    from .pipeline import WORK_TIMEOUT, WORKER_NICENESS, run_once

    config = _load(args, cached=True)
    only = _refresh_keys(config, args.refresh, args.offline)
    display = None
    if not (args.quiet or args.json):
        from .progress import for_terminal

        display = for_terminal(sys.stderr, quiet=False)
    try:
        with Pool(timeout=WORK_TIMEOUT, nice=WORKER_NICENESS) as pool:
            report = run_once(
                config,
                now=datetime.now(UTC),
                offline=args.offline,
                lock_wait=args.wait,
                pool=pool,
                progress=display,
                refresh_only=only,
                allow_id_changes=args.allow_id_changes,
            )
    finally:
        if display is not None:
            display.close()
    return _show_build(build_view(report), as_json=args.json, quiet=args.quiet)


def _refresh_keys(config: Config, urls: list[str] | None, offline: bool) -> list[str] | None:
    """The sources ``build --refresh [URL...]`` names (every one when none is named)."""
    if urls is None:
        return None
    if offline:
        raise ConfigError("--refresh fetches, --offline does not: choose one", path="--refresh")
    keys = [s.key for s in config.feed_sources]
    if not urls:
        return keys
    from .configsources import same_address

    def as_named(url: str) -> str:
        return same_address(url).rstrip("/")

    by_url = {as_named(k): k for k in keys}
    unknown = [u for u in urls if as_named(u) not in by_url]
    if unknown:
        # The address a feed moved to (a permanent redirect): what messages name.
        from . import store as state_store

        if state_store.exists(config.state):
            with state_store.open(config.state) as store:
                for key, state in store.source_states(keys).items():
                    by_url.setdefault(as_named(state.url), key)
            unknown = [u for u in urls if as_named(u) not in by_url]
    if unknown:
        raise ConfigError(
            f"not a feed in {config.path.name}: {', '.join(unknown)}", path="--refresh"
        )
    return [by_url[as_named(u)] for u in urls]


def _show_build(view: dict[str, Any], *, as_json: bool, quiet: bool) -> int:
    from .report import summary_line

    for problem in view["problems"]:
        _err(problem)
    for warning in view["warnings"]:
        _err(f"warning: {warning}")
    if as_json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
    elif not quiet:
        print(summary_line(view))
    return EXIT_PROBLEMS if view["problems"] else EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from .api import plan
    from .preview import as_dict, as_lines

    found = plan(_load(args), fetch=args.fetch, fork=True)
    for problem in found.report.problems:
        _err(problem)
    for warning in found.report.warnings:
        _err(f"warning: {warning}")
    if args.json:
        print(json.dumps(as_dict(found), ensure_ascii=False, indent=2))
    else:
        print("\n".join(as_lines(found)))
    if found.refused:
        _err(
            f"feedwright: build would refuse: too many ids would change in "
            f"{', '.join(found.refused)} (exit 4; --allow-id-changes publishes them)"
        )
        return EXIT_IDS
    return EXIT_PROBLEMS if found.report.problems else EXIT_OK


def cmd_adopt_ids(args: argparse.Namespace) -> int:
    from .adopt import as_dict, as_lines
    from .api import adopt_ids
    from .exceptions import SourceError

    try:
        report = adopt_ids(_load(args), args.feeds, dry_run=args.dry_run)
    except SourceError as exc:  # an old feed that cannot be read: a usage error
        return _failed(args, EXIT_USAGE, f"{exc} (nothing written)")
    out, warnings = as_lines(report)
    for warning in warnings:
        _err(f"warning: {warning}")
    print(
        json.dumps(as_dict(report), ensure_ascii=False, indent=2) if args.json else "\n".join(out)
    )
    return EXIT_PROBLEMS if report.ambiguous or report.refused else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from .api import check

    if args.output is not None:
        return _check_output(args)
    report = check(_load(args), fork=True)
    for problem in report.problems:
        _err(str(problem))
    for warning in report.warnings:
        _err(f"warning: {warning}")
    now = datetime.now(UTC)
    held, expired = report.scheduled(now), report.expired(now)
    if args.json:
        summary = {
            "config": str(report.config),
            "posts": len(report.posts),
            "future_posts": held,
            "expired_posts": expired,
            "drafts": report.drafts,
            "feeds": report.feeds,
            "problems": [str(e) for e in report.problems],
            "warnings": report.warnings,
        }
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    elif not args.quiet:
        print(
            # Counted as build counts them: posts published now, then those held
            # (and those past their expiryDate, which no feed holds).
            f"config ok; {_plural(len(report.posts) - held - expired, 'post')}, {held} scheduled, "
            + (f"{expired} expired, " if expired else "")
            + f"{_plural(report.drafts, 'draft')}, {_plural(report.feeds, 'remote feed')}, "
            f"{_plural(len(report.problems), 'problem')}"
            + (f", {_plural(len(report.warnings), 'warning')}" if report.warnings else "")
        )
    return EXIT_PROBLEMS if report.problems else EXIT_OK


def _check_output(args: argparse.Namespace) -> int:
    """``check --output [DIR]``: the validation gate's rules on a folder's files."""
    from .publish.validate import check_output

    folder = Path(args.output) if args.output else _load(args).output.dir
    try:
        found = check_output(folder)
    except FileNotFoundError as exc:
        _err(f"feedwright: {exc}")
        return EXIT_USAGE
    for problem in found.problems:
        _err(str(problem))
    if args.json:
        data = {
            "folder": str(found.folder),
            "files": found.files,
            "problems": [
                {"path": v.path, "rule": v.rule, "message": v.message} for v in found.problems
            ],
        }
        print(json.dumps(data, ensure_ascii=False, indent=2))
    elif not args.quiet:
        broken = len({v.path for v in found.problems})
        print(f"{_plural(len(found.files), 'file')} checked, {broken} failing")
    return EXIT_PROBLEMS if found.problems else EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from .api import status
    from .statuspage import source_view, status_lines

    rows = status(_load(args))
    if args.json:
        print(json.dumps([source_view(r) for r in rows], ensure_ascii=False, indent=2))
    else:
        print("\n".join(status_lines(rows)) if rows else "no remote feeds configured")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from .starter import init

    created = init(Path(args.dir))
    for path in created:
        print(f"created {path}")
    if not created:
        print(f"{args.dir}: already set up, nothing changed")
    return EXIT_OK


def cmd_import_opml(args: argparse.Namespace) -> int:
    from .subscriptions import import_opml

    config = _load(args)
    count, skipped = import_opml(config.path, Path(args.file), config)
    for line in skipped:
        _err(f"{args.file}: skipped {line}")
    left = f"; {_plural(len(skipped), 'outline')} skipped" if skipped else ""
    print(f"{_plural(count, 'new feed')} added to {config.path}{left}")
    return EXIT_OK


def cmd_export_opml(args: argparse.Namespace) -> int:
    from .subscriptions import export_opml, known

    config = _load(args)
    data = export_opml(config, *known(config))
    if args.output and args.output != "-":
        try:
            Path(args.output).write_bytes(data)
        except OSError as exc:
            raise ConfigError(f"cannot write: {exc.strerror or exc}", path=args.output) from None
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    import signal

    # `systemctl reload` (SIGHUP) as the daemon starts must not end it (SIGHUP's
    # default action, and not a failure systemd restarts): kept until it listens.
    hangups: list[int] = []
    signal.signal(signal.SIGHUP, lambda signum, _frame: hangups.append(signum))
    from .rundaemon import run_daemon

    return run_daemon(
        _load(args),
        offline=args.offline,
        serve=args.serve,
        json_logs=args.json,
        verbose=args.verbose,
        hangups=hangups,
    )


def cmd_worker(args: argparse.Namespace) -> int:
    config = _load(args)
    if config.queue is None:
        raise ConfigError("`queue:` is not set: a worker needs a queue", path=str(config.path))
    from .cluster.worker import run_worker

    return run_worker(config, concurrency=args.concurrency, verbose=args.verbose)


# The subcommands (cliparser.build_parser) and what runs each.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "build": cmd_build,
    "run": cmd_run,
    "worker": cmd_worker,
    "plan": cmd_plan,
    "adopt-ids": cmd_adopt_ids,
    "check": cmd_check,
    "status": cmd_status,
    "init": cmd_init,
    "import-opml": cmd_import_opml,
    "export-opml": cmd_export_opml,
}


# --------------------------------------------------------------------------- errors


def _crash_log(args: argparse.Namespace, details: str) -> str:
    """Write an internal error's details to a file; return where (or why not)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"crash-{stamp}-{os.getpid()}.log"
    folders = []
    config = getattr(args, "config", None)
    if config:
        folders.append(Path(config).absolute().parent / ".feedwright")
    import tempfile

    folders.append(Path(tempfile.gettempdir()))
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / name
            target.write_text(
                f"feedwright {__version__}\ncommand: {sys.argv}\n\n{details}", encoding="utf-8"
            )
            return str(target)
        except OSError:
            continue
    return "nowhere (no writable folder)"


def _verbose_logging() -> tuple[Any, int]:
    """``-v``: each step of ours on stderr (the libraries' own chatter, such as
    httpcore's every socket, stays out) until :func:`_quiet`."""
    import logging

    ours = logging.getLogger("feedwright")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = ours.level
    ours.addHandler(handler)
    ours.setLevel(logging.DEBUG)
    return handler, level


def _quiet(verbose: tuple[Any, int]) -> None:
    import logging

    handler, level = verbose
    ours = logging.getLogger("feedwright")
    ours.removeHandler(handler)
    ours.setLevel(level)


# Commands that keep running: the collector keeps its usual pace in them.
_LONG_LIVED = frozenset({"run", "worker"})


def main(argv: Sequence[str] | None = None, *, own_process: bool = False) -> int:
    """Run one command; its exit code. ``own_process``: this process is the
    command's own (the ``feedwright`` script, ``python -m feedwright.cli``),
    so a one-shot command may tune the interpreter for its short life."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if own_process and args.command not in _LONG_LIVED:
        import gc
        import signal

        signal.signal(signal.SIGTERM, _terminate)

        # A build makes and drops objects for every post in each pass over
        # the posts; the cyclic collector's default pace (every 700
        # allocations) is a measurable share of such a short-lived process
        # (docs/performance.md), for garbage that is mostly not cyclic.
        gc.set_threshold(50_000, 20, 100)
    if args.verbose and args.command != "run":  # the daemon sets up its own logging
        verbose = _verbose_logging()
        try:
            return _main(args)
        finally:
            _quiet(verbose)
    return _main(args)


def _failed(args: argparse.Namespace, code: int, message: str) -> int:
    """Say why the command stopped (stderr; with ``--json`` on stdout too, so
    that a script reading it gets an answer); its exit code."""
    _err(f"feedwright: {message}")
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "exit": code}, ensure_ascii=False))
    return code


def _main(args: argparse.Namespace) -> int:
    try:
        code = COMMANDS[args.command](args)
    except ConfigError as exc:
        return _failed(args, EXIT_USAGE, str(exc))
    except LockError as exc:
        return _failed(args, EXIT_LOCKED, str(exc))
    except IdChangeError as exc:
        return _failed(args, EXIT_IDS, str(exc))
    except FeedwrightError as exc:
        return _failed(args, EXIT_PROBLEMS, str(exc))
    except _Terminated:
        return _failed(args, EXIT_TERMINATED, "terminated (SIGTERM)")
    except KeyboardInterrupt:
        return _failed(args, EXIT_INTERRUPTED, "interrupted")
    except BrokenPipeError:
        # `feedwright status --json | head`: the reader left; not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        import traceback

        details = traceback.format_exc()
        where = _crash_log(args, details)
        if args.verbose:
            _err(details.rstrip())
        return _failed(
            args,
            EXIT_INTERNAL,
            f"internal error in `{args.command}`: {type(exc).__name__}: {exc}"
            f" (a bug; details in {where}; -v shows them)",
        )
    return code


def run() -> None:
    """The ``feedwright`` command."""
    code = main(own_process=True)
    import gc

    # The process ends here. What it made is freed on the way out all the
    # same (reference counts; atexit handlers run), but the cyclic collector
    # need not walk every object once more while the interpreter finalizes:
    # about a tenth of a build that changed nothing (docs/performance.md).
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
