"""Download the real-world feed corpora into tests/corpora/cache/ (git-ignored).

Run by .ci/run before pytest, and by hand::

    python tests/corpora/fetch.py            # idempotent: a corpus already there is kept

Each corpus is the test data of a package's source distribution on PyPI,
fetched with ``pip download --no-binary :all: --no-deps NAME==VERSION``:

- feedparser: its own test suite, ~2,250 small documents written to exercise
  every corner of RSS 0.9x/1.0/2.0, Atom 0.3/1.0, CDF, encodings, entities,
  ill-formed XML and compressed bodies
- podcastparser (gPodder): ~70 real podcast feeds
- reader (lemon24): its sample Atom, RSS and JSON feeds

Only feed files are kept (``*.xml *.rss *.atom *.rdf *.json *.gz *.z``, not the
packages' expected-result files), at ``cache/<corpus>/<path in the package>``.
tests/test_corpora.py skips, saying so, when the cache is missing.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

CACHE = Path(__file__).resolve().parent / "cache"

# name: (pip requirement, the folder inside the sdist, file patterns, patterns to leave out)
CORPORA: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "feedparser": ("feedparser==6.0.14", "tests", ("*.xml", "*.gz", "*.z"), ()),
    "podcastparser": ("podcastparser==0.6.11", "tests/data", ("*.rss", "*.xml"), ()),
    "reader": (
        "reader==3.26",
        "tests/data",
        ("*.rss", "*.atom", "*.json", "*.xml"),
        ("*.json.py", "*.py"),
    ),
}


def fetch(name: str, cache: Path) -> int:
    """Unpack corpus ``name`` into ``cache/name``; the number of files it holds."""
    requirement, folder, patterns, leave_out = CORPORA[name]
    target = cache / name
    stamp = target / ".requirement"
    if stamp.exists() and stamp.read_text() == requirement:
        return sum(1 for p in target.rglob("*") if p.is_file() and p != stamp)
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:",
             "--no-deps", "-d", tmp, requirement],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise OSError(f"pip download {requirement} failed: {done.stderr.strip()[-500:]}")
        (sdist,) = Path(tmp).glob("*.tar.gz")
        if target.exists():
            shutil.rmtree(target)
        count = 0
        with tarfile.open(sdist) as archive:
            for member in archive.getmembers():
                parts = Path(member.name).parts[1:]  # drop "<name>-<version>/"
                inside = "/".join(parts)
                if not member.isfile() or not inside.startswith(folder + "/"):
                    continue
                base = parts[-1]
                if not any(fnmatch.fnmatch(base, p) for p in patterns):
                    continue
                if any(fnmatch.fnmatch(base, p) for p in leave_out):
                    continue
                source = archive.extractfile(member)
                if source is None:
                    continue
                path = target.joinpath(*parts[len(Path(folder).parts) :])
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(source.read())
                count += 1
    stamp.write_text(requirement)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args(argv)
    counts = {}
    for name in CORPORA:
        try:
            counts[name] = fetch(name, args.cache)
        except (OSError, ValueError, tarfile.TarError) as exc:
            print(f"corpora: {name} not fetched: {exc}", file=sys.stderr)
    print("corpora:", json.dumps(counts))
    return 0 if len(counts) == len(CORPORA) else 1


if __name__ == "__main__":
    sys.exit(main())
