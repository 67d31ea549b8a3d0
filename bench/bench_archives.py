"""What RFC 5005 archives cost a build: the same corpus with ``output.archives`` off and on.

Cases, each a fresh ``python -m feedwright.cli build --json`` (``measure.run``),
repeated ``--repeat`` times (default 3), archives off and on interleaved:

``cold``      no state, no output
``nochange``  the same build again (nothing read, nothing written)
``edit``      the newest post edited before each run (the current feeds change)
``edit-old``  the oldest post edited before each run (with archives: its pages change)

Prints the median and min–max wall seconds and the files written, per case
and mode. The corpus is ``gen_posts.py``'s (``--posts``, default 2,000, in
``--categories``, default 20; ``--limit`` 20), under ``OUT/archives``.

Usage::

    python bench/bench_archives.py [--posts 2000] [--categories 20] [--limit 20]
        [--repeat 3] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import gen_posts
import measure

OUT = Path(__file__).resolve().parent / "out"
CASES = ("cold", "nochange", "edit", "edit-old")
MODES = ("off", "on")
MARK = "<!-- bench edit -->"


def _configs(corpus: Path) -> dict[str, Path]:
    base = (corpus / "config.yaml").read_text(encoding="utf-8")
    made = {}
    for mode in MODES:
        text = base.replace("dir: public", f"dir: public-{mode}").replace(
            "state: .feedwright/state.db", f"state: .feedwright-{mode}/state.db"
        )
        text = text.replace("  content: full\n", f"  content: full\n  archives: {mode == 'on'}\n")
        made[mode] = corpus / f"config-archives-{mode}.yaml"
        made[mode].write_text(text.replace(": True", ": true").replace(": False", ": false"))
    return made


def _reset(corpus: Path, mode: str) -> None:
    shutil.rmtree(corpus / f"public-{mode}", ignore_errors=True)
    shutil.rmtree(corpus / f".feedwright-{mode}", ignore_errors=True)


def _edit(post: Path, n: int) -> None:
    text = post.read_text(encoding="utf-8").split(MARK)[0]
    post.write_text(f"{text}{MARK} {n}\n", encoding="utf-8")


def _by_date(corpus: Path) -> tuple[Path, Path]:
    """(newest post, oldest post) of the corpus, by the benchmark's own dates."""
    import feedwright

    config = feedwright.load_config(corpus / "config.yaml")
    dated = sorted(
        (entry.published, path)
        for path in sorted((corpus / "posts").rglob("*.*"))
        if (entry := feedwright.read_post(path, config)) is not None
    )
    return dated[-1][1], dated[0][1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--categories", type=int, default=20)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    corpus = args.out / "archives"
    gen_posts.generate(corpus, posts=args.posts, categories=args.categories, limit=args.limit)
    configs = _configs(corpus)
    newest, oldest = _by_date(corpus)
    saved = {p: p.read_bytes() for p in (newest, oldest)}
    env = measure.feedwright_env()
    results: dict[tuple[str, str], list[measure.Measured]] = {}
    try:
        for case in CASES:
            for n in range(args.repeat):
                for mode in MODES:
                    if case == "cold":
                        _reset(corpus, mode)
                    elif case == "edit":
                        _edit(newest, n)
                    elif case == "edit-old":
                        _edit(oldest, n)
                    cmd = [sys.executable, "-m", "feedwright.cli", "build", "--json"]
                    done = measure.run([*cmd, "-c", str(configs[mode])], env=env)
                    if done.returncode != 0:
                        measure.fail(f"{case}/{mode}: exit {done.returncode}\n{done.stderr}")
                    results.setdefault((case, mode), []).append(done)
    finally:
        for path, data in saved.items():
            path.write_bytes(data)

    print(
        f"{args.posts} posts, {args.categories} categories, limit {args.limit}, "
        f"{args.repeat} runs each"
    )
    print(f"{'case':<10} {'archives':<8} {'median s':>8}  {'min–max':<15} {'written':>7}")
    for case in CASES:
        for mode in MODES:
            runs = results[(case, mode)]
            s = measure.summarize(runs)
            written = len(json.loads(runs[-1].stdout)["written"])
            print(f"{case:<10} {mode:<8} {s.cell()} {written:>7}")
    files = sum(1 for p in (corpus / "public-on").rglob("*.xml") if "archive" in p.parts)
    print(f"archive files with archives on: {files}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
