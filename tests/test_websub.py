"""WebSub: hubs named in every format, pinged for exactly the feeds that changed,
failures reported, remembered and retried; against a loopback hub that records
what it is sent (``tests/conftest.py``)."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import feedparser
from lxml import etree

import feedwright
from feedwright.cli import main
from feedwright.daemon import Daemon
from feedwright.parallel import Pool

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"
SITE = "https://site.example/"


def post(title: str, category: str, day: int, body: str = "Body.") -> str:
    return f"---\ntitle: {title}\ndate: 2024-04-{day:02d}\ncategories: [{category}]\n---\n{body}\n"


def make_site(root: Path, hubs: list[str], extra: str = "") -> Path:
    (root / "posts").mkdir(parents=True, exist_ok=True)
    (root / "posts" / "a.md").write_text(post("Alpha", "A", 1), encoding="utf-8")
    (root / "posts" / "b.md").write_text(post("Beta", "B", 2), encoding="utf-8")
    hub = "\n".join(f"    - {url}" for url in hubs)
    config = root / "config.yaml"
    config.write_text(
        f"site:\n  title: Hubbed\n  url: {SITE}\nsources:\n  - posts: posts\n"
        f"output:\n  dir: feeds\n  formats: [atom, rss, json]\n"
        f"websub:\n  hub:\n{hub}\nfetch:\n  timeout: 2s\n{extra}",
        encoding="utf-8",
    )
    return config


def pings(http_server: Any, path: str = "/hub") -> list[list[tuple[str, str]]]:
    """The form fields of each POST the hub at ``path`` received, in order."""
    return [
        parse_qsl(r.body.decode("ascii"))
        for r in http_server.requests
        if r.method == "POST" and r.path == path
    ]


def urls_of(fields: list[tuple[str, str]]) -> list[str]:
    assert fields[0] == ("hub.mode", "publish")
    return [value for name, value in fields[1:] if name == "hub.url"]


def feed_urls(written: list[str]) -> list[str]:
    names = ("atom.xml", "rss.xml", "feed.json")
    return sorted(f"{SITE}feeds/{rel}" for rel in written if rel.rsplit("/", 1)[-1] in names)


# --------------------------------------------------------------------------- advertised


def test_every_format_names_the_hubs(tmp_path: Path, http_server: Any) -> None:
    hubs = [http_server.route("/hub", status=204), http_server.route("/hub2", status=202)]
    config = make_site(tmp_path, hubs)
    report = feedwright.build(config, now=NOW)
    assert not report.problems
    out = tmp_path / "feeds"
    for rel in ("atom.xml", "a/atom.xml"):
        root = etree.fromstring((out / rel).read_bytes())
        links = root.findall(f"{ATOM}link")
        assert [(x.get("rel"), x.get("href")) for x in links if x.get("rel") == "hub"] == [
            ("hub", hubs[0]),
            ("hub", hubs[1]),
        ]
        # Beside an absolute self link, as WebSub asks.
        assert next(x.get("href") for x in links if x.get("rel") == "self") == f"{SITE}feeds/{rel}"
    channel = etree.fromstring((out / "rss.xml").read_bytes()).find("channel")
    links = channel.findall(f"{ATOM}link")
    assert [x.get("rel") for x in links] == ["self", "hub", "hub"]
    assert [x.get("href") for x in links[1:]] == hubs
    doc = json.loads((out / "b" / "feed.json").read_bytes())
    assert doc["hubs"] == [{"type": "WebSub", "url": hub} for hub in hubs]
    assert doc["feed_url"] == f"{SITE}feeds/b/feed.json"
    # Readers still read them (feedparser sees the hub links).
    parsed = feedparser.parse((out / "rss.xml").read_bytes())
    assert not parsed.bozo and [x.href for x in parsed.feed.links if x.rel == "hub"] == hubs


# --------------------------------------------------------------------------- pinged


def test_a_build_pings_each_hub_for_exactly_the_feeds_that_changed(
    tmp_path: Path, http_server: Any
) -> None:
    hub = http_server.route("/hub", status=204)
    other = http_server.route("/other", status=202)
    config = make_site(tmp_path, [hub, other])

    first = feedwright.build(config, now=NOW)
    changed = feed_urls(first.publish.written)
    assert len(changed) == 9  # combined, A and B, three formats each
    for path in ("/hub", "/other"):
        [fields] = pings(http_server, path)
        assert urls_of(fields) == changed  # one request per hub, every feed in it
    post_ = next(r for r in http_server.requests if r.method == "POST")
    assert post_.headers["content-type"] == "application/x-www-form-urlencoded"
    assert [(p.hub, p.error) for p in first.pings] == [(hub, None), (other, None)]

    # Nothing changed: nobody is pinged.
    again = feedwright.build(config, now=NOW)
    assert again.publish.written == [] and again.pings == []
    assert len(pings(http_server)) == 1

    # One post of B edited: the combined feed and B's, nothing of A's.
    (tmp_path / "posts" / "b.md").write_text(post("Beta", "B", 2, "Edited."), encoding="utf-8")
    edit = feedwright.build(config, now=NOW)
    expected = feed_urls(edit.publish.written)
    assert expected == [
        f"{SITE}feeds/{rel}"
        for rel in ("atom.xml", "b/atom.xml", "b/feed.json", "b/rss.xml", "feed.json", "rss.xml")
    ]
    assert urls_of(pings(http_server)[-1]) == expected
    assert urls_of(pings(http_server, "/other")[-1]) == expected


def test_a_failing_hub_never_fails_the_build_and_is_tried_again(
    tmp_path: Path, http_server: Any, capsys: Any
) -> None:
    hub = http_server.route("/hub", status=503, body=b"busy")
    config = make_site(tmp_path, [hub])

    # Published all the same; the hub's failure is a problem on stderr (exit 1).
    assert main(["build", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{hub}: WebSub ping failed (HTTP 503" in err
    assert "9 feeds to ping again later" in err
    assert (tmp_path / "feeds" / "atom.xml").is_file()
    first = urls_of(pings(http_server)[-1])

    # Still failing: every build tries again, the same feeds.
    assert main(["build", "-c", str(config)]) == 1
    assert urls_of(pings(http_server)[-1]) == first
    capsys.readouterr()

    # The hub is back: the next build (nothing else changed) delivers them, once.
    http_server.route("/hub", status=204)
    assert main(["build", "-c", str(config), "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["written"] == [] and view["problems"] == []
    assert view["pings"] == [{"hub": hub, "feeds": 9, "error": None}]
    assert urls_of(pings(http_server)[-1]) == first
    count = len(pings(http_server))
    assert main(["build", "-c", str(config)]) == 0
    assert len(pings(http_server)) == count  # nothing left to send


def test_a_refused_or_silent_hub_is_reported(tmp_path: Path, http_server: Any) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/hub"

    def silent(request: BaseHTTPRequestHandler) -> None:
        import time

        time.sleep(3)  # longer than fetch.timeout (2s)

    slow = http_server.route("/slow", handler=silent)
    good = http_server.route("/hub", status=204)
    config = make_site(tmp_path, [closed, slow, good])
    report = feedwright.build(config, now=NOW)
    by_hub = {p.hub: p.error for p in report.pings}
    assert by_hub[good] is None  # one failing hub costs the others nothing
    assert by_hub[closed] and "cannot connect" in by_hub[closed]
    assert by_hub[slow] and "timed out" in by_hub[slow]
    assert len(report.problems) == 2
    assert (tmp_path / "feeds" / "rss.xml").is_file()


def test_offline_builds_queue_pings_for_the_next_online_build(
    tmp_path: Path, http_server: Any
) -> None:
    hub = http_server.route("/hub", status=204)
    config = make_site(tmp_path, [hub])
    report = feedwright.build(config, now=NOW, offline=True)
    assert report.pings == [] and pings(http_server) == []
    (tmp_path / "posts" / "a.md").write_text(post("Alpha", "A", 1, "Edited."), encoding="utf-8")
    assert feedwright.build(config, now=NOW, offline=True).pings == []
    # Online again: everything both offline builds changed, in one request.
    report = feedwright.build(config, now=NOW)
    assert report.publish.written == [] and [p.error for p in report.pings] == [None]
    assert len(urls_of(pings(http_server)[-1])) == 9


def test_a_hub_taken_out_of_the_config_is_not_pinged_again(
    tmp_path: Path, http_server: Any
) -> None:
    dead = http_server.route("/dead", status=500)
    hub = http_server.route("/hub", status=204)
    config = make_site(tmp_path, [dead, hub])
    assert len(feedwright.build(config, now=NOW).problems) == 1
    make_site(tmp_path, [hub])  # the config without it (the feeds change: hub links)
    report = feedwright.build(config, now=NOW)
    assert [p.hub for p in report.pings] == [hub] and not report.problems
    assert len(pings(http_server, "/dead")) == 1


# --------------------------------------------------------------------------- the daemon


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_the_daemon_pings_from_its_tick_and_backs_off_a_failing_hub(
    tmp_path: Path, http_server: Any
) -> None:
    hub = http_server.route("/hub", status=502)
    config = feedwright.load_config(make_site(tmp_path, [hub]))
    clock = FakeClock(NOW)

    async def scenario() -> None:
        with Pool() as pool:
            daemon = Daemon(config, pool, clock=clock)
            assert daemon.rebuild() is not None  # publishes; its builds never ping
            assert pings(http_server) == []
            await daemon.tick()  # the tick pings: the hub fails
            assert len(pings(http_server)) == 1
            await daemon.tick()  # too soon to try again
            clock.now += timedelta(seconds=30)
            await daemon.tick()
            assert len(pings(http_server)) == 1
            http_server.route("/hub", status=204)
            clock.now += timedelta(minutes=1)  # the first retry is a minute later
            await daemon.tick()
            assert len(pings(http_server)) == 2 and len(urls_of(pings(http_server)[-1])) == 9
            assert daemon.outbox_at is None  # nothing owed any more
            # An edit: the rebuild queues, the next tick pings those feeds alone.
            (tmp_path / "posts" / "a.md").write_text(post("Alpha", "A", 1, "New."))
            report = daemon.rebuild()
            assert report is not None
            await daemon.tick()
            assert urls_of(pings(http_server)[-1]) == feed_urls(report.publish.written)

    asyncio.run(scenario())


def test_the_daemon_offline_pings_nobody(tmp_path: Path, http_server: Any) -> None:
    hub = http_server.route("/hub", status=204)
    config = feedwright.load_config(make_site(tmp_path, [hub]))

    async def scenario() -> None:
        with Pool() as pool:
            daemon = Daemon(config, pool, clock=FakeClock(NOW), offline=True)
            daemon.rebuild()
            await daemon.tick()

    asyncio.run(scenario())
    assert pings(http_server) == []


def test_hubs_are_validated_in_the_config(tmp_path: Path, capsys: Any) -> None:
    config = make_site(tmp_path, ["ftp://hub.example/"])
    assert main(["check", "-c", str(config)]) == 2
    assert "websub.hub" in capsys.readouterr().err


def test_a_no_change_build_of_a_site_with_hubs_and_episodes_imports_nothing_heavy(
    tmp_path: Path, http_server: Any
) -> None:
    import subprocess
    import sys

    hub = http_server.route("/hub", status=204)
    extra = "podcast:\n  image: /c.jpg\n  category: Technology\n"
    config = make_site(tmp_path, [hub], extra)
    (tmp_path / "posts" / "ep.md").write_text(
        "---\ntitle: Ep\ndate: 2024-04-03\naudio: https://cdn.example/ep.mp3\nlength: 5\n---\nx\n"
    )
    assert main(["build", "-q", "-c", str(config)]) == 0
    probe = (
        "import sys\n"
        "from feedwright.cli import main\n"
        f"assert main(['build', '-v', '-c', {str(config)!r}]) == 0\n"
        "heavy = ('feedgen', 'lxml', 'httpx', 'httpcore', 'frontmatter', 'feedparser')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "    or m in ('feedwright.posts.entry', 'feedwright.posts.frontmatter',\n"
        "             'feedwright.media', 'feedwright.websub', 'feedwright.render')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # (-v: why a build was not the no-change one is in its log, should this fail)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
    assert len(pings(http_server)) == 1  # and pinged nobody
