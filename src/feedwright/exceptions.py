"""One exception tree for the whole library.

Every error carries the thing it is about (a path, a URL, a config key) so
that ``str(err)`` alone is a useful line for a user::

    FeedwrightError
     ├── ConfigError            bad config.yaml: .key, .line          (exit 2)
     ├── LockError              another build/daemon holds the output (exit 3)
     ├── IdChangeError          too many entry ids would change       (exit 4)
     ├── ClockError             the clock is outside the years feeds may carry: .now
     ├── PostError              one local post cannot be read: .path
     ├── SourceError            one remote source failed: .url
     │    ├── FetchError        network / HTTP trouble: .status
     │    │    ├── GoneError         410 Gone: stop polling
     │    │    ├── RateLimitedError  429/503 with Retry-After: .retry_after
     │    │    └── TooLargeError     body over fetch.max_bytes
     │    └── ParseError        bytes that are not a feed
     ├── StoreError             the state store is unusable: .path
     └── PublishError           an output file cannot be written: .path

Per-item failures (PostError, SourceError) are *values* in results, never
exceptions that stop a batch; only ConfigError, LockError, IdChangeError,
ClockError, StoreError and PublishError end a run.

Every class pickles and unpickles to an equal error (message and attributes):
errors cross process boundaries as values (``feedwright.parallel``).
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any


def _rebuild(cls: type[FeedwrightError], message: str, state: dict[str, Any]) -> FeedwrightError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


def _shown(path: str) -> str:
    """A path as a person can read it: a file name in no UTF-8 (a system in
    another encoding named it) shows its bytes, ``caf\\xe9.md``, not the
    lone surrogates Python holds them as (``caf\\udce9.md``)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


class FeedwrightError(Exception):
    """Base of every error feedwright raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # The default reduction calls ``cls(*args)``, which fails for every
        # subclass with keyword-only arguments: rebuild from the attributes.
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self), self.message))


class ConfigError(FeedwrightError):
    """config.yaml is unreadable or invalid; names the key and, if known, the line."""

    def __init__(
        self, message: str, *, key: str | None = None, line: int | None = None, path: str = ""
    ) -> None:
        super().__init__(message)
        self.key = key
        self.line = line
        self.path = path

    def __str__(self) -> str:
        where = _shown(self.path) or "config"
        if self.line is not None:
            where += f":{self.line}"
        if self.key:
            return f"{where}: {self.key}: {self.message}"
        return f"{where}: {self.message}"


class LockError(FeedwrightError):
    """The output folder is locked by another build or daemon."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return f"{_shown(self.path)}: {self.message}"


class IdChangeError(FeedwrightError):
    """Publishing would change the ids of too many entries of some feeds."""

    def __init__(self, message: str, *, feeds: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.feeds = feeds


class PostError(FeedwrightError):
    """A local post that cannot be read or understood."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return f"{_shown(self.path)}: {self.message}"


class SourceError(FeedwrightError):
    """A remote source that could not be refreshed."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url

    def __str__(self) -> str:
        return f"{self.url}: {self.message}"


class FetchError(SourceError):
    """The HTTP exchange failed (network error, bad status, limits)."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retry_after: datetime | None = None,
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        # When the server asked to be tried again (a 503 or 429 with
        # Retry-After); None: our own backoff decides.
        self.retry_after = retry_after


class GoneError(FetchError):
    """410 Gone: the source is not polled again until the config changes."""


class RateLimitedError(FetchError):
    """429/503: the server asked us to come back later."""


class TooLargeError(FetchError):
    """The (decoded) body exceeded fetch.max_bytes."""


class ParseError(SourceError):
    """The body is not a feed we can read."""


class ClockError(FeedwrightError):
    """The clock (a build's ``now``) is outside the years an entry may carry:
    every date taken from it would fail the publish gate, so nothing is
    fetched, stored or published until it is right."""

    def __init__(self, message: str, *, now: datetime) -> None:
        super().__init__(message)
        self.now = now


class StoreError(FeedwrightError):
    """The state store cannot be opened, migrated or written."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return f"{_shown(self.path)}: {self.message}"


class PublishError(FeedwrightError):
    """An output file could not be written."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return f"{_shown(self.path)}: {self.message}"


__all__ = [
    "ClockError",
    "ConfigError",
    "FeedwrightError",
    "FetchError",
    "GoneError",
    "IdChangeError",
    "LockError",
    "ParseError",
    "PostError",
    "PublishError",
    "RateLimitedError",
    "SourceError",
    "StoreError",
    "TooLargeError",
]
