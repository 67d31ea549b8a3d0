"""What ``feedwright check`` warns about beyond errors: things that publish,
but probably not as the author meant (pure but for reading the post files).

- a post without a ``title`` (its feed shows the first heading or the file
  name) or without a date (its file's modification time is used, which a
  fresh checkout changes);
- an RFC 2822 date whose weekday is not its date's (``Wed, 05 Mar 2024``:
  a Tuesday); the date is read as written, as every generator reads it;
- a front matter key written twice (the last one is used, as in Hugo and
  Jekyll; Hexo refuses such a post);
- template code another generator would run (``{% post_url %}``,
  ``{{< figure >}}``): readers see it as text;
- a front matter key that is a near miss of one feedwright reads (``titel:``:
  did you mean ``title``?); other unknown keys are the author's own, and fine;
- a category in ``output.categories`` that no post and no source has: its
  feed would be published empty;
- an ``output.rename`` that takes another category's folder (that feed
  would move, and its subscribers get the renamed category's entries);
- a file named as a post but for a leading ``_`` (never read); in a Hugo
  site, a leaf bundle's page resources, the translations into another
  language than the site's default, and a file whose page Hugo makes of
  another (``post.md`` beside ``post.en.md``): never read.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Config, PostsSource
from .exceptions import PostError
from .parallel import Failed, Pool, chunked
from .text import category_key

if TYPE_CHECKING:
    from .posts import Found

_CHUNK = 200


def inspect_posts(
    config: Config, files: dict[str, list[str]], pool: Pool, *, parallel: bool
) -> list[str]:
    """Warnings about the posts ``files`` (posts folder -> paths relative to it)."""
    items = []
    for source in config.posts_sources:
        rels = files.get(str(source.path), [])
        items += [(source, chunk) for chunk in chunked(sorted(rels), _CHUNK)]
    results = pool.map(_inspect_chunk, items) if parallel else map(_inspect_chunk, items)
    warnings: list[str] = []
    for result in results:
        if isinstance(result, Failed):
            continue  # reading them again reports the problem as an error
        warnings += result
    return warnings


def _inspect_chunk(item: tuple[PostsSource, list[str]]) -> list[str]:
    source, rels = item
    return [w for rel in rels for w in inspect_post(source.path, rel)]


def inspect_post(root: Path, rel: str) -> list[str]:
    """What looks unintended in one post's front matter ("path: warning")."""
    from .posts import read_meta
    from .posts.dates import wrong_weekday
    from .posts.entry import DATE_KEYS, DATED_KEYS, FRONT_MATTER_KEYS, fold_keys, unlisted
    from .posts.frontmatter import repeated_keys
    from .posts.hugo import bundle_index
    from .posts.links import file_name

    path = root / rel
    try:
        written, body, text = read_meta(path, root)
    except PostError:
        return []  # an error, reported as one
    meta = fold_keys(written)  # keys as read (``Title`` is ``title``)
    bundle = "/" in rel and bundle_index(rel.rpartition("/")[2])
    if meta.get("draft") is True or meta.get("published") is False or unlisted(meta, bundle):
        return []
    said = []
    for key, lines in repeated_keys(text):
        times = "twice" if len(lines) == 2 else f"{len(lines)} times"
        said.append(
            f"`{key}` is written {times} (lines {', '.join(map(str, lines))}): the last one is used"
        )
    if not meta.get("title"):
        said.append("no title: its feed shows the first heading or the file name")
    if not any(meta.get(k) not in (None, "", True, False) for k in DATE_KEYS) and (
        file_name(rel).date is None
    ):
        said.append("no date: the file's modification time is used, which a fresh checkout changes")
    for key, value in written.items():
        if str(key).lower() in DATED_KEYS and (wrong := wrong_weekday(value)):
            said.append(f"`{key}: {value}` {wrong}: the date is used, its weekday is not")
    said += _ignored_hugo_keys(meta)
    if tags := _template_tags(body):
        shown = ", ".join(tags)
        said.append(
            f"holds template code ({shown}) that feedwright does not run: readers see it as text"
        )
    for key in written:
        name = str(key)
        if name in FRONT_MATTER_KEYS or name.lower() in FRONT_MATTER_KEYS:
            continue
        close = difflib.get_close_matches(name, sorted(FRONT_MATTER_KEYS), n=1, cutoff=0.8)
        close = close or [k for k in sorted(FRONT_MATTER_KEYS) if _swapped(name.lower(), k)]
        if close:
            said.append(f"unknown key `{name}` (did you mean `{close[0]}`?)")
    return [f"{path}: {words}" for words in said]


def _ignored_hugo_keys(meta: Mapping[str, Any]) -> list[str]:
    """Hugo keys that keep a post's page out of its site but not out of the
    feeds, as Hugo 0.111 reads them (a page Hugo lists in no RSS, as
    ``build: {list: never}`` or a headless bundle, is not published at all)."""
    from .posts.entry import fold_keys

    build = meta.get("_build", meta.get("build"))
    build = fold_keys(build) if isinstance(build, dict) else {}
    if build.get("render") in ("never", False):
        return [
            "Hugo renders no page for it (build: render), so its link in the feeds leads nowhere"
            " (set `draft: true` to keep it out of the feeds)"
        ]
    return []


# Template code other generators run in a post: Jekyll's Liquid and Hexo's
# Nunjucks tags ({% post_url x %}, {% asset_img a.png %}), Liquid's
# {{ site.baseurl }}, Hugo's shortcodes ({{< figure >}}, {{% notice %}}).
_TEMPLATE = re.compile(
    r"\{%-?\s*(\w+)|\{\{-?\s*((?:site|page|post|config|theme)\.\w+)|\{\{[<%]\s*/?\s*([\w-]+)"
)


def _template_tags(body: str) -> list[str]:
    """The first few template tags in a post's body, as written (none: [])."""
    if "{" not in body:
        return []
    found: dict[str, None] = {}
    for match in _TEMPLATE.finditer(body):
        tag, value, shortcode = match.groups()
        if tag:
            found[f"{{% {tag} %}}"] = None
        elif value:
            found[f"{{{{ {value} }}}}"] = None
        else:
            found[f"{{{{< {shortcode} >}}}}"] = None
        if len(found) == 3:
            break
    return list(found)


def _swapped(typed: str, key: str) -> bool:
    """Whether ``typed`` is ``key`` with two neighbouring letters swapped
    (``daet``, ``tgas``): a slip difflib's ratio misses in short words."""
    if len(typed) != len(key) or typed == key:
        return False
    diff = [i for i, (a, b) in enumerate(zip(typed, key, strict=True)) if a != b]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and typed[diff[0]] == key[diff[1]]
        and typed[diff[1]] == key[diff[0]]
    )


def empty_categories(config: Config, seen: Iterable[str]) -> list[str]:
    """Warnings for categories in ``output.categories`` that none of ``seen``
    (every post's and stored entry's categories) nor any source gives."""
    if config.output.categories == "all":
        return []
    have = {category_key(c) for c in seen}
    for source in config.sources:
        have.update(category_key(c) for c in source.categories)
        mapped = getattr(source, "category_map", {})
        have.update(category_key(v) for v in mapped.values() if v)
    return [
        f"{config.path}: output.categories lists “{name}”, which no post, source or"
        " stored remote entry has: its feed would be published empty"
        for name in config.output.categories
        if category_key(name) not in have
    ]


def _unread(config: Config, found: Mapping[str, Found], kind: str, why: str) -> list[str]:
    """A warning for each file the walks left unread as ``kind`` (a field of
    :class:`Found`): its path, then ``why``."""
    return [
        f"{source.path / rel}: not read: {why}"
        for source in config.posts_sources
        for rel in getattr(found[str(source.path)], kind)
    ]


def underscored(config: Config, found: Mapping[str, Found]) -> list[str]:
    """Warnings for the files the walk left unread for a leading ``_``
    (``_notes.md``), as Jekyll and Hexo leave them (``found``: each posts
    folder's walk)."""
    why = "a file whose name starts with _ is not a post (as in Jekyll and Hexo); rename it"
    return _unread(config, found, "unread", why + " to publish it")


def bundled(config: Config, found: Mapping[str, Found]) -> list[str]:
    """Warnings for the files of a Hugo site's leaf bundles left unread: page
    resources to Hugo, which publishes only the bundle's index (``found``:
    each posts folder's walk)."""
    why = (
        "a page resource of a Hugo leaf bundle (a file beside or below a folder's index"
        " file), which Hugo does not publish as a page"
    )
    return _unread(config, found, "resources", why)


def translated(config: Config, found: Mapping[str, Found]) -> list[str]:
    """Warnings for the translations of a Hugo site of several languages left
    unread: Hugo lists them under their language, not in its main RSS."""
    why = (
        "a translation into another language than the Hugo site's default, which Hugo"
        " publishes in that language's RSS, not in its main one"
    )
    return _unread(config, found, "translations", why)


def replaced(config: Config, found: Mapping[str, Found]) -> list[str]:
    """Warnings for the files of a Hugo site left unread because Hugo makes
    their page of another file of their folder (``post.md`` beside
    ``post.en.md``; ``found``: each posts folder's walk)."""
    return [
        f"{source.path / rel}: not read: Hugo publishes its page from"
        f" {instead.rpartition('/')[2]} beside it, of the same name (its language part"
        " and suffix aside)"
        for source in config.posts_sources
        for rel, instead in found[str(source.path)].replaced
    ]


def taken_folders(
    config: Config, seen: Iterable[str], held: Mapping[str, str] | None = None
) -> list[str]:
    """Warnings for ``output.rename`` entries that miss or clash: a category
    none of ``seen`` has; two renamed to one folder (one of them is published
    elsewhere); one that takes the folder another category would have (that
    category's feed moves to another address, and its subscribers are left
    with the renamed one's entries). And a category kept out of the folder
    its name gives because an earlier build published another category
    there (``held``: folder -> category, slugs.held_folders)."""
    if not config.output.rename and not held:
        return []
    from .publish.slugs import assign_slugs, slugify

    names: dict[str, str] = {}
    for name in seen:
        names.setdefault(category_key(name), name)
    if config.output.categories != "all":
        wanted = {category_key(n) for n in config.output.categories}
        names = {key: name for key, name in names.items() if key in wanted}
    renamed = {category_key(name): name for name in config.output.rename}
    slugs = assign_slugs(names.values(), config.output, held)
    said = []
    holders = {folder.casefold(): owner for folder, owner in (held or {}).items()}
    for key, name in sorted(names.items()):
        own = slugify(name, config.output.slugs)
        holder = holders.get(own.casefold())
        if holder and category_key(holder) != key and key not in renamed and slugs[key] != own:
            said.append(
                f"{config.path}: category “{name}” is published in {slugs[key]}/, not {own}/:"
                f" an earlier build published category “{holder}”"
                f" there, and a feed's address never changes hands (output.rename"
                " picks a folder)"
            )
    for key, name in sorted(renamed.items()):
        if key not in names:
            said.append(
                f"{config.path}: output.rename names “{name}”, which no post, source or"
                " stored remote entry has"
                + ("" if config.output.categories == "all" else " in output.categories")
                + ": no feed is published for it"
            )
            continue
        asked = config.output.rename[name]
        if slugs[key].casefold() != asked.casefold():
            holder = next(
                (
                    renamed.get(k, names[k])
                    for k in slugs
                    if slugs[k].casefold() == asked.casefold()
                ),
                None,
            )
            why = f", which is “{holder}”'s" if holder is not None else ""
            said.append(
                f"{config.path}: output.rename gives “{name}” the folder {asked}/{why}:"
                f" “{name}” is published in {slugs[key]}/"
            )
    for key, name in sorted(names.items()):
        if key in renamed:
            continue
        own = slugify(name, config.output.slugs)
        for other in sorted(renamed.keys() & slugs.keys()):
            if slugs[other].casefold() == own.casefold() != slugs[key].casefold():
                said.append(
                    f"{config.path}: output.rename gives “{renamed[other]}” the folder"
                    f" {own}/, which is category “{name}”'s: that feed moves to"
                    f" {slugs[key]}/, and its subscribers get “{renamed[other]}”'s entries"
                )
    return said


__all__ = [
    "bundled",
    "empty_categories",
    "inspect_post",
    "inspect_posts",
    "replaced",
    "taken_folders",
    "translated",
    "underscored",
]
