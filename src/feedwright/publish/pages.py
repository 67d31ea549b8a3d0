"""A plain HTML page beside each feed: ``index.html`` next to its ``atom.xml``.

Some browsers no longer apply XSLT (:mod:`.stylesheet`), and a person who
follows a link to a feed should still read something: the feed's title and
description, a line saying this is a feed and which address to copy into a
reader, its entries (title, date, a plain-text excerpt), and links to every
format. The ``<head>`` carries the autodiscovery links
(``<link rel="alternate" type="application/atom+xml" ...>``) that browsers
and readers look for. The top page (the combined feed's) also lists every
category's page and feeds. No JavaScript, no external resources: one file.

Links between pages and to the feeds are relative, so the folder reads the
same from any host (or from a preview server); the autodiscovery links and
the addresses shown are absolute (``site.url``). The markup is also
well-formed XML (void elements closed), so every file feedwright writes
parses as XML. Like the feeds, a page is a pure function of its feed: equal
inputs give equal bytes.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import tzinfo
from urllib.parse import quote

from ..config import Format, Output, Site
from ..model import Entry, rfc3339, shown_title
from .plan import FeedPlan, feed_url

PAGE_NAME = "index.html"
MEDIA_TYPES: dict[Format, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}
FORMAT_NAMES: dict[Format, str] = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}
NOTE = "This is a web feed. To subscribe, copy its address into your feed reader:"

# The look of the pages and of the XSLT stylesheet's, light and dark.
STYLE = """\
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#fff;--line:#d1d9e0;\
--accent:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;\
--line:#3d444d;--accent:#4493f8}}
body{margin:0 auto;max-width:46rem;padding:1.5rem 1rem;color:var(--fg);background:var(--bg);\
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
a{color:var(--accent)}
header{border-bottom:1px solid var(--line);padding-bottom:.5rem}
h1{font-size:1.6rem;margin:0 0 .25rem}
.note{border-left:4px solid var(--accent);padding:.5rem .75rem;margin:1rem 0}
.note p{margin:0 0 .25rem}
code{font-size:.875em;overflow-wrap:anywhere}
ul.formats,ul.feeds{list-style:none;padding:0;margin:.25rem 0}
ul.formats li{display:inline-block;margin-right:1.25rem}
ul.feeds li{padding:.2rem 0}
article{padding:.75rem 0;border-bottom:1px solid var(--line)}
article h2{font-size:1.15rem;margin:0 0 .2rem}
article p{margin:.25rem 0}
.meta,footer,.empty{color:var(--muted);font-size:.875rem}
footer{margin-top:1.5rem}
"""

Excerpt = Callable[[Entry], str]  # an entry's plain-text excerpt


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _date(entry: Entry, local: tzinfo) -> tuple[str, str]:
    """(``datetime`` attribute, the date shown: the day in ``site.timezone``)."""
    return rfc3339(entry.published), entry.published.astimezone(local).date().isoformat()


def _links(output: Output, prefix: str = "") -> list[str]:
    """A link to each format of a feed, relative: ``prefix`` is its folder."""
    from ..config import FILENAMES

    return [
        f'<a href="{_e(prefix + quote(FILENAMES[fmt]))}" type="{MEDIA_TYPES[fmt]}">'
        f"{FORMAT_NAMES[fmt]}</a>"
        for fmt in output.formats
    ]


def _entry(entry: Entry, excerpt: Excerpt, local: tzinfo) -> str:
    title = _e(entry.title.strip() or shown_title(entry))
    if entry.link:
        title = f'<a href="{_e(entry.link)}">{title}</a>'
    stamp, shown = _date(entry, local)
    parts = [f"<article><h2>{title}</h2>"]
    parts.append(f'<p class="meta"><time datetime="{stamp}">{shown}</time>')
    if entry.authors:
        parts.append(" · " + _e(", ".join(a.name for a in entry.authors)))
    parts.append("</p>")
    text = excerpt(entry)
    if text:
        parts.append(f"<p>{_e(text)}</p>")
    parts.append("</article>")
    return "".join(parts)


def feed_page(
    feed: FeedPlan,
    site: Site,
    output: Output,
    excerpt: Excerpt,
    categories: Sequence[tuple[str, str]] = (),
) -> bytes:
    """The ``index.html`` of ``feed`` (prepared entries, newest first);
    ``categories``: the (slug, name) of each category feed, which the top
    page lists (a category's page leaves it empty)."""
    from ..config import FILENAMES

    head = [
        "<!DOCTYPE html>",
        f'<html lang="{_e(site.language)}">' if site.language else "<html>",
        "<head>",
        '<meta charset="utf-8"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
        '<meta name="generator" content="feedwright"/>',
        f"<title>{_e(feed.title)}</title>",
    ]
    for fmt in output.formats:
        url = feed_url(site, output, feed.path(FILENAMES[fmt]))
        head.append(
            f'<link rel="alternate" type="{MEDIA_TYPES[fmt]}" '
            f'title="{_e(feed.title)} ({FORMAT_NAMES[fmt]})" href="{_e(url)}"/>'
        )
    head += [f"<style>\n{STYLE}</style>", "</head>", "<body>"]

    body = ["<header>", f"<h1>{_e(feed.title)}</h1>"]
    if site.description:
        body.append(f"<p>{_e(site.description)}</p>")
    first = output.formats[0]
    address = feed_url(site, output, feed.path(FILENAMES[first]))
    body += [
        '<div class="note">',
        f"<p>{_e(NOTE)}</p>",
        f"<p><code>{_e(address)}</code></p>",
        '<ul class="formats">' + "".join(f"<li>{a}</li>" for a in _links(output)) + "</ul>",
        "</div>",
        "</header>",
        "<main>",
    ]
    if feed.entries:
        from ..posts.dates import zone

        local = zone(site.timezone)
        body += [_entry(entry, excerpt, local) for entry in feed.entries]
    else:
        body.append('<p class="empty">No entries yet.</p>')
    body.append("</main>")
    if categories:
        body += ["<nav>", "<h2>Categories</h2>", '<ul class="feeds">']
        for slug, category in categories:
            folder = quote(slug, safe="") + "/"
            name = _e(category)
            page = f'<a href="{_e(folder + PAGE_NAME)}">{name}</a>'
            body.append(f"<li>{page}: {' · '.join(_links(output, folder))}</li>")
        body += ["</ul>", "</nav>"]
    footer = ["<footer>"]
    if feed.slug is not None:
        footer.append(f'<a href="../{PAGE_NAME}">{_e(site.title)}: every feed</a> · ')
    footer.append(f'<a href="{_e(site.url)}">{_e(site.url)}</a></footer>')
    body += footer
    return ("\n".join([*head, *body, "</body>", "</html>"]) + "\n").encode("utf-8")


__all__ = ["FORMAT_NAMES", "MEDIA_TYPES", "NOTE", "PAGE_NAME", "STYLE", "feed_page"]
