"""The daemon's live config reload: when ``config.yaml`` changes, or on SIGHUP.

:func:`stamp` is what the daemon compares on every tick (the file's size,
mtime and inode: an editor that replaces the file is seen too);
:func:`reload` reads the file again and says what to do::

    invalid (ConfigError)          -> keep the config in force; the error names key and line
    output.dir or state changed    -> keep it too: the daemon holds that output's lock
                                      and store (restart to move them)
    otherwise                      -> the new config; sources removed from it leave
                                      the store and the feeds at the next publish
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .config import Config, load
from .exceptions import ConfigError

Stamp = tuple[int, int, int] | None


def stamp(config: Config) -> Stamp:
    """The config file's (size, mtime_ns, inode); None when it cannot be seen."""
    try:
        st = os.stat(config.path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass(frozen=True, slots=True)
class Reloaded:
    config: Config | None  # the config to run from now on; None: keep the old one
    message: str  # one line for the log
    error: ConfigError | None = None


def reload(current: Config) -> Reloaded:
    """Read ``current.path`` again (see the module docstring)."""
    try:
        new = load(current.path)
    except ConfigError as exc:
        if not current.path.exists():  # (load's hint, `feedwright init`, would replace it)
            return Reloaded(
                None,
                f"config not reloaded, the old one keeps running: {current.path}: no such file"
                " (moved or deleted?); it is read again once it is back",
                exc,
            )
        return Reloaded(None, f"config not reloaded, the old one keeps running: {exc}", exc)
    for what, old_value, new_value in (
        ("output.dir", current.output.dir, new.output.dir),
        ("state", current.state, new.state),
    ):
        if old_value != new_value:
            return Reloaded(
                None,
                f"config not reloaded: {what} changed ({old_value} -> {new_value});"
                " restart feedwright to move it; the old config keeps running",
            )
    if new == current:
        return Reloaded(new, "config reloaded: nothing changed")
    return Reloaded(new, "config reloaded: " + describe(current, new))


def describe(old: Config, new: Config) -> str:
    """``2 sources added, 1 removed, settings changed`` between two configs."""
    before = {s.key for s in old.sources}
    after = {s.key for s in new.sources}
    said = []
    if added := len(after - before):
        said.append(f"{added} source{'s' if added != 1 else ''} added")
    if removed := len(before - after):
        said.append(f"{removed} source{'s' if removed != 1 else ''} removed")
    same_sources = [s for s in new.sources if s.key in before]
    if same_sources != [s for s in old.sources if s.key in after] or (
        (old.site, old.output, old.fetch, old.schedule, old.retention)
        != (new.site, new.output, new.fetch, new.schedule, new.retention)
    ):
        said.append("settings changed")
    return ", ".join(said) or "sources reordered"


__all__ = ["Reloaded", "Stamp", "describe", "reload", "stamp"]
