"""Per-source filters: which of a remote feed's entries are published.

``filters: {include: [...], exclude: [...]}`` on a ``feed:`` source. A rule
is a regular expression, matched case-insensitively against the entry's
title and text, or ``{field: title|content|category|author|link, match:
REGEX}`` for one field. An entry is kept when it matches any include rule
(or there are none) and no exclude rule::

    filters:
      include: [python, {field: category, match: "^rust$"}]
      exclude: [{field: title, match: sponsored}]

Filtered entries stay in the store (a changed filter applies at the next
build, without a fetch), are never published, and are counted by
``feedwright status``. Pure functions; patterns are checked when the config
is loaded (a bad one is a ConfigError naming the key and line).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

Field = Literal["text", "title", "content", "category", "author", "link"]
FIELDS: tuple[str, ...] = ("title", "content", "category", "author", "link")

_TAGS = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class Rule:
    match: str  # the regular expression, as written
    field: Field = "text"  # text: the title and the content (or summary)


@dataclass(frozen=True, slots=True)
class Filters:
    include: tuple[Rule, ...] = ()
    exclude: tuple[Rule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)


@functools.lru_cache(maxsize=1024)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def rule(value: Any) -> Rule:
    """A rule from its config value; ValueError saying what is wrong."""
    if isinstance(value, dict):
        unknown = set(value) - {"field", "match"}
        if unknown:
            raise ValueError(f"unknown key {sorted(map(str, unknown))[0]!r} in a rule")
        field, pattern = value.get("field"), value.get("match")
        if field not in FIELDS:
            raise ValueError(f"field must be one of {', '.join(FIELDS)}; got {field!r}")
    else:
        field, pattern = "text", value
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"a rule is a regular expression or {{field, match}}; got {value!r}")
    try:
        compiled(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {pattern!r} ({exc})") from None
    return Rule(pattern, cast(Field, field))


def values(entry: Any, field: Field) -> Iterable[str]:
    """The texts of ``entry`` a rule on ``field`` looks at."""
    if field in ("text", "title"):
        yield entry.title or ""
    if field in ("text", "content"):
        text = entry.content or entry.summary or ""
        yield _TAGS.sub(" ", text) if "<" in text else text
    if field == "category":
        yield from entry.categories
    elif field == "author":
        yield from (p.name for p in entry.authors)
    elif field == "link":
        yield entry.link or ""


def matches(entry: Any, r: Rule) -> bool:
    pattern = compiled(r.match)
    return any(pattern.search(text) for text in values(entry, r.field))


def keep(entry: Any, filters: Filters) -> bool:
    """Whether ``entry`` passes ``filters``."""
    if filters.include and not any(matches(entry, r) for r in filters.include):
        return False
    return not any(matches(entry, r) for r in filters.exclude)


__all__ = ["FIELDS", "Filters", "Rule", "compiled", "keep", "matches", "rule"]
