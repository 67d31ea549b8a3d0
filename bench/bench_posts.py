"""The cost of reading posts, per post: ``feedwright.posts`` on a generated
corpus, serial, in one process.

Both read a whole posts folder (walk, read, decode, front matter, entry) with
warm imports and a warm page cache; the figure is the best of ``--rounds``.
Nothing is rendered. Generate a corpus first::

    python bench/gen_posts.py /tmp/corpus --posts 2000
    python bench/bench_posts.py /tmp/corpus [--rounds 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import time
from collections.abc import Callable
from pathlib import Path

from feedwright import load_config
from feedwright.config import PostsSource, Site
from feedwright.exceptions import PostError
from feedwright.posts import conflicts, find, read


def read_new(source: PostsSource, site: Site) -> tuple[int, int]:
    found = find(source.path)
    entries = {}
    errors = len(found.problems)
    for rel in found.files:
        try:
            post = read(source.path / rel, rel, source, site)
        except PostError:
            errors += 1
            continue
        if post.entry is not None:
            entries[rel] = post.entry
    errors += len(conflicts(entries))
    return len(entries), errors


def best(fn: Callable[[], tuple[int, int]], rounds: int) -> tuple[float, tuple[int, int]]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        counts = fn()
        times.append(time.perf_counter() - start)
    return min(times), counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a folder made by bench/gen_posts.py")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile the reader")
    args = parser.parse_args()
    config = load_config(args.corpus / "config.yaml")
    (source,) = config.posts_sources
    site = config.site
    files = len(find(source.path).files)
    seconds, (entries, errors) = best(lambda: read_new(source, site), args.rounds)
    print(
        f"posts/ {seconds * 1e6 / files:7.1f} µs/post"
        f"  ({files} files, {entries} entries, {errors} problems, best of {args.rounds})"
    )
    if args.profile:
        cProfile.runctx("read_new(source, site)", globals(), locals(), sort="cumulative")


if __name__ == "__main__":
    main()
