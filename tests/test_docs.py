"""The README stays true: every documented key and command exists, and vice versa."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from feedwright import config as cfgmod
from feedwright.cliparser import build_parser
from feedwright.config import parse

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The configuration reference: every key, type, default and meaning.
REFERENCE = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def documented_keys() -> set[str]:
    section = REFERENCE.split("# Configuration reference", 1)[1]
    return set(re.findall(r"^\| `([a-z_\[\].]+)` \|", section, flags=re.M))


def accepted_keys() -> set[str]:
    keys: set[str] = set()
    renames = {"path": "posts", "url": "feed"}
    for prefix, cls in [
        ("site", cfgmod.Site),
        ("output", cfgmod.Output),
        ("fetch", cfgmod.Fetch),
        ("schedule", cfgmod.Schedule),
        ("websub", cfgmod.WebSub),
        ("podcast", cfgmod.Podcast),
    ]:
        fields = [f for f in dataclasses.fields(cls) if not f.metadata.get("internal")]
        keys |= {f"{prefix}.{f.name}" for f in fields}
    for cls in (cfgmod.PostsSource, cfgmod.FeedSource):
        fields = [f for f in dataclasses.fields(cls) if not f.metadata.get("internal")]
        keys |= {f"sources[].{renames.get(f.name, f.name)}" for f in fields}
    keys |= {"state", "retention", "ids", "queue", "queue_lease", "queue_batch"}
    return keys


SAMPLES: dict[str, str] = {
    "site.title": "site:\n  title: T\n  url: https://x/\n",
    "site.url": "site:\n  title: T\n  url: https://x/\n",
    "site.description": "site:\n  title: T\n  url: https://x/\n  description: d\n",
    "site.author": "site:\n  title: T\n  url: https://x/\n  author: {name: A, email: a@x}\n",
    "site.language": "site:\n  title: T\n  url: https://x/\n  language: en\n",
    "site.timezone": "site:\n  title: T\n  url: https://x/\n  timezone: Asia/Shanghai\n",
}
BASE = "site:\n  title: T\n  url: https://x/\n"
PODCAST = "podcast:\n  image: /cover.jpg\n  category: [Arts, Books]\n"
SAMPLE_VALUES: dict[str, str] = {
    "sources[].posts": "sources:\n  - posts: .\n",
    "sources[].permalink": "sources:\n  - posts: .\n    permalink: '{slug}/'\n",
    "sources[].style": "sources:\n  - posts: .\n    style: hexo\n    permalink: '{slug}/'\n",
    "sources[].feed": "sources:\n  - feed: https://a/\n",
    "sources[].title": "sources:\n  - feed: https://a/\n    title: A\n",
    "sources[].categories": "sources:\n  - feed: https://a/\n    categories: [x]\n",
    "sources[].category_map": "sources:\n  - feed: https://a/\n    category_map: {a: b}\n",
    "sources[].keep_categories": "sources:\n  - feed: https://a/\n    keep_categories: false\n",
    "sources[].every": "sources:\n  - feed: https://a/\n    every: 30m\n",
    "sources[].filters": "sources:\n  - feed: https://a/\n    filters: {exclude: [ads]}\n",
    "sources[].priority": "sources:\n  - feed: https://a/\n    priority: 5\n",
    "output.dir": "output:\n  dir: out\n",
    "output.formats": "output:\n  formats: [atom, rss, json]\n",
    "output.limit": "output:\n  limit: 0\n",
    "output.content": "output:\n  content: summary\n",
    "output.categories": "output:\n  categories: [a]\n",
    "output.slugs": "output:\n  slugs: ascii\n",
    "output.rename": "output:\n  rename: {金融: finance}\n",
    "output.pages": "output:\n  pages: false\n",
    "output.stylesheet": "output:\n  stylesheet: false\n",
    "output.archives": "output:\n  archives: true\n",
    "output.tombstones": "output:\n  tombstones: 7d\n",
    "output.max_id_changes": "output:\n  max_id_changes: 10%\n",
    "websub.hub": "websub:\n  hub: [https://hub.example/, https://pubsubhubbub.appspot.com/]\n",
    "podcast.image": PODCAST,
    "podcast.category": PODCAST,
    "podcast.explicit": PODCAST + "  explicit: true\n",
    "podcast.owner": PODCAST + "  owner: {name: A, email: a@x.example}\n",
    "podcast.type": PODCAST + "  type: serial\n",
    "fetch.timeout": "fetch:\n  timeout: 5s\n",
    "fetch.max_bytes": "fetch:\n  max_bytes: 1MB\n",
    "fetch.concurrency": "fetch:\n  concurrency: 4\n",
    "fetch.user_agent": "fetch:\n  user_agent: x/1\n",
    "fetch.deadline": "fetch:\n  deadline: 5m\n",
    "fetch.transport": "fetch:\n  transport: httpx\n",
    "schedule.every": "schedule:\n  every: 2h\n",
    "schedule.jitter": "schedule:\n  jitter: 0.2\n",
    "schedule.adaptive": "schedule:\n  adaptive: true\n",
    "schedule.min_every": "schedule:\n  min_every: 5m\n",
    "schedule.max_every": "schedule:\n  max_every: 12h\n",
    "state": "state: s.db\n",
    "retention": "retention: 10\n",
    "ids": "ids: site.ids\n",
    "queue": "queue: redis://127.0.0.1:6379/0\n",
    "queue_lease": "queue_lease: 2m\n",
    "queue_batch": "queue_batch: 50\n",
}


def test_reference_lists_exactly_what_config_accepts() -> None:
    assert documented_keys() == accepted_keys()


@pytest.mark.parametrize("key", sorted(accepted_keys()))
def test_every_documented_key_is_accepted(key: str, tmp_path: Path) -> None:
    text = SAMPLES.get(key) or BASE + SAMPLE_VALUES[key]
    parse(text, tmp_path / "config.yaml")  # raises ConfigError("unknown key") if not


def test_readme_commands_exist() -> None:
    listed = build_parser().format_help().split("COMMAND", 2)[2]  # "    build   refresh ..."
    commands = set(re.findall(r"^ {4}([a-z-]+)(?: |$)", listed, flags=re.M))
    documented = set(re.findall(r"^\| `feedwright ([a-z-]+)", README, flags=re.M))
    assert documented == commands


def test_readme_shows_the_two_commands() -> None:
    assert "pip install . && feedwright build" in README
    assert "pip install -e '.[test]' && pytest" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && pytest" in ci


API_DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")


def test_the_readme_api_example_runs_as_a_script(tmp_path: Path, http_server: Any) -> None:
    # As a user runs it: a file of its own, on a site with a remote feed,
    # whose parsing starts worker processes (which must not run the script).
    import subprocess
    import sys

    from feedwright.cli import main

    assert main(["init", str(tmp_path)]) == 0
    url = http_server.route(
        "/feed.xml",
        body=b'<?xml version="1.0"?><rss version="2.0"><channel><title>R</title>'
        b"<item><title>Remote one</title><guid>r1</guid>"
        b"<pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item></channel></rss>",
        headers={"Content-Type": "application/rss+xml"},
    )
    config = tmp_path / "config.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("sources:\n", f"sources:\n  - feed: {url}\n", 1))
    (block,) = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    (tmp_path / "example.py").write_text(block, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout == "" and done.stderr == "", done
    assert "Remote one" in (tmp_path / "feeds" / "atom.xml").read_text(encoding="utf-8")


def test_the_api_page_examples_run_and_print_what_they_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import fnmatch

    from feedwright.cli import main

    assert main(["init", str(tmp_path)]) == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    blocks = re.findall(r"```python\n(.*?)```", API_DOC, flags=re.S)
    assert len(blocks) >= 6
    for block in blocks:
        expected = [
            line.split("#", 1)[1].strip()
            for line in block.splitlines()
            if line.lstrip().startswith("print(") and "#" in line
        ]
        exec(compile(block, "docs/api.md", "exec"), namespace)
        printed = capsys.readouterr().out.splitlines()
        if expected:
            assert len(printed) >= len(expected), block
            for want, got in zip(expected, printed, strict=False):
                pattern = want.replace("[", "[[]").replace("...", "*")
                assert fnmatch.fnmatchcase(got, pattern), (want, got)


def test_the_config_module_carries_the_readme_reference() -> None:
    # A pip-installed user has no README: `python -m pydoc feedwright.config` shows it.
    section = "Unknown keys are errors" + REFERENCE.split("Unknown keys are errors", 1)[1]
    rows = [line.strip() for line in section.splitlines() if line.strip()]
    doc = [line.strip() for line in (cfgmod.__doc__ or "").splitlines() if line.strip()]
    assert all(row in doc for row in rows)


def test_the_shipped_feeds_are_what_a_fresh_checkout_builds(tmp_path: Path) -> None:
    # `pip install . && feedwright build` on a fresh clone must publish the
    # committed feeds/ unchanged: files copied anew (new mtimes, no state).
    import shutil
    import subprocess
    import sys

    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(ROOT / "config.yaml", site / "config.yaml")
    shutil.copytree(ROOT / "posts", site / "posts")
    # As a clone has it: the lock file is not committed (.gitignore).
    shutil.copytree(
        ROOT / "feeds", site / "feeds", ignore=shutil.ignore_patterns(".feedwright.lock")
    )
    for extra in ("feedwright.ids",):
        if (ROOT / extra).exists():
            shutil.copy(ROOT / extra, site / extra)
    before = {p: p.read_bytes() for p in sorted((site / "feeds").rglob("*")) if p.is_file()}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "feedwright.cli",
            "build",
            "--json",
            "-c",
            str(site / "config.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    after = {p: p.read_bytes() for p in sorted((site / "feeds").rglob("*")) if p.is_file()}
    changed = sorted(str(p.relative_to(site)) for p in after if before.get(p) != after[p])
    changed = [c for c in changed if not c.endswith(".feedwright.lock")]
    assert not changed, f"rebuild feeds/ with `feedwright build` and commit it: {changed}"


def test_every_key_the_readme_names_is_accepted() -> None:
    # The README names keys in its prose (`output.archives`, `fetch.deadline`):
    # each must be one config.yaml accepts, and be in the reference.
    sections = "site|sources\\[\\]|output|fetch|schedule|websub|podcast"
    named = set(re.findall(rf"`((?:{sections})\.[a-z_]+)", README))
    assert named, "the README names no keys: the pattern is stale"
    assert named <= accepted_keys(), named - accepted_keys()
    assert named <= documented_keys(), named - documented_keys()


def test_a_program_using_the_api_is_type_checked(tmp_path: Path) -> None:
    """The package is typed (py.typed): mypy --strict on a user's program
    accepts the documented names and types, and calls a typo an error."""
    program = tmp_path / "use.py"
    program.write_text(
        "import feedwright\n"
        "from feedwright import BuildReport, OutputCheck, Plan, PublishSummary, Violation\n"
        "report: BuildReport = feedwright.build('config.yaml', offline=True)\n"
        "summary: PublishSummary = report.publish\n"
        "preview: Plan = feedwright.plan('config.yaml')\n"
        "found: OutputCheck = feedwright.check_output('feeds')\n"
        "problems: list[Violation] = found.problems\n"
        "feedwright.biuld('config.yaml')\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(program),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    said = done.stdout.splitlines()
    assert said[:-1] == [
        f'{program.name}:8: error: Module has no attribute "biuld"; maybe "build"?  [attr-defined]'
    ], done.stdout + done.stderr
