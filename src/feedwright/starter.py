"""``feedwright init``: a starter config.yaml, posts/ with an example post, feeds/."""

from __future__ import annotations

from pathlib import Path

from .exceptions import ConfigError

CONFIG = """\
# feedwright configuration. Commands and options: `feedwright --help`;
# every key with its type and default: `python -m pydoc feedwright.config`.
site:
  title: My Site
  url: https://example.com/          # where the output folder's parent is served
  description: Posts and links, as feeds
  author: Me
  language: en
  timezone: UTC                      # for dates written without a zone

sources:
  - posts: posts                     # Markdown/HTML files with front matter
    permalink: "{year}/{month}/{day}/{slug}/"
  # - feed: https://example.org/feed.xml
  #   categories: [Links]
  #   every: 30m

output:
  dir: feeds
  formats: [atom, rss]
  limit: 50
  pages: true                        # feeds/index.html: open it in a browser
  stylesheet: true                   # feeds/feed.xsl: the feeds read as pages too

schedule:
  every: 1h

# websub:                            # readers that support WebSub get new posts at once
#   hub: https://pubsubhubbub.appspot.com/

# A podcast: posts with `audio:` are episodes, and every feed holding some
# becomes a podcast feed (the "Podcast" category's feed is a show of its own).
# podcast:
#   image: cover.jpg                 # a .jpg or .png on the site, 1400-3000 px square
#   category: Technology             # or [Arts, Books]: Apple's names
#   explicit: false
#   owner: {name: Me, email: me@example.com}
#   type: episodic                   # or serial
"""

POST = """\
---
title: Hello, feeds
date: {date}
categories: [General]
tags: [feedwright]
# An episode of a podcast (see `podcast:` in config.yaml) also has:
# audio: media/episode-1.mp3       # in the site folder (or an http(s) URL)
# duration: 1:02:03
# episode: 1
---

This is your first post. Edit it, add more files to `posts/`, then run
`feedwright build`, open `feeds/index.html` in a browser to see it as a
page, and subscribe to `feeds/atom.xml`.

<!-- more -->

Every category gets its own feed: `feeds/<category>/atom.xml` and `rss.xml`.
"""


def init(folder: Path, *, date: str = "2026-01-01 09:00") -> list[Path]:
    """Create what is missing; never overwrite. Returns the paths created.
    Raises ConfigError naming the path that cannot be made."""
    try:
        return _init(folder, date)
    except OSError as exc:
        where = Path(exc.filename) if isinstance(exc.filename, str) else folder
        if not isinstance(exc, FileExistsError | NotADirectoryError):
            raise ConfigError(f"cannot create: {exc.strerror or exc}", path=str(where)) from None
        while not where.exists() and where.parent != where:
            where = where.parent  # the file in the way
        raise ConfigError(
            "cannot create: a file is in the way of a folder", path=str(where)
        ) from None


def _init(folder: Path, date: str) -> list[Path]:
    created: list[Path] = []
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yaml"
    if not config.exists():
        config.write_text(CONFIG, encoding="utf-8")
        created.append(config)
    posts = folder / "posts"
    if not posts.exists():
        posts.mkdir()
        created.append(posts)
        post = posts / "hello.md"
        post.write_text(POST.format(date=date), encoding="utf-8")
        created.append(post)
    feeds = folder / "feeds"
    if not feeds.exists():
        feeds.mkdir()
        created.append(feeds)
    return created
