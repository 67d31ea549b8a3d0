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
