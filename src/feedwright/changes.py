"""The id-change gate: a build never silently changes the ids of many entries.

A changed id is a duplicate to every reader (the entry comes again, unread)
and the old one never goes away. With the id ledger (ledger.py) a post's id
only changes when its front matter sets another ``id``/``guid``; should that
happen to many entries of one feed at once (a bulk edit, a script gone
wrong), the build stops before writing anything::

    refused(plans, changed, config)   the feeds where more than
                                      output.max_id_changes of the entries would
                                      have another id, counting only feeds where
                                      at least MIN_CHANGES would
    gate(...)                         raises IdChangeError naming them (exit 4)

Remote entries do not count: their ids are their feeds' own, and a feed
that renumbers its entries must not stop the site's own posts from being
published (the aggregated copy keeps whatever id its feed gives).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .config import FILENAMES, Config
from .exceptions import IdChangeError
from .model import Planned

MIN_CHANGES = 3  # fewer changed ids than this never stop a build


@dataclass(frozen=True, slots=True)
class Refusal:
    """One feed whose ids would change too much."""

    feed: str  # its first format's file, relative to output.dir (``tech/atom.xml``)
    changed: int
    entries: int


class _Plan(Protocol):  # what the gate reads of a feed's plan (publish.plan.FeedPlan)
    @property
    def slug(self) -> str | None: ...
    @property
    def entries(self) -> Sequence[Planned]: ...


def feed_file(slug: str | None, config: Config) -> str:
    """A feed's name in messages: its first format's file (``tech/atom.xml``)."""
    name = FILENAMES[config.output.formats[0]]
    return f"{slug}/{name}" if slug else name


def too_many(changed: int, entries: int, config: Config) -> bool:
    """Whether ``changed`` of a feed's ``entries`` changing id stops a build."""
    return changed >= MIN_CHANGES and changed > config.output.max_id_changes * entries


def refused(plans: Iterable[_Plan], changed: Mapping[str, str], config: Config) -> list[Refusal]:
    """The feeds of ``plans`` where too many entries would change id
    (``changed``: new id -> the id it was published with)."""
    out: list[Refusal] = []
    if not changed:
        return out
    for plan in plans:
        count = sum(1 for entry in plan.entries if entry.id in changed)
        if too_many(count, len(plan.entries), config):
            out.append(Refusal(feed_file(plan.slug, config), count, len(plan.entries)))
    return out


def gate(plans: Iterable[_Plan], changed: Mapping[str, str], config: Config) -> None:
    """Raise IdChangeError when :func:`refused` names any feed."""
    refusals = refused(plans, changed, config)
    if not refusals:
        return
    each = ", ".join(f"{r.feed} ({r.changed} of {r.entries})" for r in refusals)
    share = f"{config.output.max_id_changes:.0%}"
    raise IdChangeError(
        f"refused to publish: too many entry ids would change in {each}"
        f" (output.max_id_changes: {share}); `feedwright plan` lists them,"
        " `feedwright build --allow-id-changes` publishes them",
        feeds=tuple(r.feed for r in refusals),
    )


def guessed(plans: Iterable[_Plan], posts: Set[str], config: Config) -> dict[str, str]:
    """Id changes told from the published files alone, for a build that has
    neither a ledger nor a state to learn them from (both lost, and perhaps
    ``site.url`` changed: every post would come to readers again under a new
    id). Per feed file (Atom or RSS) as published: the site's own entries
    that would leave it, for good, and as many new ones that would arrive are
    taken for the same entries under new ids (paired newest first, as a feed
    lists them; the gate counts them, ``plan`` shows the pairs). Entries with
    a ``<source>`` are remote: not counted. ``posts``: the id of every post
    there is (one that left a feed for newer ones is no change)."""
    kind = next((f for f in config.output.formats if f in ("atom", "rss")), None)
    if kind is None:
        return {}
    out: dict[str, str] = {}
    for plan in plans:
        slug = plan.slug
        path = Path(config.output.dir, *([slug] if slug else []), FILENAMES[kind])
        before = _own_ids(path, kind)
        if not before:
            continue
        now = [e for e in plan.entries if e.source is None]
        gone = [i for i in before if i not in posts]  # (not merely pushed out by newer ones)
        new = sorted((e for e in now if e.id not in before), key=lambda e: e.published)[::-1]
        out.update(zip((e.id for e in new), gone, strict=False))
    return out


def _own_ids(path: Path, kind: str) -> list[str]:
    """The ids of a published feed file's entries without a ``<source>``,
    newest first as published; [] when there is no such file (or it cannot
    be read)."""
    from lxml import etree

    try:
        data = path.read_bytes()
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except (OSError, etree.XMLSyntaxError):
        return []
    if kind == "atom":
        atom = "{http://www.w3.org/2005/Atom}"
        entries = root.iterfind(f"{atom}entry")
        return [e.findtext(f"{atom}id") or "" for e in entries if e.find(f"{atom}source") is None]
    items = root.iterfind("channel/item")
    return [i.findtext("guid") or "" for i in items if i.find("source") is None]


__all__ = ["MIN_CHANGES", "Refusal", "feed_file", "gate", "guessed", "refused", "too_many"]
