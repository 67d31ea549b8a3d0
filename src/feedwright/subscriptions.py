"""Subscriptions in and out as OPML (``import-opml`` / ``export-opml``).

Import edits config.yaml *as text*: new ``- feed:`` items are inserted at the
end of the ``sources:`` list so the user's comments and layout survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import quoteattr

import yaml
from lxml import etree

from .config import Config
from .configdoc import url as config_url
from .configsources import same_address
from .exceptions import ConfigError


@dataclass(frozen=True, slots=True)
class Subscription:
    url: str
    title: str | None = None
    categories: tuple[str, ...] = ()


class Imported(NamedTuple):
    """What an OPML file gave: its feeds, and the outlines left out (each a line)."""

    feeds: list[Subscription]
    skipped: list[str]


def parse_opml(data: bytes, *, path: str) -> Imported:
    """Every ``outline`` with an ``xmlUrl`` (in any case; ``url`` on a
    ``type="rss"`` one); enclosing outlines' titles become categories. An
    address that is not http(s), and an outline with neither children nor a
    feed address, are left out, and said."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"not an OPML file: {exc}", path=path) from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError("not an OPML file: no <opml><body>", path=path)
    found: dict[str, Subscription] = {}  # by URL: a feed in two folders is in both categories
    skipped: list[str] = []

    def walk(node: etree._Element, folders: tuple[str, ...]) -> None:
        for outline in node.iterfind("outline"):
            # Exporters spell it xmlUrl, xmlurl, xmlURL; a few write url= on type="rss".
            attrs = {str(k).lower(): v for k, v in outline.attrib.items()}
            kind = (attrs.get("type") or "").strip().lower()
            url = (attrs.get("xmlurl") or "").strip()
            if not url and kind in ("rss", "atom"):
                url = (attrs.get("url") or "").strip()
            if url[:5].lower() == "feed:":  # feed://host/x and feed:https://host/x
                rest = url[5:]
                url = rest if rest.lower().startswith(("http://", "https://")) else "http:" + rest
            title = (outline.get("title") or outline.get("text") or "").strip()
            if url and not _feed_url(url):
                skipped.append(f"{url}: not an http(s) address (outline {title or url!r})")
            elif url:
                # OPML 2.0: category="a,b" (slash paths name a hierarchy: keep the leaf)
                tagged = [
                    c.strip().rsplit("/", 1)[-1] for c in (outline.get("category") or "").split(",")
                ]
                cats = (*folders, *(c for c in tagged if c))
                same = same_address(url)
                if same in found:  # listed again (another folder): one feed, both categories
                    first = found[same]
                    merged = tuple(dict.fromkeys([*first.categories, *cats]))
                    found[same] = Subscription(first.url, first.title, merged)
                    continue
                # A title that is only the URL (what many exporters write) is no title.
                named = title if title and title != url else None
                found[same] = Subscription(url, named, tuple(dict.fromkeys(cats)))
            elif outline.find("outline") is not None:
                walk(outline, (*folders, title) if title else folders)
            else:  # a leaf that names no feed: said, not dropped unsaid
                what = f"outline {title!r}" if title else "an outline without a title"
                skipped.append(f"{what}: no xmlUrl, not a feed subscription")

    walk(body, ())
    return Imported(list(found.values()), skipped)


def _feed_url(url: str) -> bool:
    """Whether config.yaml takes ``url`` as a ``feed:`` (written there, one it
    refuses would leave the config unreadable)."""
    try:
        config_url(url)
    except ValueError:  # not http(s), no host, a broken [IPv6] host
        return False
    return True


def add_to_config(text: str, subs: list[Subscription], existing: set[str]) -> tuple[str, int]:
    """Insert ``subs`` not in ``existing`` at the end of the config's ``sources:`` list."""
    new = [s for s in subs if same_address(s.url) not in existing]
    if not new:
        return text, 0
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    sources = None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "sources":
                sources = value
    if sources is None or (isinstance(sources, yaml.ScalarNode) and not sources.value):
        if sources is not None:
            raise ConfigError(
                "sources: is empty; write `sources:` on a line of its own", key="sources"
            )
        sep = "" if text.endswith("\n") or not text else "\n"
        return text + sep + "sources:\n" + "".join(_item(s, 2) for s in new), len(new)
    if not isinstance(sources, yaml.SequenceNode) or sources.flow_style or not sources.value:
        raise ConfigError("sources: is not a block list; add the feeds by hand", key="sources")
    dash = max(sources.value[0].start_mark.column - 2, 0)
    end = sources.value[-1].end_mark
    lines = text.splitlines(True)
    at = end.line if end.column == 0 else end.line + 1
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    block = "".join(_item(s, dash) for s in new)
    return "".join(lines[:at]) + block + "".join(lines[at:]), len(new)


def _item(sub: Subscription, dash: int) -> str:
    pad = " " * dash
    lines = [f"{pad}- feed: {_scalar(sub.url)}\n"]
    if sub.title:
        lines.append(f"{pad}  title: {_scalar(sub.title)}\n")
    if sub.categories:
        lines.append(f"{pad}  categories: {_scalar(list(sub.categories))}\n")  # ['Arts, Books']
    return "".join(lines)


def _scalar(value: str | list[str]) -> str:
    dumped: str = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000)
    return dumped.strip().removesuffix("...").strip()


def import_opml(config_path: Path, opml_path: Path, config: Config) -> tuple[int, list[str]]:
    """Add the OPML's feeds to config.yaml; return how many were new, and
    the outlines left out (:attr:`Imported.skipped`)."""
    try:
        data = opml_path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(opml_path)) from None
    subs, skipped = parse_opml(data, path=str(opml_path))
    existing = {same_address(s.url) for s in config.feed_sources}
    # A feed that moved for good is in the config under its old address (an
    # OPML exported after the move names the new one).
    moved = {
        same_address(to): key
        for key, to in known(config).moved.items()
        if same_address(to) not in existing
    }
    for sub in subs:
        address = same_address(sub.url)
        if address in existing:
            skipped.append(f"{sub.url}: already in {config_path.name}")
        elif address in moved:
            skipped.append(
                f"{sub.url}: already in {config_path.name} as {moved[address]}, which moved there"
            )
    existing |= moved.keys()
    text = config_path.read_text(encoding="utf-8-sig")
    updated, count = add_to_config(text, subs, existing)
    if count:
        tmp = config_path.with_name(f".{config_path.name}.tmp")
        tmp.write_text(updated, encoding="utf-8")
        tmp.replace(config_path)
    return count, skipped


class Known(NamedTuple):
    """What the state knows of the configured feeds, by source key."""

    titles: dict[str, str]  # the feed's own title
    moved: dict[str, str]  # the address a permanent redirect gave (as ``status`` shows it)


def known(config: Config) -> Known:
    """The titles and new addresses the state keeps (none without a state)."""
    from . import store as state_store

    if not state_store.exists(config.state):
        return Known({}, {})
    with state_store.open(config.state) as store:
        states = store.source_states()
    return Known(
        {k: s.title for k, s in states.items() if s.title},
        {k: s.url for k, s in states.items() if s.url and s.url != k},
    )


def export_opml(
    config: Config, titles: dict[str, str] | None = None, moved: dict[str, str] | None = None
) -> bytes:
    """The configured remote feeds as OPML 2.0, in config order.

    A feed with categories sits in a folder named by its first (a folder is
    what feed readers import as one); ``category`` lists them all. A feed
    without any sits at the top.

    ``titles`` (source key -> the feed's own title, from the store) names feeds
    that have no ``title`` override; ``title`` is left out when all we know is
    the URL, so a round trip never turns URLs into title overrides.
    ``moved`` (source key -> the address a permanent redirect gave) is the
    ``xmlUrl`` of a feed that moved: where another reader should poll it.
    """
    titles, moved = titles or {}, moved or {}
    title = quoteattr(f"{config.site.title} subscriptions")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{title[1:-1]}</title></head>",
        "  <body>",
    ]
    folders: dict[str, list[str]] = {"": []}  # category -> its feeds' outlines, in order
    for source in config.feed_sources:
        name = source.title or titles.get(source.key)
        url = moved.get(source.key, source.url)
        text = quoteattr(name or url)
        title = f" title={text}" if name else ""
        outline = f'<outline type="rss" text={text}{title} xmlUrl={quoteattr(url)}/>'
        for folder in source.categories or ("",):
            folders.setdefault(folder, []).append(outline)
    for folder, outlines in folders.items():
        if not folder:
            lines += [f"    {outline}" for outline in outlines]
            continue
        lines.append(f"    <outline text={quoteattr(folder)}>")
        lines += [f"      {outline}" for outline in outlines]
        lines.append("    </outline>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")
