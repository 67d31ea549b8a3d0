"""config.yaml, declared once: every key with its type, default and check.

``load(path)`` reads the file, validates every key (unknown keys are errors
naming the key and its line) and returns a frozen :class:`Config`. Relative
paths resolve against the config file's folder. Nothing else in the library
reads the YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from .model import Person

Format = Literal["atom", "rss", "json"]


@dataclass(frozen=True, slots=True)
class Site:
    title: str
    url: str  # always ends with "/"
    description: str = ""
    author: Person | None = None
    language: str | None = None
    timezone: str = "UTC"  # IANA name; zone for dates written without one


@dataclass(frozen=True, slots=True)
class PostsSource:
    path: Path  # absolute
    permalink: str | None = None  # e.g. "{year}/{month}/{day}/{slug}/"
    categories: tuple[str, ...] = ()  # added to every post of this folder

    @property
    def key(self) -> str:
        return f"posts:{self.path}"


@dataclass(frozen=True, slots=True)
class FeedSource:
    url: str
    title: str | None = None
    categories: tuple[str, ...] = ()
    category_map: Mapping[str, str | None] = field(default_factory=dict)
    keep_categories: bool = True
    every: timedelta | None = None  # None: schedule.every

    @property
    def key(self) -> str:
        return self.url


Source = PostsSource | FeedSource


@dataclass(frozen=True, slots=True)
class Output:
    dir: Path  # absolute
    formats: tuple[Format, ...] = ("atom", "rss")
    limit: int = 50  # 0 = every entry
    content: Literal["full", "summary"] = "full"
    categories: Literal["all"] | tuple[str, ...] = "all"
    slugs: Literal["unicode", "ascii"] = "unicode"
    rename: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Fetch:
    timeout: timedelta = timedelta(seconds=20)
    max_bytes: int = 10 * 1000 * 1000
    concurrency: int = 32
    user_agent: str | None = None  # None: "feedwright/<version> (+site.url)"


@dataclass(frozen=True, slots=True)
class Schedule:
    every: timedelta = timedelta(hours=1)
    jitter: float = 0.1  # fraction of the interval, spread deterministically per feed


@dataclass(frozen=True, slots=True)
class Config:
    path: Path  # the config file, absolute
    site: Site
    sources: tuple[Source, ...] = ()
    output: Output = field(default_factory=lambda: Output(dir=Path("feeds").absolute()))
    fetch: Fetch = field(default_factory=Fetch)
    schedule: Schedule = field(default_factory=Schedule)
    state: Path = Path(".feedwright/state.db")  # absolute after load()
    retention: int = 1000  # entries kept per remote source in the store; 0 = all

    @property
    def posts_sources(self) -> tuple[PostsSource, ...]:
        return tuple(s for s in self.sources if isinstance(s, PostsSource))

    @property
    def feed_sources(self) -> tuple[FeedSource, ...]:
        return tuple(s for s in self.sources if isinstance(s, FeedSource))
