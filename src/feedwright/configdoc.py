"""Reading a YAML config document: where each key sits, typed getters, value converters.

config.py declares the keys; this module knows how to read and check one value
and how to name the key and line of a mistake (:class:`Doc`, :class:`Section`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

from .exceptions import ConfigError
from .schedule import parse_duration, parse_size, seconds_duration

if TYPE_CHECKING:
    import yaml

T = TypeVar("T")
_MISSING = object()

# A path a config names, as the disk made it: as written, as resolved, and
# whether it is a folder. A config parsed earlier holds while its facts do.
PathFact = tuple[str, str, bool]


def path_fact(path: Path) -> PathFact:
    """What the disk makes of ``path`` now (symlinks followed)."""
    real = path.resolve()
    return str(path), str(real), real.is_dir()


# No real config comes near this many values; aliases can multiply a small
# text past it (each alias walked again where it is used).
MAX_CONFIG_NODES = 100_000


class Doc:
    """The parsed YAML plus where each key sits, for errors that name the line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines: dict[str, int] = {}
        # What the config's meaning took from the disk: each path it made
        # real (incremental.configcache keeps a parse while these hold).
        self.facts: list[PathFact] = []
        import yaml

        try:
            # Parse once: the node tree gives the line numbers, then the values.
            loader = yaml.SafeLoader(text)
            try:
                node = loader.get_single_node()
                if node is not None:
                    # (Before construction, which folds `<<:` merges into the node tree.)
                    self._visits = 0
                    self._index(node, "")
                self.data: Any = None if node is None else loader.construct_document(node)
            finally:
                loader.dispose()
        except yaml.YAMLError as exc:
            from .yamlwords import yaml_problem

            problem, mark = yaml_problem(exc)
            line = mark.line + 1 if mark is not None else None
            raise ConfigError(f"not valid YAML: {problem}", line=line, path=str(path)) from None
        except RecursionError:  # the YAML reader and the indexing recurse per level
            raise ConfigError(
                "lists or mappings nested too deep to read: not a config", path=str(path)
            ) from None

    def resolve(self, path: Path, key: str) -> Path:
        """``path`` made absolute and real (symlinks followed), noted in :attr:`facts`;
        a path no system call takes (a name too long, a NUL byte) is a mistake
        of ``key``."""
        try:
            fact = path_fact(path)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise self.error(key, f"not a usable path ({reason.lower()}): {str(path)!r}") from None
        self.facts.append(fact)
        return Path(fact[1])

    def _index(self, node: yaml.Node, prefix: str) -> None:
        import yaml

        self._visits += 1
        if self._visits > MAX_CONFIG_NODES:
            raise ConfigError(
                f"more than {MAX_CONFIG_NODES:,} values once its aliases are expanded:"
                " not a config (an alias bomb?)",
                path=str(self.path),
            )
        if isinstance(node, yaml.MappingNode):
            here: set[str] = set()
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *defaults`: keys written here win over the merged ones
                key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in here:
                    # YAML wants a mapping's keys unique; PyYAML keeps the last silently.
                    raise ConfigError(
                        f"written twice (lines {self.lines[key]} and {line}): keep one",
                        key=key,
                        line=line,
                        path=str(self.path),
                    )
                here.add(key)
                self.lines[key] = line
                self._index(value_node, key)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                key = f"{prefix}[{i}]"
                self.lines[key] = item.start_mark.line + 1
                self._index(item, key)

    def error(self, key: str, message: str) -> ConfigError:
        line = self.lines.get(key)
        if line is None and "." in key:
            line = self.lines.get(key.rsplit(".", 1)[0])
        return ConfigError(message, key=key, line=line, path=str(self.path))


class Section:
    """One mapping of the config: typed getters that remember which keys were read."""

    def __init__(self, doc: Doc, key: str, value: object) -> None:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise doc.error(key or "config", "must be a mapping of keys to values")
        self.doc, self.key, self.value = doc, key, value
        self.seen: set[str] = set()

    def path(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def get(self, name: str, convert: Callable[[Any], T], default: T) -> T:
        self.seen.add(name)
        raw = self.value.get(name, _MISSING)
        if raw is _MISSING or raw is None:
            return default
        try:
            return convert(raw)
        except (TypeError, ValueError) as exc:
            raise self.doc.error(self.path(name), str(exc)) from None

    def require(self, name: str, convert: Callable[[Any], T]) -> T:
        if self.value.get(name) is None:
            self.seen.add(name)
            raise self.doc.error(self.path(name), "is required")
        return self.get(name, convert, cast(T, None))

    def section(self, name: str) -> Section:
        self.seen.add(name)
        return Section(self.doc, self.path(name), self.value.get(name))

    def finish(self) -> None:
        for name in self.value:
            if name not in self.seen:
                raise self.doc.error(
                    self.path(str(name)), "unknown key" + did_you_mean(str(name), self.seen)
                )


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean `title`?)`` for a near miss of a known key, else ``""``."""
    import difflib

    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def string(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"must be a string, got {value!r}")
    return str(value)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def whole(minimum: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be a whole number >= {minimum}, got {value!r}")
        return value

    return convert


def str_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise ValueError(f"must be a list of strings, got {value!r}")
    return tuple(string(v) for v in value)


def name_list(value: Any) -> tuple[str, ...]:
    """Category names: a list, or one name written alone. One text holding
    commas is a list written as text (a post's ``categories:`` would be
    split there): an error saying how to write it, not one odd category."""
    if isinstance(value, str) and any(mark in value for mark in ",，、"):
        names = [n.strip() for n in value.replace("，", ",").replace("、", ",").split(",")]
        listed = ", ".join(n for n in names if n)
        raise ValueError(f"{value!r} would be one category with commas: write a list, [{listed}]")
    return str_list(value)


def duration(value: Any) -> timedelta:
    """A timeout or an interval: more than zero, however it is written (a bare
    number is seconds)."""
    if isinstance(value, bool):
        raise ValueError(f"must be a duration like 30s, 15m, 2h or 1d, got {value!r}")
    if isinstance(value, int | float):
        return seconds_duration(value, value)
    return parse_duration(string(value))


def duration_or_zero(value: Any) -> timedelta:
    """A duration where ``0`` means "none" (``output.tombstones``)."""
    if not isinstance(value, bool) and value in (0, "0"):
        return timedelta(0)
    return duration(value)


def size(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"must be a size like 500KB or 10MB, got {value!r}")
    return parse_size(value if isinstance(value, int) else string(value))


def url(value: Any) -> str:
    text = string(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an absolute http(s) URL, got {text!r}")
    return text


def choice(*choices: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}; got {value!r}")
        return cast(str, value)

    return convert


def timezone(value: Any) -> str:
    import zoneinfo  # (only when a config file is parsed, not when it comes from the cache)

    name = string(value)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like Asia/Shanghai)"
        ) from None
    return name


def any_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number, got {value!r}")
    return value


def fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"must be a number between 0 and 1, got {value!r}")
    return float(value)


def share(value: Any) -> float:
    """A share: ``20%`` or a number between 0 and 1."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            number = float(value.strip()[:-1])
        except ValueError:
            raise ValueError(f"must be a percentage such as 20%, got {value!r}") from None
        if not 0 <= number <= 100:
            raise ValueError(f"must be between 0% and 100%, got {value!r}")
        return number / 100
    try:
        return fraction(value)
    except ValueError:
        message = f"must be a percentage (20%) or a number between 0 and 1, got {value!r}"
        raise ValueError(message) from None


def url_list(value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(url(v) for v in str_list(value)))
