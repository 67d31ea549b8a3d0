"""The ``feedwright`` command line's grammar: its subcommands, their options and help.

:func:`build_parser` only parses; ``args.command`` names the subcommand, which
``cli.py`` runs (``cli.COMMANDS``), turning its errors into exit codes.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import __version__

DEFAULT_CONFIG = "config.yaml"


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line. Given the arguments it is to parse, only the
    subcommand they name: argparse makes a parser per subcommand and a help
    formatter per option, and looks up each text's translation, and a
    one-shot command should not pay that for the eight it does not run.
    Arguments that name no subcommand get the whole parser, with its help
    and its errors."""
    named = _command_name(argv or ())

    def wanted(name: str) -> bool:
        return named is None or name == named

    parser = argparse.ArgumentParser(
        prog="feedwright",
        description="Publish per-category Atom/RSS feeds from local posts and remote feeds.",
        epilog="Every config.yaml key, its type and default: python -m pydoc feedwright.config",
    )
    parser.add_argument("--version", action="version", version=f"feedwright {__version__}")
    # Before the command too (``feedwright -c site.yaml build``), as git's and
    # hugo's users type it; one given after the command wins.
    parser.add_argument("-c", "--config", default=None, help="config file (default ./config.yaml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str, *, config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        if config:
            # (SUPPRESS: not given here, the value before the command stands)
            p.add_argument(
                "-c",
                "--config",
                default=argparse.SUPPRESS,
                help="config file (default ./config.yaml)",
            )
        p.add_argument(
            "-v", "--verbose", action="store_true", help="log every step; show tracebacks"
        )
        return p

    if wanted("build"):
        p = command("build", "refresh remote feeds, read posts, publish, exit")
        p.add_argument(
            "--offline", action="store_true", help="publish from what is stored; no fetch"
        )
        p.add_argument("--json", action="store_true", help="print a machine-readable summary")
        p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
        p.add_argument(
            "--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for the lock"
        )
        p.add_argument(
            "--refresh",
            nargs="*",
            metavar="URL",
            help="fetch now whatever the schedule says: every feed, or the ones named",
        )
        p.add_argument(
            "--allow-id-changes",
            action="store_true",
            help="publish even when many entry ids would change (output.max_id_changes)",
        )

    if wanted("run"):
        p = command("run", "the daemon: keep every feed current until SIGTERM/SIGINT")
        p.add_argument("--offline", action="store_true", help="never fetch remote feeds")
        p.add_argument("--json", action="store_true", help="log JSON lines instead of text")
        p.add_argument(
            "--serve", metavar="HOST:PORT", help="also serve the output folder over HTTP"
        )

    if wanted("worker"):
        p = command("worker", "refresh the batches `run` sends through `queue:` (docs/scale.md)")
        p.add_argument(
            "--concurrency", type=int, default=4, metavar="N", help="batches at once (default 4)"
        )

    if wanted("plan"):
        p = command("plan", "what the next build would publish, per feed; writes nothing")
        p.add_argument("--json", action="store_true", help="print a machine-readable summary")
        p.add_argument("--fetch", action="store_true", help="refresh due remote feeds first")

    if wanted("adopt-ids"):
        p = command(
            "adopt-ids",
            "publish posts under the ids an old feed (Jekyll, Hexo, Hugo) gave them (docs/ids.md)",
        )
        p.add_argument("feeds", nargs="+", metavar="FEED", help="an old feed: a file or a URL")
        p.add_argument("--dry-run", action="store_true", help="say what it would do; write nothing")
        p.add_argument("--json", action="store_true", help="print a machine-readable summary")

    if wanted("check"):
        p = command("check", "validate config and every post; writes nothing")
        p.add_argument(
            "--output",
            nargs="?",
            const="",
            metavar="DIR",
            help="instead: check the feeds in DIR (default: output.dir)"
            " with the publish gate's rules",
        )
        p.add_argument("--json", action="store_true", help="print a machine-readable summary")
        p.add_argument("-q", "--quiet", action="store_true", help="print problems only")

    if wanted("status"):
        p = command(
            "status",
            "each remote source: last fetch, result, errors, next due, entries, what fetching cost",
        )
        p.add_argument("--json", action="store_true", help="print JSON")

    if wanted("init"):
        p = command("init", "create a starter config.yaml, posts/ and feeds/", config=False)
        p.add_argument("dir", nargs="?", default=".", help="folder to set up (default: here)")

    if wanted("import-opml"):
        p = command("import-opml", "add the feeds of an OPML file to config.yaml")
        p.add_argument("file", help="an OPML file")

    if wanted("export-opml"):
        p = command("export-opml", "print the configured remote feeds as OPML")
        p.add_argument("-o", "--output", help="write to this file instead of stdout")

    if named is not None and named not in sub.choices:  # a typo: the whole list
        return build_parser()
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """``argv`` parsed (``args.command``, its options); a usage error exits 2."""
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.config is None:
        args.config = DEFAULT_CONFIG
    elif args.command == "init":
        parser.error("init makes a folder's config.yaml: feedwright init [DIR], without -c")
    return args


def _command_name(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names, past a leading ``-c FILE``; None when
    it names none (``--help``, ``--version``, nothing)."""
    at = 0
    while at < len(argv):
        word = argv[at]
        if word in ("-c", "--config"):
            at += 2
        elif word.startswith("--config=") or (word.startswith("-c") and word != "-c"):
            at += 1
        else:
            return None if word.startswith("-") else word
    return None


__all__ = ["DEFAULT_CONFIG", "build_parser", "parse_args"]
