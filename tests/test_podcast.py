"""Podcasts from front matter: ``podcast:`` in the config, ``audio:`` per post.

Through ``feedwright.build`` and the CLI on real files; remote audio served by
the loopback server, which records the HEAD requests made for its length.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

import feedwright
from feedwright.cli import main
from feedwright.daemon import Daemon
from feedwright.parallel import Pool

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
ATOM = "{http://www.w3.org/2005/Atom}"
SITE = "https://radio.example/"
AUDIO = b"ID3" + bytes(range(256)) * 40  # 10,243 bytes

PODCAST = """\
podcast:
  image: /cover.jpg
  category: [Society & Culture, Documentary]
  explicit: false
  owner: {name: Radio Desk, email: desk@radio.example}
  type: serial
"""


def episode(title: str, day: int, audio: str, extra: str = "", category: str = "Show") -> str:
    return (
        f"---\ntitle: {title}\ndate: 2024-04-{day:02d}T08:00:00Z\ncategories: [{category}]\n"
        f"audio: {audio}\n{extra}---\nNotes for {title}.\n"
    )


def make_site(
    root: Path, posts: dict[str, str], *, podcast: str = PODCAST, output: str = ""
) -> Path:
    (root / "posts").mkdir(parents=True, exist_ok=True)
    for name, text in posts.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    config = root / "config.yaml"
    config.write_text(
        f"site:\n  title: Radio\n  url: {SITE}\n  language: en\n"
        "  author: {name: Radio Desk, email: desk@radio.example}\n"
        f"sources:\n  - posts: posts\noutput:\n  dir: feeds\n  formats: [atom, rss, json]\n"
        f"{output}fetch:\n  timeout: 2s\n{podcast}",
        encoding="utf-8",
    )
    return config


def heads(http_server: Any, path: str) -> int:
    return sum(1 for r in http_server.requests if r.method == "HEAD" and r.path == path)


def serve_audio(http_server: Any, path: str, **kwargs: Any) -> str:
    return http_server.route(path, body=AUDIO, headers={"Content-Type": "audio/mpeg"}, **kwargs)


@pytest.fixture
def show(tmp_path: Path, http_server: Any) -> tuple[Path, str]:
    """A podcast site: a local episode, a remote one (length by HEAD), a remote
    one with its length written, and a post that is no episode."""
    remote = serve_audio(http_server, "/ep2.mp3")
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "ep1.mp3").write_bytes(AUDIO[:5000])
    posts = {
        "ep1.md": episode(
            "Harbour sounds",
            1,
            "media/ep1.mp3",
            "duration: 1:02:03\nepisode: 1\nseason: 2\nimage: /art/ep1.jpg\n",
        ),
        "ep2.md": episode("Ferry talk", 2, remote, "duration: 95\nepisode: 2\nexplicit: true\n"),
        "ep3.md": episode("Bridges", 3, "https://cdn.radio.example/ep3.m4a", "length: 777\n"),
        "note.md": "---\ntitle: A note\ndate: 2024-04-04\ncategories: [Blog]\n---\nNo audio.\n",
    }
    return make_site(tmp_path, posts), remote


def rss(path: Path) -> Any:
    return etree.fromstring(path.read_bytes()).find("channel")


def test_episodes_become_a_podcast_feed_with_real_lengths(
    show: tuple[Path, str], http_server: Any
) -> None:
    config, remote = show
    report = feedwright.build(config, now=NOW)
    assert not report.problems, report.problems
    out = config.parent / "feeds"

    channel = rss(out / "show" / "rss.xml")
    assert channel.find(f"{ITUNES}image").get("href") == f"{SITE}cover.jpg"
    category = channel.find(f"{ITUNES}category")
    assert category.get("text") == "Society & Culture"
    assert category.find(f"{ITUNES}category").get("text") == "Documentary"
    assert channel.findtext(f"{ITUNES}explicit") == "false"
    assert channel.findtext(f"{ITUNES}type") == "serial"
    assert channel.findtext(f"{ITUNES}author") == "Radio Desk"
    assert channel.find(f"{ITUNES}owner").findtext(f"{ITUNES}email") == "desk@radio.example"

    items = {i.findtext("title"): i for i in channel.iter("item")}
    assert list(items) == ["Bridges", "Ferry talk", "Harbour sounds"]
    enclosures = {t: i.find("enclosure").attrib for t, i in items.items()}
    assert enclosures["Harbour sounds"] == {
        "url": f"{SITE}media/ep1.mp3",
        "length": "5000",  # the file's size in the site folder
        "type": "audio/mpeg",
    }
    assert enclosures["Ferry talk"]["length"] == str(len(AUDIO))  # by a HEAD request
    assert enclosures["Bridges"] == {
        "url": "https://cdn.radio.example/ep3.m4a",
        "length": "777",  # as written
        "type": "audio/x-m4a",
    }
    first = items["Harbour sounds"]
    assert first.findtext(f"{ITUNES}duration") == "3723"
    assert (first.findtext(f"{ITUNES}episode"), first.findtext(f"{ITUNES}season")) == ("1", "2")
    assert first.find(f"{ITUNES}image").get("href") == f"{SITE}art/ep1.jpg"
    assert items["Ferry talk"].findtext(f"{ITUNES}explicit") == "true"
    assert items["Bridges"].find(f"{ITUNES}explicit") is None

    # A category without episodes is no podcast; the combined feed holds episodes, so is one.
    blog = (out / "blog" / "rss.xml").read_bytes()
    assert b"itunes" not in blog
    assert rss(out / "rss.xml").find(f"{ITUNES}category") is not None

    # Atom: typed enclosure links with their length; JSON Feed: attachments.
    atom = etree.fromstring((out / "show" / "atom.xml").read_bytes())
    links = [
        link.attrib
        for entry in atom.iter(f"{ATOM}entry")
        for link in entry.findall(f"{ATOM}link")
        if link.get("rel") == "enclosure"
    ]
    assert {"href": remote, "rel": "enclosure", "type": "audio/mpeg", "length": "10243"} in links
    items_json = json.loads((out / "show" / "feed.json").read_bytes())["items"]
    ferry = next(i for i in items_json if i["title"] == "Ferry talk")
    assert ferry["attachments"] == [
        {
            "url": remote,
            "mime_type": "audio/mpeg",
            "size_in_bytes": 10243,
            "duration_in_seconds": 95,
        }
    ]

    # Readers see the episodes.
    parsed = feedparser.parse((out / "show" / "rss.xml").read_bytes())
    assert not parsed.bozo
    by_title = {e.title: e for e in parsed.entries}
    assert by_title["Harbour sounds"].itunes_duration == "3723"
    assert by_title["Ferry talk"].enclosures[0].length == "10243"

    # One HEAD, remembered: neither an unchanged nor an edit build asks again.
    assert heads(http_server, "/ep2.mp3") == 1
    assert feedwright.build(config, now=NOW).cached
    (config.parent / "posts" / "note.md").write_text("---\ntitle: A note, edited\n---\nx\n")
    assert not feedwright.build(config, now=NOW).problems
    assert heads(http_server, "/ep2.mp3") == 1


MEDIA = "{http://search.yahoo.com/mrss/}"


def test_in_a_podcast_feed_only_episodes_carry_an_enclosure(tmp_path: Path) -> None:
    # Podcast apps take an item with an <enclosure> for an episode: a post
    # with only an image would be listed as an episode nobody can play.
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "ep1.mp3").write_bytes(AUDIO[:5000])
    note = "---\ntitle: {t}\ndate: 2024-04-0{d}\ncategories: [{c}]\nimage: /media/{i}\n---\nx\n"
    posts = {
        "ep1.md": episode("Harbour sounds", 1, "media/ep1.mp3", "image: /art/ep1.jpg\n"),
        "photo.md": note.format(t="Behind the scenes", d=3, c="Show", i="desk.jpg"),
        "blog.md": note.format(t="A walk", d=4, c="Blog", i="walk.png"),
    }
    config = make_site(tmp_path, posts)
    assert not feedwright.build(config, now=NOW).problems
    out = tmp_path / "feeds"

    for feed in (out / "show" / "rss.xml", out / "rss.xml"):  # podcasts: they hold an episode
        items = {i.findtext("title"): i for i in rss(feed).iter("item")}
        photo = items["Behind the scenes"]
        assert photo.find("enclosure") is None
        assert photo.find(f"{ITUNES}image") is None  # (an episode's artwork only)
        assert photo.find(f"{MEDIA}content").attrib == {
            "url": f"{SITE}media/desk.jpg",
            "type": "image/jpeg",
            "medium": "image",
        }
        assert photo.find(f"{MEDIA}thumbnail").get("url") == f"{SITE}media/desk.jpg"
        # The episode: its audio is its one enclosure, its image its artwork.
        ep = items["Harbour sounds"]
        assert [e.get("url") for e in ep.iter("enclosure")] == [f"{SITE}media/ep1.mp3"]
        assert ep.find(f"{ITUNES}image").get("href") == f"{SITE}art/ep1.jpg"
        assert ep.find(f"{MEDIA}content").get("url") == f"{SITE}art/ep1.jpg"
        parsed = feedparser.parse(feed.read_bytes())
        assert not parsed.bozo
        by_title = {e.title: e for e in parsed.entries}
        assert by_title.pop("Harbour sounds").enclosures
        assert all(e.enclosures == [] for e in by_title.values()), by_title
        if feed.parent.name == "feeds":
            walk = items["A walk"]
            assert walk.find("enclosure") is None
            assert walk.find(f"{MEDIA}content").get("url") == f"{SITE}media/walk.png"

    # A feed without episodes is no podcast: its image enclosure stays, as in
    # any site's RSS (readers such as feedparser's list it in `enclosures`).
    blog = rss(out / "blog" / "rss.xml")
    assert b"itunes" not in (out / "blog" / "rss.xml").read_bytes()
    assert blog.find("item/enclosure").attrib == {
        "url": f"{SITE}media/walk.png",
        "length": "0",
        "type": "image/png",
    }
    assert feedparser.parse((out / "blog" / "rss.xml").read_bytes()).entries[0].enclosures


REMOTE_MIXED = """\
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Friend</title><link>https://friend.example/</link>
<description>Talks and papers</description>
<item><title>Talk</title><guid>https://friend.example/talk</guid>
  <pubDate>Mon, 01 Apr 2024 10:00:00 +0000</pubDate>
  <enclosure url="https://friend.example/talk.mp3" length="4321" type="audio/mpeg"/></item>
<item><title>Paper</title><guid>https://friend.example/paper</guid>
  <pubDate>Tue, 02 Apr 2024 10:00:00 +0000</pubDate>
  <enclosure url="https://friend.example/paper.pdf" length="999" type="application/pdf"/></item>
</channel></rss>
"""


def test_a_remote_item_that_is_no_episode_has_no_enclosure_in_a_podcast(
    tmp_path: Path, http_server: Any
) -> None:
    # Apple Podcasts lists a PDF enclosure as an episode of its own.
    url = http_server.route(
        "/friend.xml", body=REMOTE_MIXED.encode(), headers={"Content-Type": "application/rss+xml"}
    )
    config = make_site(tmp_path, {})
    config.write_text(config.read_text().replace("  - posts: posts\n", f"  - feed: {url}\n"))
    assert not feedwright.build(config, now=NOW).problems
    out = tmp_path / "feeds"
    items = {i.findtext("title"): i for i in rss(out / "rss.xml").iter("item")}
    assert items["Talk"].find("enclosure").get("url") == "https://friend.example/talk.mp3"
    assert items["Paper"].find("enclosure") is None
    atom = (out / "atom.xml").read_text()  # Atom and JSON Feed keep it
    assert 'href="https://friend.example/paper.pdf"' in atom
    assert "https://friend.example/paper.pdf" in (out / "feed.json").read_text()


def test_the_same_inputs_give_the_same_bytes(show: tuple[Path, str], tmp_path: Path) -> None:
    config, _ = show
    feedwright.build(config, now=NOW)
    out = config.parent / "feeds"
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (config.parent / ".feedwright").rename(tmp_path / "old-state")
    for path in out.rglob("*.xml"):
        path.unlink()
    feedwright.build(config, now=NOW)
    again = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert again == first


@pytest.mark.parametrize("block", [PODCAST, ""], ids=["podcast", "no-podcast-block"])
def test_an_audio_file_replaced_under_its_name_gets_its_new_length(
    tmp_path: Path, block: str
) -> None:
    # A re-encoded episode is uploaded under the same name: nothing else
    # changed, yet the feeds must carry its new size (readers check it).
    posts = {
        "ep.md": episode("Harbour sounds", 1, "media/ep.mp3"),
        "note.md": "---\ntitle: A note\ndate: 2024-04-04\ncategories: [Show]\n---\nx\n",
    }
    config = make_site(tmp_path, posts, podcast=block)
    (tmp_path / "media").mkdir()
    audio = tmp_path / "media" / "ep.mp3"
    audio.write_bytes(AUDIO[:5000])
    assert not feedwright.build(config, now=NOW).problems
    out = tmp_path / "feeds" / "show" / "rss.xml"

    def length() -> str:
        return str(rss(out).find("item[title='Harbour sounds']/enclosure").get("length"))

    assert length() == "5000"
    audio.write_bytes(AUDIO[:7000])
    report = feedwright.build(config, now=NOW)
    assert not report.cached and not report.problems
    assert length() == "7000"
    assert feedwright.build(config, now=NOW).cached  # and then nothing to do again
    # An edit of another post in place, then the audio replaced once more.
    (tmp_path / "posts" / "note.md").write_text(posts["note.md"].replace("x\n", "y\n"))
    assert not feedwright.build(config, now=NOW).problems
    audio.write_bytes(AUDIO[:6000])
    (tmp_path / "posts" / "note.md").write_text(posts["note.md"].replace("x\n", "z\n"))
    assert not feedwright.build(config, now=NOW).problems
    assert length() == "6000"
    atom = (tmp_path / "feeds" / "show" / "atom.xml").read_text()
    assert 'length="6000"' in atom and 'length="7000"' not in atom


def test_a_local_files_size_wins_over_a_length_written_in_front_matter(tmp_path: Path) -> None:
    # As docs/publishing.md says: the file's size, else `length:` (for audio
    # uploaded on its own, not in the site folder).
    posts = {
        "here.md": episode("Here", 1, "media/here.mp3", "length: 123\n"),
        "away.md": episode("Away", 2, "media/away.mp3", "length: 456\n"),
    }
    config = make_site(tmp_path, posts)
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "here.mp3").write_bytes(AUDIO[:5000])
    assert not feedwright.build(config, now=NOW).problems
    channel = rss(tmp_path / "feeds" / "show" / "rss.xml")
    lengths = {i.findtext("title"): i.find("enclosure").get("length") for i in channel.iter("item")}
    assert lengths == {"Here": "5000", "Away": "456"}


REMOTE_SHOW = """\
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Friend Cast</title><link>https://friend.example/</link>
<description>A friend's show</description><itunes:explicit>false</itunes:explicit>
<item><title>FC 10</title><guid isPermaLink="false">fc-10</guid>
  <link>https://friend.example/10</link><pubDate>Mon, 01 Apr 2024 10:00:00 +0000</pubDate>
  <enclosure url="https://cdn.friend.example/fc10.mp3" length="12345678" type="audio/mpeg"/>
  <itunes:duration>00:31:05</itunes:duration><itunes:episode>10</itunes:episode>
  <itunes:season>2</itunes:season><itunes:explicit>yes</itunes:explicit>
  <itunes:image href="https://friend.example/fc10.jpg"/></item>
<item><title>FC 9</title><guid isPermaLink="false">fc-9</guid>
  <link>https://friend.example/9</link><pubDate>Mon, 25 Mar 2024 10:00:00 +0000</pubDate>
  <enclosure url="http://127.0.0.1:1/fc9.mp3" length="0" type="audio/mpeg"/>
  <itunes:duration>12:07</itunes:duration></item>
</channel></rss>
"""
REMOTE_JSON = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JSON Pod",
    "items": [
        {
            "id": "https://jsonpod.example/1",
            "title": "JP 1",
            "content_text": "One",
            "date_published": "2024-04-02T00:00:00Z",
            "image": "https://jsonpod.example/1.png",
            "attachments": [
                {
                    "url": "https://jsonpod.example/1.mp3",
                    "mime_type": "audio/mpeg",
                    "size_in_bytes": 777,
                    "duration_in_seconds": 1500,
                }
            ],
        }
    ],
}


@pytest.mark.parametrize("block", [PODCAST, ""], ids=["podcast", "no-podcast-block"])
def test_remote_episodes_keep_their_podcast_tags_when_republished(
    tmp_path: Path, http_server: Any, block: str
) -> None:
    # A planet of other people's podcasts: what their items say of each episode
    # (duration, number, season, explicit, artwork) reaches its listeners.
    rss_url = http_server.route(
        "/show.xml", body=REMOTE_SHOW.encode(), headers={"Content-Type": "application/rss+xml"}
    )
    json_url = http_server.route(
        "/feed.json",
        body=json.dumps(REMOTE_JSON).encode(),
        headers={"Content-Type": "application/feed+json"},
    )
    config = make_site(tmp_path, {}, podcast=block)
    text = config.read_text().replace(
        "  - posts: posts\n",
        f"  - posts: posts\n  - feed: {rss_url}\n    categories: [Friends]\n"
        f"  - feed: {json_url}\n    categories: [Friends]\n",
    )
    config.write_text(text)
    report = feedwright.build(config, now=NOW)
    assert not report.problems, report.problems
    assert not any(r.method == "HEAD" for r in http_server.requests)  # theirs: as given

    out = tmp_path / "feeds" / "friends"
    items = {i.findtext("title"): i for i in rss(out / "rss.xml").iter("item")}
    assert list(items) == ["JP 1", "FC 10", "FC 9"]  # the length 0 one too
    assert items["FC 9"].find("enclosure").get("length") == "0"
    if block:
        ten, nine = items["FC 10"], items["FC 9"]
        assert ten.findtext(f"{ITUNES}duration") == "1865"
        assert (ten.findtext(f"{ITUNES}episode"), ten.findtext(f"{ITUNES}season")) == ("10", "2")
        assert ten.findtext(f"{ITUNES}explicit") == "true"
        assert ten.find(f"{ITUNES}image").get("href") == "https://friend.example/fc10.jpg"
        assert nine.findtext(f"{ITUNES}duration") == "727"
        assert items["JP 1"].findtext(f"{ITUNES}duration") == "1500"
        assert items["JP 1"].find("enclosure").get("url") == "https://jsonpod.example/1.mp3"
        assert rss(out / "rss.xml").find(f"{ITUNES}category") is not None
    else:
        assert b"itunes" not in (out / "rss.xml").read_bytes()
    by_title = {i["title"]: i for i in json.loads((out / "feed.json").read_bytes())["items"]}
    assert by_title["FC 10"]["attachments"][0]["duration_in_seconds"] == 1865
    assert by_title["JP 1"]["attachments"][0] == {
        "url": "https://jsonpod.example/1.mp3",
        "mime_type": "audio/mpeg",
        "size_in_bytes": 777,
        "duration_in_seconds": 1500,
    }
    assert not feedwright.build(config, now=NOW).problems


def test_plan_finds_local_audio_in_the_site_folder(show: tuple[Path, str]) -> None:
    # plan builds into a copy of the output folder, elsewhere: the audio is
    # still looked for in the site folder (it was looked for beside the copy).
    config, _ = show
    feedwright.build(config, now=NOW)
    found = feedwright.plan(config, now=NOW)
    assert found.report.problems == []
    assert found.created == [] and found.removed == [] and found.rewritten == []
    assert all(not f.added and not f.removed for f in found.feeds)


def test_an_episode_without_a_length_is_held_back_until_it_has_one(
    tmp_path: Path, http_server: Any, capsys: Any
) -> None:
    missing = http_server.url("/later.mp3")  # 404 for now
    posts = {
        "ep.md": episode("Soon", 5, missing),
        "gone.md": episode("Lost", 4, "media/nowhere.mp3"),
        "old.md": episode("Old", 1, "https://cdn.radio.example/old.mp3", "length: 10\n"),
    }
    config = make_site(tmp_path, posts, output="  limit: 1\n")
    assert main(["build", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"ep.md: audio: {missing}: its length is unknown (HEAD: HTTP 404" in err
    assert "left out of the feeds until then" in err
    assert "gone.md: audio: no such file in the site folder" in err
    out = tmp_path / "feeds"
    # Never an enclosure without a length: the next post takes the feed's one place.
    titles = [i.findtext("title") for i in rss(out / "rss.xml").iter("item")]
    assert titles == ["Old"]

    # Nothing changed, but a held-back episode is tried again by every build.
    serve_audio(http_server, "/later.mp3")
    # (Lost, whose file is still missing, is beyond the limit now: in no feed, not read.)
    assert main(["build", "-c", str(config)]) == 0
    assert "Soon" in [i.findtext("title") for i in rss(out / "rss.xml").iter("item")]
    item = rss(out / "rss.xml").find("item")
    assert item.find("enclosure").get("length") == str(len(AUDIO))


def test_a_server_that_will_not_say_the_length_on_head_is_asked_for_one_byte(
    tmp_path: Path, http_server: Any
) -> None:
    def ranged(request: Any) -> None:
        if request.command == "HEAD":
            request.send_response(405)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        assert request.headers["Range"] == "bytes=0-0"
        request.send_response(206)
        request.send_header("Content-Range", f"bytes 0-0/{len(AUDIO)}")
        request.send_header("Content-Length", "1")
        request.end_headers()
        request.wfile.write(AUDIO[:1])

    url = http_server.route("/ranged.mp3", handler=ranged)
    config = make_site(tmp_path, {"ep.md": episode("Ranged", 1, url)})
    assert not feedwright.build(config, now=NOW).problems
    item = rss(tmp_path / "feeds" / "rss.xml").find("item")
    assert item.find("enclosure").get("length") == str(len(AUDIO))


def test_a_redirecting_audio_url_is_followed_for_its_length(
    tmp_path: Path, http_server: Any
) -> None:
    serve_audio(http_server, "/files/ep.mp3")
    url = http_server.route("/go/ep.mp3", status=302, headers={"Location": "/files/ep.mp3"})
    config = make_site(tmp_path, {"ep.md": episode("Moved", 1, url)})
    assert not feedwright.build(config, now=NOW).problems
    item = rss(tmp_path / "feeds" / "rss.xml").find("item")
    assert item.find("enclosure").attrib["url"] == url  # the address as written
    assert item.find("enclosure").attrib["length"] == str(len(AUDIO))


def test_the_daemon_learns_a_length_in_its_tick_and_publishes_the_episode(
    tmp_path: Path, http_server: Any
) -> None:
    url = http_server.url("/late.mp3")  # 404 at first
    config = feedwright.load_config(make_site(tmp_path, {"ep.md": episode("Late", 1, url)}))
    out = tmp_path / "feeds" / "rss.xml"

    clock = [NOW]

    async def scenario() -> None:
        with Pool() as pool:
            daemon = Daemon(config, pool, clock=lambda: clock[0])
            report = daemon.rebuild()  # its builds make no requests: held back
            assert report is not None and report.post_errors
            assert heads(http_server, "/late.mp3") == 0
            await daemon.tick()  # the tick asks, and fails
            assert heads(http_server, "/late.mp3") == 1 and not daemon.dirty
            serve_audio(http_server, "/late.mp3")
            await daemon.tick()  # too soon to ask again
            assert heads(http_server, "/late.mp3") == 1
            clock[0] += timedelta(minutes=2)
            await daemon.tick()
            assert daemon.dirty  # learnt: a rebuild will publish it
            report = daemon.rebuild()
            assert report is not None and not report.post_errors

    asyncio.run(scenario())
    assert [i.findtext("title") for i in rss(out).iter("item")] == ["Late"]


def test_audio_without_a_podcast_block_is_an_enclosure_without_itunes_tags(
    tmp_path: Path,
) -> None:
    posts = {"ep.md": episode("Plain", 1, "https://cdn.radio.example/a.ogg", "length: 99\n")}
    config = make_site(tmp_path, posts, podcast="")
    assert not feedwright.build(config, now=NOW).problems
    data = (tmp_path / "feeds" / "rss.xml").read_bytes()
    assert b"itunes" not in data
    item = rss(tmp_path / "feeds" / "rss.xml").find("item")
    assert item.find("enclosure").attrib == {
        "url": "https://cdn.radio.example/a.ogg",
        "length": "99",
        "type": "audio/ogg",
    }


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("audio: ../../etc/passwd.mp3\n", "leaves the site folder"),
        ("audio: ftp://x.example/a.mp3\n", "only http(s) URLs"),
        ("audio: show.xyz\n", "unknown kind of file"),
        ("audio: a.mp3\nduration: soon\n", "duration: expected seconds or H:MM:SS"),
        ("audio: a.mp3\nepisode: 0\n", "episode: expected a whole number >= 1"),
    ],
)
def test_bad_episode_front_matter_is_reported_naming_the_post(
    tmp_path: Path, front: str, message: str
) -> None:
    post = f"---\ntitle: Bad\ndate: 2024-04-01\n{front}---\nx\n"
    config = make_site(tmp_path, {"bad.md": post})
    report = feedwright.check(config)
    assert [e.path.endswith("bad.md") for e in report.problems] == [True]
    assert message in report.problems[0].message


def test_check_names_an_episode_whose_audio_file_is_not_in_the_site_folder(
    tmp_path: Path, capsys: Any
) -> None:
    # What build would hold back (exit 1), check says too, before a build.
    posts = {
        "here.md": episode("Here", 1, "media/here.mp3"),
        "gone.md": episode("Lost", 2, "media/nowhere.mp3"),
        "away.md": episode("Away", 3, "media/away.mp3", "length: 456\n"),  # uploaded elsewhere
    }
    config = make_site(tmp_path, posts)
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "here.mp3").write_bytes(AUDIO)
    assert main(["check", "-c", str(config)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": audio: ")[0] for line in err] == [str(tmp_path / "posts" / "gone.md")]
    assert "no such file in the site folder" in err[0]
    assert main(["build", "-c", str(config)]) == 1
    assert "gone.md: audio: no such file in the site folder" in capsys.readouterr().err

    (tmp_path / "media" / "nowhere.mp3").write_bytes(AUDIO)
    assert not feedwright.check(config).problems


@pytest.mark.parametrize(
    ("block", "key"),
    [
        ("podcast:\n  image: /c.jpg\n  category: Tech\n", "podcast.category"),
        ("podcast:\n  image: /c.jpg\n  category: [Arts, Cooking]\n", "podcast.category"),
        ("podcast:\n  image: /c.gif\n  category: Technology\n", "podcast.image"),
        ("podcast:\n  category: Technology\n", "podcast.image"),
        ("podcast:\n  image: /c.png\n  category: Technology\n  type: daily\n", "podcast.type"),
        ("podcast:\n  image: /c.png\n  category: Technology\n  rating: pg\n", "podcast.rating"),
    ],
)
def test_the_podcast_block_is_checked(tmp_path: Path, block: str, key: str, capsys: Any) -> None:
    config = make_site(tmp_path, {}, podcast=block)
    assert main(["check", "-c", str(config)]) == 2
    assert key in capsys.readouterr().err


def test_artwork_paths_are_under_the_sites_path(tmp_path: Path) -> None:
    """Under a site at /show/, /media/... is the site's for the podcast's
    artwork, an episode's artwork and its audio alike."""
    media = tmp_path / "media"
    media.mkdir()
    (media / "ep1.mp3").write_bytes(AUDIO)
    config = make_site(
        tmp_path,
        {"ep1.md": episode("One", 1, "/media/ep1.mp3", "image: /media/ep1.jpg\n")},
        podcast=PODCAST.replace("/cover.jpg", "/media/cover.jpg"),
    )
    config.write_text(config.read_text().replace(SITE, SITE + "show/"), encoding="utf-8")
    assert feedwright.build(config, now=NOW).problems == []
    channel = etree.parse(str(tmp_path / "feeds" / "rss.xml")).getroot()[0]
    images = [e.get("href") for e in channel.iter(f"{ITUNES}image")]
    assert images == [SITE + "show/media/cover.jpg", SITE + "show/media/ep1.jpg"]
    (enclosure,) = channel.iter("enclosure")
    assert enclosure.get("url") == SITE + "show/media/ep1.mp3"
