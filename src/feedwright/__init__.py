"""feedwright: local posts and remote feeds in, per-category Atom/RSS out.

The Python API (see ``docs/api.md``)::

    import feedwright

    config = feedwright.load_config("config.yaml")
    report = feedwright.build(config)             # refresh, read, publish
    for problem in report.problems:
        print(problem)
    feedwright.check(config)                      # read everything, write nothing
    feedwright.check_output("feeds")              # the publish gate's rules on a folder
    feedwright.plan(config)                       # what the next build would publish
    feedwright.status(config)                     # each remote source's state
    feedwright.read_post("posts/a.md", config)    # one post as an Entry
    feedwright.parse_feed(data, url=url)          # one fetched feed as entries
    feedwright.fetch_feed(url, config)            # one feed fetched as build does
    feedwright.adopt_ids(config, ["old/atom.xml"]) # keep the ids an old feed gave the posts

Names are imported on first use, so ``import feedwright`` costs nothing.
"""

from __future__ import annotations

import functools
import hashlib
import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import (
        AdoptReport,
        BuildReport,
        CheckReport,
        FetchResponse,
        ParsedFeed,
        SourceStatus,
        adopt_ids,
        build,
        check,
        check_output,
        fetch_feed,
        load_config,
        parse_feed,
        plan,
        read_post,
        status,
    )
    from .config import Config
    from .exceptions import (
        ClockError,
        ConfigError,
        FeedwrightError,
        FetchError,
        GoneError,
        IdChangeError,
        LockError,
        ParseError,
        PostError,
        PublishError,
        RateLimitedError,
        SourceError,
        StoreError,
        TooLargeError,
    )
    from .model import Alternate, Body, Enclosure, Entry, Episode, Person, Provenance
    from .preview import EntryChange, FeedPreview, Plan
    from .publish.validate import OutputCheck, Violation
    from .report import FeedSummary, PublishSummary
    from .update import SourceResult

# Where each public name lives; imported on first use.
_HOMES = {
    **dict.fromkeys(
        ["BuildReport", "CheckReport", "ParsedFeed", "SourceStatus", "build", "check"], ".api"
    ),
    **dict.fromkeys(["load_config", "parse_feed", "plan", "read_post", "status"], ".api"),
    **dict.fromkeys(["FetchResponse", "check_output", "fetch_feed"], ".api"),
    **dict.fromkeys(["AdoptReport", "adopt_ids"], ".api"),
    **dict.fromkeys(["GoneError", "RateLimitedError", "TooLargeError"], ".exceptions"),
    **dict.fromkeys(
        ["Alternate", "Body", "Enclosure", "Entry", "Episode", "Person", "Provenance"], ".model"
    ),
    **dict.fromkeys(
        ["ClockError", "ConfigError", "FeedwrightError", "FetchError", "IdChangeError"],
        ".exceptions",
    ),
    **dict.fromkeys(
        ["LockError", "ParseError", "PostError", "PublishError", "SourceError", "StoreError"],
        ".exceptions",
    ),
    **dict.fromkeys(["EntryChange", "FeedPreview", "Plan"], ".preview"),
    **dict.fromkeys(["OutputCheck", "Violation"], ".publish.validate"),
    **dict.fromkeys(["FeedSummary", "PublishSummary"], ".report"),
    "SourceResult": ".update",
    "Config": ".config",
}

if not TYPE_CHECKING:  # (type checkers see the imports above: a typo is an error)

    def __getattr__(name: str) -> Any:
        home = _HOMES.get(name)
        if home is not None:
            import importlib

            return getattr(importlib.import_module(home, __name__), name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


@functools.cache
def build_id() -> str:
    """The version plus a stamp of the installed code: what caches are keyed by.

    An upgrade (or, in a checkout, an edit to the code) must never reuse
    cached posts or skip a feed rendered by other code.
    """
    h = hashlib.sha256(__version__.encode())
    root = os.path.dirname(os.path.abspath(__file__))
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                h.update(f"{folder[len(root) :]}/{name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return f"{__version__}+{h.hexdigest()[:12]}"


__all__ = [
    "AdoptReport",
    "Alternate",
    "Body",
    "BuildReport",
    "CheckReport",
    "ClockError",
    "Config",
    "ConfigError",
    "Enclosure",
    "Entry",
    "EntryChange",
    "Episode",
    "FeedPreview",
    "FeedSummary",
    "FeedwrightError",
    "FetchError",
    "FetchResponse",
    "GoneError",
    "IdChangeError",
    "LockError",
    "OutputCheck",
    "ParseError",
    "ParsedFeed",
    "Person",
    "Plan",
    "PostError",
    "Provenance",
    "PublishError",
    "PublishSummary",
    "RateLimitedError",
    "SourceError",
    "SourceResult",
    "SourceStatus",
    "StoreError",
    "TooLargeError",
    "Violation",
    "__version__",
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
