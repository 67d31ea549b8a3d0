"""The cost of reading posts, per post: ``feedwright.posts`` on a generated
corpus, serial, in one process.

Both read a whole posts folder (walk, read, decode, front matter, entry) with
warm imports and a warm page cache; the figure is the best of ``--rounds``.
Nothing is rendered. Generate a corpus first::

    python bench/gen_posts.py /tmp/corpus --posts 2000
    python bench/bench_posts.py /tmp/corpus [--rounds 5] [--profile]
    python bench/bench_posts.py /tmp/corpus --instructions

``--instructions`` counts, under ``valgrind --tool=callgrind``, the
instructions one post costs at each stage (the difference between reading
50 and 1,050 files, so that start-up and imports cancel out): ``meta``
(``read_meta``: the file read, decoded, its front matter loaded), ``read``
(``read``: the whole entry) and ``chunk`` (``read_chunk``, 100 files at a
time: what a worker process does for a build, down to the post cache's row).
Unlike wall time, the count repeats on a busy machine.
"""

from __future__ import annotations

import argparse
import cProfile
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from feedwright import load_config
from feedwright.config import PostsSource, Site
from feedwright.exceptions import PostError
from feedwright.incremental.postread import read_chunk
from feedwright.posts import Folders, conflicts, find, read, read_meta

STAGES = ("meta", "read", "chunk")
_FEW, _MANY = 50, 1050
_COLLECTED = re.compile(r"Collected : (\d+)")


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


def run_stage(stage: str, source: PostsSource, site: Site, count: int) -> None:
    """One stage over the first ``count`` post files, once (under callgrind)."""
    files = list(find(source.path).files.items())[:count]
    if stage == "meta":
        for rel, _ in files:
            read_meta(source.path / rel, source.path)
    elif stage == "read":
        with Folders(source.path) as folders:
            for rel, _ in files:
                read(source.path / rel, rel, source, site, folders)
    else:
        for start in range(0, len(files), 100):
            read_chunk(source, site, files[start : start + 100])


def instructions(corpus: Path) -> None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("--instructions: no `valgrind` on PATH (Debian: `apt-get install -y valgrind`)")
    print(f"instructions per post (callgrind: {_MANY} files less {_FEW}):")
    for stage in STAGES:
        counts = []
        for count in (_FEW, _MANY):
            command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null"]
            command += [sys.executable, __file__, str(corpus), "--stage", stage]
            done = subprocess.run(
                [*command, "--count", str(count)],
                capture_output=True,
                text=True,
                check=True,
            )
            found = _COLLECTED.search(done.stderr)
            if found is None:
                sys.exit(f"--instructions: callgrind reported no count for {stage}")
            counts.append(int(found[1]))
        per_post = (counts[1] - counts[0]) / (_MANY - _FEW)
        print(f"  {stage:6} {per_post / 1e6:6.3f} M")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a folder made by bench/gen_posts.py")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile the reader")
    parser.add_argument(
        "--instructions", action="store_true", help="instructions per post, by stage (valgrind)"
    )
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = load_config(args.corpus / "config.yaml")
    (source,) = config.posts_sources
    site = config.site
    if args.stage:
        run_stage(args.stage, source, site, args.count)
        return
    if args.instructions:
        instructions(args.corpus)
        return
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
