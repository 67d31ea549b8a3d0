"""An episode's audio length, settled before it is published: never a missing length.

For each episode that reaches a feed (``Entry.episode``; its audio is the
first enclosure), the first of::

    a file in the site folder         its size (output.dir's parent, served at
                                      site.url)
    front matter ``length``           as written (a local file not in the
                                      site folder: uploaded on its own)
    a remote URL                      the store's answer from an earlier HEAD;
                                      else a HEAD request now (a GET of one byte,
                                      ``Range: bytes=0-0``, when HEAD says nothing)

An episode whose length cannot be had is a problem (the post, the reason)
and is left out of the feeds until it can: readers never get an enclosure
without a length. Remote lengths learnt are kept in the store; those still
to learn are remembered there too, and tried again by the next build, or by
the daemon's tick (whose builds make no requests) once their time has come;
those no episode needs any more are forgotten (``store.forget_wanted_lengths``
with every build's :attr:`Settled.wanted`).

A local file replaced under the same name (a new size) is a change, as an
edited post is: a build folds each published episode's :func:`audio_stamp`
into its post's hash (so the feeds holding it are made again), and the
build record keeps the stamps (``incremental.unchanged`` compares them).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from .config import Config
from .exceptions import FetchError, PostError
from .model import ENTRY_FIELDS, Enclosure, Entry, Episode

if TYPE_CHECKING:
    from .remote.fetch import Fetcher
    from .store import MediaLength, Store

_RANGE_TOTAL = re.compile(r"^\s*bytes\s+[^/]*/\s*(\d+)\s*$", re.I)


@dataclass(slots=True)
class Settled:
    """Episodes with their lengths, and those held back."""

    entries: dict[str, Entry] = field(default_factory=dict)  # by id: every entry given
    changed: set[str] = field(default_factory=set)  # ids whose length was filled in here
    problems: dict[str, PostError] = field(default_factory=dict)  # by id: held back
    wanted: set[str] = field(default_factory=set)  # remote URLs whose length is still unknown
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # local audio: its stamp


def _length(headers: Mapping[str, str], status: int) -> int | None:
    text = headers.get("content-range", "")
    total = _RANGE_TOTAL.match(text)
    if total:
        return int(total.group(1)) or None
    value = headers.get("content-length", "").strip()
    if status != 206 and value.isdigit():
        return int(value) or None
    return None


async def learn(fetcher: Fetcher, url: str, now: datetime) -> int | str:
    """The length of the remote file at ``url``, or why it cannot be had."""
    reason = "the server gave no length"
    try:
        reply = await fetcher.head(url, now=now)
        found = _length(reply.headers, reply.status)
        if found is not None:
            return found
    except FetchError as exc:
        reason = f"HEAD: {exc.message}"
    try:
        reply = await fetcher.head(url, now=now, method="GET", headers={"Range": "bytes=0-0"})
    except FetchError:
        return reason
    return _length(reply.headers, reply.status) or reason


async def learn_all(
    config: Config, store: Store, urls: Iterable[str], now: datetime, attempts: Mapping[str, int]
) -> dict[str, int | str]:
    """Learn each URL's length (``attempts``: failures so far, for the next
    try's time); every answer is saved in the store."""
    from .remote.fetch import Fetcher, default_user_agent
    from .websub import retry_at

    todo = sorted(set(urls))
    if not todo:
        return {}
    agent = config.fetch.user_agent or default_user_agent(config.site.url)
    async with Fetcher(config.fetch, user_agent=agent) as fetcher:
        answers = await asyncio.gather(*(learn(fetcher, url, now) for url in todo))
    found = dict(zip(todo, answers, strict=True))
    for url, answer in found.items():
        if isinstance(answer, int):
            store.save_media_length(url, answer, None, now)
        else:
            tries = attempts.get(url, 0) + 1
            store.save_media_length(url, None, answer, now, retry_at(tries, now))
    return found


async def learn_due(config: Config, store: Store, now: datetime) -> int:
    """The daemon's turn: learn the wanted lengths whose time has come; how many were learnt."""
    wanted = [w for w in store.wanted_lengths() if w.next_try is None or w.next_try <= now]
    found = await learn_all(
        config, store, (w.url for w in wanted), now, {w.url: w.attempts for w in wanted}
    )
    return sum(1 for answer in found.values() if isinstance(answer, int))


_EPISODE = ENTRY_FIELDS.index("episode")
_FILE = [f.name for f in fields(Episode)].index("file")


def local_audio(values: Sequence[Any]) -> str | None:
    """The audio file (a path in the site folder) of an episode given as
    ``model.to_tuple`` values; None for any other entry."""
    episode = values[_EPISODE]
    return None if episode is None else cast(str | None, episode[_FILE])


def audio_stamp(config: Config, file: str) -> tuple[int, int] | None:
    """A local audio file's (size, mtime_ns); None when it cannot be measured."""
    found = _local(config, file)
    return found if isinstance(found, tuple) else None


def _local(config: Config, file: str) -> tuple[int, int] | str:
    """A file's (size, mtime_ns) in the site folder, or why it has none."""
    root = config.output.served
    path = root / file
    try:
        resolved = path.resolve()
        if not resolved.is_relative_to(root.resolve()):
            return f"{path} leads out of the site folder"
        st = resolved.stat() if resolved.is_file() else None
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if st is None:
        return f"no such file in the site folder: {path}"
    return (st.st_size, st.st_mtime_ns) if st.st_size > 0 else f"{path} is empty"


def settle(
    entries: Iterable[Entry],
    config: Config,
    store: Store,
    now: datetime,
    *,
    network: bool,
    path_of: Callable[[Entry], str],
) -> Settled:
    """Every episode among ``entries`` with its audio's length, or held back
    (a problem naming ``path_of(entry)``); other entries as they are."""
    result = Settled()
    remote: dict[str, list[Entry]] = {}
    for entry in entries:
        result.entries[entry.id] = entry
        episode = entry.episode
        if episode is None or not entry.enclosures:
            continue
        audio = entry.enclosures[0]
        if episode.file is not None:
            # The file's real size wins over a `length:` written once (and
            # stale after the file was re-encoded); that is for a file not here.
            found = _local(config, episode.file)
            if isinstance(found, tuple):
                result.files[episode.file] = found
                if found[0] != audio.length:
                    _fill(result, entry, found[0])
            elif audio.length <= 0:
                result.problems[entry.id] = _held(path_of(entry), f"audio: {found}")
        elif audio.length <= 0:
            remote.setdefault(audio.url, []).append(entry)

    known: dict[str, MediaLength] = store.media_lengths(remote) if remote else {}
    todo = [url for url in remote if known.get(url) is None or known[url].length is None]
    answers: dict[str, int | str] = {}
    if todo and network:
        attempts = {url: known[url].attempts for url in todo if url in known}
        answers = asyncio.run(learn_all(config, store, todo, now, attempts))
    elif todo:
        store.want_lengths(todo, now)
    for url, waiting in remote.items():
        answer: int | str
        if url in answers:
            answer = answers[url]
        elif (row := known.get(url)) is not None and row.length is not None:
            answer = row.length
        else:
            why = row.last_error if row is not None and row.last_error else "not looked up yet"
            answer = f"{why}{'' if network else ' (no requests in this build)'}"
        for entry in waiting:
            if isinstance(answer, int):
                _fill(result, entry, answer)
            else:
                result.wanted.add(url)
                message = f"audio: {url}: its length is unknown ({answer}); give `length:`"
                result.problems[entry.id] = _held(path_of(entry), message)
    return result


def missing_files(
    entries: Iterable[Entry], config: Config, *, path_of: Callable[[Entry], str]
) -> list[PostError]:
    """The episodes among ``entries`` that :func:`settle` would hold back for
    a local audio file it cannot measure (``check``: no store, no requests)."""
    problems = []
    for entry in entries:
        episode = entry.episode
        if episode is None or episode.file is None or not entry.enclosures:
            continue
        found = _local(config, episode.file)
        if isinstance(found, str) and entry.enclosures[0].length <= 0:
            problems.append(_held(path_of(entry), f"audio: {found}"))
    return problems


def _fill(result: Settled, entry: Entry, length: int) -> None:
    audio = entry.enclosures[0]
    enclosures = (Enclosure(audio.url, audio.type, length), *entry.enclosures[1:])
    result.entries[entry.id] = replace(entry, enclosures=enclosures)
    result.changed.add(entry.id)


def _held(path: str, message: str) -> PostError:
    return PostError(f"{message}; left out of the feeds until then", path=path)


__all__ = [
    "Settled",
    "audio_stamp",
    "learn",
    "learn_all",
    "learn_due",
    "local_audio",
    "missing_files",
    "settle",
]
