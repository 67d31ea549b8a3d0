"""Time the id ledger and ``feedwright plan`` on the synthetic corpus (issue 15).

On a corpus from ``gen_posts.py`` (default 10,000 posts, 50 categories) in a
temporary folder, each a fresh ``python -m feedwright.cli`` process, timed on
the wall clock, repeated ``--repeat`` times (default 3):

``cold``      the first build: every post read, ``feedwright.ids`` written
``nochange``  the same build again (the ledger is read and fingerprinted)
``edit``      one post's body edited before each run (its ledger line changes)
``moved``     one post renamed before each run (found again by its fingerprint)
``plan``      ``feedwright plan`` with nothing changed: the state and the output
              copied, a build on the copies, every feed compared
``clone``     a fresh clone: every post's mtime new, no state, no output, the
              ledger kept (undated posts keep their first dates from it)
``clone-edit`` one post edited after that clone

``--undated`` takes the ``date:`` line out of every post first: each is dated
by its file's mtime, then by the ledger, which a fresh clone tests.

It prints median and min–max seconds, peak RSS, and the ledger's size.

Usage::

    python bench/bench_ids.py [--posts 10000] [--categories 50] [--repeat 3] [--undated]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

import gen_posts
import measure

EDIT_MARK = "<!-- bench edit -->"
STATE_DIR, OUTPUT_DIR = ".feedwright", "public"  # as gen_posts writes config.yaml
DATE_LINE = re.compile(r"^date: .*\n", re.M)  # the front matter's, the first one


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--undated", action="store_true", help="posts without a date: line")
    args = parser.parse_args(argv)
    env = measure.feedwright_env()
    with tempfile.TemporaryDirectory(prefix="fw-bench-ids-") as tmp:
        site = Path(tmp)
        gen_posts.generate(site, posts=args.posts, categories=args.categories)
        config = site / "config.yaml"
        posts = sorted((site / "posts").rglob("*.*"))
        if args.undated:
            for path in posts:
                text = path.read_text(encoding="utf-8")
                path.write_text(DATE_LINE.sub("", text, count=1), encoding="utf-8")
        edited, moving = posts[-1], posts[-2]

        def run(command: str, *extra: str) -> measure.Measured:
            cmd = [sys.executable, "-m", "feedwright.cli", command, *extra, "-c", str(config)]
            m = measure.run(cmd, env=env, cwd=site)
            if m.returncode not in (0, 1):
                measure.fail(f"feedwright {command} exited {m.returncode}: {m.stderr[-2000:]}")
            return m

        results: dict[str, list[measure.Measured]] = {}
        results["cold"] = [run("build", "-q")]
        ledger = site / "feedwright.ids"
        lines = ledger.read_text(encoding="utf-8").count("\n")
        results["nochange"] = [run("build", "-q") for _ in range(args.repeat)]
        results["edit"] = []
        for i in range(args.repeat):
            with edited.open("a", encoding="utf-8") as f:
                f.write(f"\n{EDIT_MARK} {i}\n")
            results["edit"].append(run("build", "-q"))
        results["moved"] = []
        for i in range(args.repeat):
            target = moving.with_name(f"moved-{i}{moving.suffix}")
            moving.rename(target)
            moving = target
            m = run("build", "-q")
            if "moved from" not in m.stderr:
                measure.fail(f"the rename was not reported as a move: {m.stderr[-500:]}")
            results["moved"].append(m)
        results["plan"] = [run("plan") for _ in range(args.repeat)]
        results["clone"], results["clone-edit"] = [], []
        for i in range(args.repeat):
            for path in (site / "posts").rglob("*.*"):
                path.touch()
            shutil.rmtree(site / STATE_DIR, ignore_errors=True)
            shutil.rmtree(site / OUTPUT_DIR, ignore_errors=True)
            results["clone"].append(run("build", "-q"))
            with edited.open("a", encoding="utf-8") as f:
                f.write(f"\n{EDIT_MARK} clone {i}\n")
            results["clone-edit"].append(run("build", "-q"))

        kind = "undated posts" if args.undated else "posts"
        print(
            f"{args.posts} {kind}, {args.categories} categories; "
            f"feedwright.ids: {lines - 2} lines, {ledger.stat().st_size / 1e6:.2f} MB"
        )
        print(f"{'case':10s}  {'median s':>8s}  {'min–max':15s}  {'peak RSS MB':>11s}")
        for case, runs in results.items():
            s = measure.summarize(runs)
            print(f"{case:10s}  {s.cell()}  {s.rss_mb:11.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
