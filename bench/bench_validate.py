"""What the validation gate costs: its rules timed over sets of published files.

Builds ``gen_posts.py``'s corpus (``--posts``, default 2,000, in
``--categories``, default 20) twice, ``limit: 20`` and ``limit: 0`` (every
post in every feed), then times ``feedwright.check_output`` (the gate's rules,
the same ones the writer runs on each changed file) over each output folder
and over the repository's shipped ``feeds/``, ``--repeat`` times (default 5).
Prints files, megabytes, the median and min–max seconds, and MB/s.

Usage::

    python bench/bench_validate.py [--posts 2000] [--categories 20] [--repeat 5] [--out DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import gen_posts
import measure

import feedwright

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"


def _time(folder: Path, repeat: int) -> tuple[int, float, list[float]]:
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        found = feedwright.check_output(folder)
        walls.append(time.perf_counter() - start)
        if found.problems:
            measure.fail(f"{folder}: {found.problems[0]}")
    size = sum((folder / rel).stat().st_size for rel in found.files)
    return len(found.files), size / 1e6, walls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--categories", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    corpus = args.out / "validate"
    gen_posts.generate(corpus, posts=args.posts, categories=args.categories, limit=20)
    sets = {"shipped feeds/": ROOT / "feeds"}
    env = measure.feedwright_env()
    for name, out in (("config.yaml", "public"), ("config-full.yaml", "public-full")):
        cmd = [sys.executable, "-m", "feedwright.cli", "build", "-q", "-c", str(corpus / name)]
        done = measure.run(cmd, env=env)
        if done.returncode != 0:
            measure.fail(f"{name}: exit {done.returncode}\n{done.stderr}")
        sets[f"{args.posts} posts, {'limit 20' if out == 'public' else 'limit 0'}"] = corpus / out

    print(f"gate (feedwright.check_output), {args.repeat} runs each")
    print(f"{'file set':<26} {'files':>5} {'MB':>7} {'median s':>8}  {'min–max':<15} {'MB/s':>6}")
    for name, folder in sets.items():
        files, mb, walls = _time(folder, args.repeat)
        median = statistics.median(walls)
        span = f"{min(walls):.3f}–{max(walls):.3f}"
        print(f"{name:<26} {files:>5} {mb:>7.1f} {median:>8.3f}  {span:<15} {mb / median:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
