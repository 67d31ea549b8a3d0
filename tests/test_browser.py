"""The published pages in a real browser: Debian's headless Chromium, driven by
Playwright (its Python package, pointed at the system's chromium; nothing is
downloaded), the output served by feedwright's own server (``run --serve``).

Screenshots are kept in ``tests/artifacts/`` (git-ignored) for a person to
look at. ``.ci/run`` installs chromium when it is missing; where it cannot be
installed these tests skip, saying so.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import feedwright
from feedwright.serve import start_server

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
NOW = datetime(2024, 5, 1, tzinfo=UTC)
# Headless, offline: nothing of Chromium's own may reach for the network.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

POSTS = {
    "dock.md": "---\ntitle: 港口新码头开工\ndate: 2024-03-01T08:00:00Z\ncategories: [金融, Tech]\n"
    "summary: 新码头<b>今天</b>开工。\n---\n新码头今天开工。\n",
    "cpp.md": "---\ntitle: C++ & C# compared\ndate: 2024-03-02T10:00:00Z\ncategories: [Tech]\n"
    "---\nTemplates &amp; generics, <em>fast</em>.\n",
    "wire.md": "---\ntitle: Rates rose\ndate: 2024-03-03T10:00:00Z\ncategories: [金融]\n---\n"
    "Bonds too.\n",
}


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "chromium is not installed and could not be (.ci/run installs it with "
            "`apt-get install chromium`): the pages are tested with lxml only (test_pages.py)"
        )
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A built site's output folder, served on 127.0.0.1: its base URL."""
    root = tmp_path_factory.mktemp("browser")
    (root / "posts").mkdir()
    for name, text in POSTS.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    (root / "config.yaml").write_text(
        "site:\n  title: 张家港新闻\n  url: https://news.example.com/\n"
        "  description: 本地新闻 and notes\n  language: zh-CN\n"
        "sources:\n  - posts: posts\noutput:\n  dir: feeds\n  formats: [atom, rss, json]\n",
        encoding="utf-8",
    )
    assert not feedwright.build(root / "config.yaml", now=NOW).problems
    server = start_server(root / "feeds", "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user-data dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=FLAGS
        )
        try:
            yield context
        finally:
            context.close()


def shoot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    return path


def test_the_pages_in_a_browser(served: str, browser: Any) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(served + "/")  # the folder is its index.html
    assert page.title() == "张家港新闻"
    assert page.inner_text("h1") == "张家港新闻"
    assert "This is a web feed" in page.inner_text(".note")
    assert page.locator("article h2").all_inner_texts() == [
        "Rates rose",
        "C++ & C# compared",
        "港口新码头开工",
    ]
    # Autodiscovery, as a browser or reader looking for the feed sees it.
    found = page.eval_on_selector_all(
        "link[rel=alternate]", "links => links.map(l => [l.type, l.href])"
    )
    assert found == [
        ["application/atom+xml", "https://news.example.com/feeds/atom.xml"],
        ["application/rss+xml", "https://news.example.com/feeds/rss.xml"],
        ["application/feed+json", "https://news.example.com/feeds/feed.json"],
    ]
    assert page.eval_on_selector_all("script", "s => s.length") == 0
    # Laid out as a page, not as raw markup: the notice box and a readable width.
    box = page.locator(".note").bounding_box()
    assert box is not None and 200 < box["width"] <= 800
    shoot(page, "page-top.png")

    # Every category is a link away; each page leads back.
    assert page.locator("nav li").count() == 2
    page.click("nav a >> text=金融")
    assert page.url == f"{served}/{quote('金融')}/index.html"
    assert page.inner_text("h1") == "张家港新闻 - 金融"
    assert page.locator("article").count() == 2
    shoot(page, "page-category.png")
    page.click("footer a >> nth=0")
    assert page.url == f"{served}/index.html"
    # A format link opens the feed file itself.
    response = page.request.get(f"{served}/{quote('金融')}/rss.xml")
    assert response.ok and b"<rss" in response.body()
    assert errors == []
    page.close()


def test_a_feed_opened_in_the_browser_reads_as_a_page_through_its_stylesheet(
    served: str, browser: Any
) -> None:
    page = browser.new_page()
    if not page.evaluate("typeof XSLTProcessor !== 'undefined'"):
        pytest.skip("this chromium no longer applies XSLT: index.html is the page for it")
    for path, shot in (
        ("/atom.xml", "feed-atom.png"),
        (f"/{quote('金融')}/rss.xml", "feed-rss.png"),
    ):
        page.goto(served + path)
        assert page.evaluate("document.contentType") == "text/html"  # transformed
        assert page.inner_text("h1").startswith("张家港新闻")
        assert "This is a web feed" in page.inner_text(".note")
        assert page.inner_text("code").endswith(path.rsplit("/", 1)[-1])
        titles = page.locator("article h2").all_inner_texts()
        assert titles and all(titles)
        summary = page.locator("article p").last.inner_text()
        assert "<" not in summary and "&amp;" not in summary
        hrefs = page.eval_on_selector_all(".formats a", "links => links.map(l => l.href)")
        assert [h.rsplit("/", 1)[-1] for h in hrefs] == [
            "atom.xml",
            "rss.xml",
            "feed.json",
            "index.html",
        ]
        shoot(page, shot)
    page.close()
