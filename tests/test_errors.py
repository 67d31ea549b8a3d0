"""Every error feedwright raises crosses a process boundary intact (pickle)."""

from __future__ import annotations

import inspect
import pickle
from datetime import UTC, datetime

import pytest

import feedwright.exceptions as exceptions
from feedwright.exceptions import FeedwrightError

SAMPLES: dict[str, dict[str, object]] = {
    "ConfigError": {"key": "site.url", "line": 3, "path": "/srv/config.yaml"},
    "LockError": {"path": "/srv/feeds/.feedwright.lock"},
    "IdChangeError": {"feeds": ("atom.xml", "tech/atom.xml")},
    "PostError": {"path": "posts/a.md"},
    "SourceError": {"url": "https://example.org/feed"},
    "FetchError": {"url": "https://example.org/feed", "status": 500},
    "GoneError": {"url": "https://example.org/feed", "status": 410},
    "RateLimitedError": {
        "url": "https://example.org/feed",
        "status": 503,
        "retry_after": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    },
    "TooLargeError": {"url": "https://example.org/feed", "status": 200},
    "ParseError": {"url": "https://example.org/feed"},
    "StoreError": {"path": "/srv/.feedwright/state.db"},
    "ClockError": {"now": datetime(3001, 1, 1, tzinfo=UTC)},
    "PublishError": {"path": "/srv/feeds/atom.xml"},
    "FeedwrightError": {},
}


def _error_classes() -> list[type[FeedwrightError]]:
    return [
        cls
        for _, cls in inspect.getmembers(exceptions, inspect.isclass)
        if issubclass(cls, FeedwrightError)
    ]


def test_every_error_class_has_a_sample() -> None:
    assert sorted(c.__name__ for c in _error_classes()) == sorted(SAMPLES)


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_error_pickles_to_an_equal_error(cls: type[FeedwrightError]) -> None:
    error = cls("something went wrong", **SAMPLES[cls.__name__])  # type: ignore[arg-type]
    back = pickle.loads(pickle.dumps(error, protocol=pickle.HIGHEST_PROTOCOL))
    assert type(back) is cls
    assert back == error
    assert str(back) == str(error)
    assert vars(back) == vars(error)


def test_every_report_type_pickles(tmp_path: object, http_server: object) -> None:
    # Reports cross process boundaries as values too: each one, made for real.
    from pathlib import Path

    import feedwright

    site = Path(str(tmp_path))
    (site / "posts").mkdir()
    (site / "posts" / "a.md").write_text(
        "---\ntitle: A\ndate: 2024-01-01\ncategories: [x]\n---\nhi"
    )
    (site / "posts" / "bad.md").write_text("---\ntitle: [unclosed\n---\n")
    rss = (
        b'<rss version="2.0"><channel><title>W</title><item><title>T</title>'
        b"<link>https://w.example/1</link></item></channel></rss>"
    )
    good = http_server.route("/f.xml", body=rss, headers={"Content-Type": "text/xml"})  # type: ignore[attr-defined]
    bad = http_server.route("/gone.xml", status=410)  # type: ignore[attr-defined]
    hub = http_server.route("/hub", status=500)  # type: ignore[attr-defined]
    (site / "config.yaml").write_text(
        "site:\n  title: S\n  url: https://s.example/\n"
        f"sources:\n  - posts: posts\n  - feed: {good}\n  - feed: {bad}\n"
        f"websub:\n  hub: {hub}\n"  # a failing hub: its pings are in the build's report
    )
    reports: list[object] = [
        feedwright.build(site / "config.yaml"),
        feedwright.build(site / "config.yaml", offline=True),  # the no-change report
        feedwright.check(site / "config.yaml"),
        *feedwright.status(site / "config.yaml"),
        feedwright.parse_feed(rss, url=good),
        feedwright.fetch_feed(good),
    ]
    assert reports[0].pings and reports[0].pings[0].error  # type: ignore[attr-defined]
    for report in reports:
        back = pickle.loads(pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL))
        assert type(back) is type(report)
        assert back == report
