"""``--serve``: real HTTP requests against ``serve.make_server`` on 127.0.0.1."""

from __future__ import annotations

import gzip
import http.client
import os
import threading
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from urllib.parse import quote

import pytest

from feedwright.publish.write import atomic_write
from feedwright.serve import make_server

ATOM = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
    + (b"<entry><title>x</title></entry>" * 40)
    + b"</feed>\n"
)
RSS = b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel/></rss>\n'
OPML = b'<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0"><body/></opml>\n'
JSON = b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}\n'
TINY = "金融".encode()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    (out / "金融").mkdir(parents=True)
    (out / "atom.xml").write_bytes(ATOM)
    (out / "rss.xml").write_bytes(RSS)
    (out / "feed.json").write_bytes(JSON)
    (out / "index.opml").write_bytes(OPML)
    (out / "金融" / "atom.xml").write_bytes(ATOM.replace(b"<title>x", "<title>金融".encode()))
    (out / "金融" / "rss.xml").write_bytes(RSS)
    (out / ".feedwright.lock").write_text("123\n")
    (out / ".feedwright-manifest.json").write_text("[]")
    (out / ".atom.xml.abc123.tmp").write_bytes(b"half")
    (tmp_path / "secret.txt").write_text("outside")
    (out / "escape").symlink_to(tmp_path / "secret.txt")
    return out


@pytest.fixture
def port(site: Path) -> Iterator[int]:
    server = make_server(site, "127.0.0.1", 0)
    # A short poll interval: shutdown() waits up to one interval.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def get(
    port: int, path: str, method: str = "GET", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """One request with ``path`` sent exactly as given (no client-side normalising)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name.replace("_", "-"), value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/atom.xml", "application/atom+xml; charset=utf-8", ATOM),
        ("/rss.xml", "application/rss+xml; charset=utf-8", RSS),
        ("/feed.json", "application/feed+json", JSON),
        ("/index.opml", "text/x-opml; charset=utf-8", OPML),
        ("/", "text/x-opml; charset=utf-8", OPML),
    ],
)
def test_content_types(port: int, path: str, content_type: str, body: bytes) -> None:
    status, headers, data = get(port, path)
    assert status == 200
    assert headers["Content-Type"] == content_type
    assert data == body
    assert headers["Content-Length"] == str(len(body))


def test_percent_encoded_utf8_category_folder(port: int, site: Path) -> None:
    status, headers, data = get(port, "/" + quote("金融") + "/atom.xml")
    assert status == 200
    assert data == (site / "金融" / "atom.xml").read_bytes()

    status, headers, _ = get(port, "/" + quote("金融"))
    assert status == 301
    assert headers["Location"] == "/" + quote("金融") + "/"
    status, headers, data = get(port, "/" + quote("金融") + "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b'href="atom.xml"' in data and b'href="rss.xml"' in data


def test_etag_and_last_modified_answer_304(port: int, site: Path) -> None:
    status, headers, _ = get(port, "/rss.xml")
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    assert status == 200 and etag.startswith('"') and not etag.startswith("W/")
    assert last_modified == formatdate((site / "rss.xml").stat().st_mtime, usegmt=True)

    status, headers, data = get(port, "/rss.xml", If_None_Match=etag)
    assert (status, data) == (304, b"")
    assert headers["ETag"] == etag
    assert get(port, "/rss.xml", If_None_Match=f"W/{etag}")[0] == 304
    assert get(port, "/rss.xml", If_None_Match=f'"other", {etag}')[0] == 304
    assert get(port, "/rss.xml", If_None_Match='"other"')[0] == 200
    assert get(port, "/rss.xml", If_Modified_Since=last_modified)[0] == 304
    assert get(port, "/rss.xml", If_Modified_Since="Mon, 01 Jan 2001 00:00:00 GMT")[0] == 200
    # As nginx: only the date sent is "not modified"; a later one (a clock in
    # the future, a file rolled back to an older copy) is no proof.
    mtime = int((site / "rss.xml").stat().st_mtime)
    assert get(port, "/rss.xml", If_Modified_Since=formatdate(mtime + 1, usegmt=True))[0] == 200
    assert get(port, "/rss.xml", If_Modified_Since="Fri, 01 Jan 2100 00:00:00 GMT")[0] == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110).
    stale = get(port, "/rss.xml", If_None_Match='"other"', If_Modified_Since=last_modified)
    assert stale[0] == 200
    assert get(port, "/rss.xml", If_Modified_Since="not a date")[0] == 200


def test_a_republished_file_gets_a_new_etag(port: int, site: Path) -> None:
    etag = get(port, "/rss.xml")[1]["ETag"]
    atomic_write(
        site / "rss.xml", RSS.replace(b"<channel/>", b"<channel><title>t</title></channel>")
    )
    status, headers, data = get(port, "/rss.xml", If_None_Match=etag)
    assert status == 200
    assert headers["ETag"] != etag
    assert b"<title>t</title>" in data


def test_gzip_when_accepted(port: int) -> None:
    status, headers, data = get(port, "/atom.xml", Accept_Encoding="br, gzip;q=0.8")
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Vary"] == "Accept, Accept-Encoding"  # (Accept: see the browser test)
    assert gzip.decompress(data) == ATOM
    assert int(headers["Content-Length"]) == len(data) < len(ATOM)
    gz_etag = headers["ETag"]

    plain = get(port, "/atom.xml")
    assert "Content-Encoding" not in plain[1]
    assert plain[1]["Vary"] == "Accept, Accept-Encoding"
    assert plain[2] == ATOM
    assert plain[1]["ETag"] != gz_etag  # two representations, two strong validators
    assert "Content-Encoding" not in get(port, "/atom.xml", Accept_Encoding="gzip;q=0")[1]
    assert get(port, "/atom.xml", Accept_Encoding="gzip", If_None_Match=gz_etag)[0] == 304


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_gets_feeds_as_xml_for_their_stylesheet_and_folders_as_their_page(
    port: int, site: Path
) -> None:
    status, headers, data = get(port, "/atom.xml", Accept=BROWSER_ACCEPT)
    assert status == 200 and data == ATOM
    assert headers["Content-Type"] == "application/xml; charset=utf-8"
    # Readers (feedparser's Accept, ours) get the feed's own type.
    reader = "application/atom+xml,application/rss+xml,application/xml;q=0.9,text/html;q=0.5"
    for accept in (reader, "*/*", None):
        extra = {} if accept is None else {"Accept": accept}
        assert get(port, "/atom.xml", **extra)[1]["Content-Type"].startswith("application/atom+xml")
    assert get(port, "/feed.json", Accept=BROWSER_ACCEPT)[1]["Content-Type"] == (
        "application/feed+json"
    )
    # With pages published, a folder (the top one too) is its index.html.
    (site / "index.html").write_text("<!DOCTYPE html><title>top</title>")
    (site / "金融" / "index.html").write_text("<!DOCTYPE html><title>金融</title>")
    (site / "feed.xsl").write_text("<xsl:stylesheet/>")
    status, headers, data = get(port, "/")
    assert headers["Content-Type"] == "text/html; charset=utf-8" and b"top" in data
    status, headers, data = get(port, "/" + quote("金融") + "/")
    assert "金融".encode() in data and b"<ul>" not in data
    assert get(port, "/feed.xsl")[1]["Content-Type"] == "text/xsl; charset=utf-8"


def test_head_sends_headers_only(port: int) -> None:
    status, headers, data = get(port, "/atom.xml", method="HEAD")
    assert status == 200
    assert data == b""
    assert headers["Content-Length"] == str(len(ATOM))
    assert headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert "ETag" in headers


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/" + quote("金融") + "/../../secret.txt",
        "/" + quote("金融") + "/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/escape",  # a symlink pointing outside
        "/.feedwright.lock",
        "/.feedwright-manifest.json",
        "/.atom.xml.abc123.tmp",
        "/%2efeedwright.lock",
        "/atom.xml%00.txt",
        "/%ff%fe",
        "/missing.xml",
    ],
)
def test_only_published_files_are_served(port: int, path: str) -> None:
    status, _, data = get(port, path)
    assert status == 404
    assert b"outside" not in data and b"half" not in data


def test_root_lists_the_folder_without_index_opml(port: int, site: Path) -> None:
    (site / "index.opml").unlink()
    status, headers, data = get(port, "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'href="atom.xml"' in data
    assert quote("金融").encode() in data
    assert b".feedwright" not in data and b".tmp" not in data


def test_a_file_under_the_minimum_is_not_compressed(port: int, site: Path) -> None:
    (site / "tiny.txt").write_bytes(TINY)
    status, headers, data = get(port, "/tiny.txt", Accept_Encoding="gzip")
    assert status == 200 and data == TINY
    assert "Content-Encoding" not in headers
    assert os.path.getsize(site / "tiny.txt") == len(data)
