"""Shared fixtures: a real HTTP server on 127.0.0.1 whose routes each test sets,
and the state store's back ends.

``backend`` runs a test twice: on a SQLite file, and on a new schema of the
test PostgreSQL server (``postgres_url``: ``FEEDWRIGHT_TEST_POSTGRES``,
default postgresql://postgres@127.0.0.1:5432/test), skipped with the reason
where that server is unreachable.

``http_server`` starts a threaded ``http.server`` on an ephemeral loopback
port (HTTP/1.1, keep-alive, daemon threads) and shuts it down after the test::

    def test_something(http_server):
        url = http_server.route("/feed.xml", body=b"<rss .../>",
                                headers={"Content-Type": "application/rss+xml", "ETag": '"v1"'})
        http_server.route("/old", status=301, headers={"Location": "/feed.xml"})
        http_server.route("/big", body=b"..." * 1000, gzip=True)   # sent Content-Encoding: gzip
        http_server.route("/odd", handler=my_handler)              # full control, see below
        ...                                                         # fetch `url`
        assert http_server.requests[-1].headers["if-none-match"] == '"v1"'

``route`` returns the route's absolute URL; ``http_server.url(path)`` builds
one without a route (an unrouted path answers 404). A route may be set again
to change its answer mid-test.

``handler`` is called as ``handler(request)`` with the live
``BaseHTTPRequestHandler`` and writes the whole response itself
(``request.send_response``, ``send_header``, ``end_headers``,
``request.wfile.write``) — for drips, lies about Content-Length, or anything
the plain route cannot express. It runs on the server's thread; a client that
hangs up raises ``BrokenPipeError``/``ConnectionResetError`` there, which the
server ignores.

Every request is recorded in ``http_server.requests`` as a
:class:`Recorded` (method, path, headers, peer, body) in arrival order. GET,
HEAD (the route's headers, no body) and POST (its body read and recorded, the
route's answer sent) are served: a route can stand for a WebSub hub.
"""

from __future__ import annotations

import gzip as gzip_module
import io
import os
import sqlite3
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from feedwright.cli import main as cli_main
from feedwright.store import Store

Handler = Callable[[BaseHTTPRequestHandler], None]

# The PostgreSQL server the store tests use (issue 18): trust auth, database `test`.
PG_SERVER = os.environ.get("FEEDWRIGHT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
_pg_problem: list[str] = []  # why PostgreSQL cannot be used, once known


def postgres_unreachable() -> str | None:
    """Why the test PostgreSQL server cannot be used (None: it can)."""
    if not _pg_problem:
        try:
            import psycopg
        except ImportError:
            _pg_problem.append("psycopg is not installed (pip install -e '.[test]')")
        else:
            try:
                psycopg.connect(PG_SERVER, connect_timeout=3).close()
                _pg_problem.append("")
            except psycopg.Error as exc:
                _pg_problem.append(f"PostgreSQL at {PG_SERVER} is unreachable: {exc}".strip())
    return _pg_problem[0] or None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A ``postgresql://`` URL of a new, empty schema on the test server, dropped
    afterwards; the test is skipped, saying why, where the server is unreachable."""
    problem = postgres_unreachable()
    if problem:
        pytest.skip(problem)
    import psycopg

    schema = f"fwtest_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_SERVER else "?"
    yield f"{PG_SERVER}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        # Connections a test left open (a killed child's) must not hold the drop up.
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


@dataclass(frozen=True)
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False
    handler: Handler | None = None


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    peer: tuple[str, int]  # client address and port: one port per connection (keep-alive)
    body: bytes = b""  # what a POST sent


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request (a timeout, a keep-alive connection
        # it closed) is what some tests do on purpose; anything else is printed.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class LoopbackServer:
    """The routes, the request log and the running server; see the module docstring."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._answer(self)

            def do_HEAD(self) -> None:
                server._answer(self)

            def do_POST(self) -> None:
                server._answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

        self._httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(
        self,
        path: str,
        *,
        status: int = 200,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        gzip: bool = False,
        handler: Handler | None = None,
    ) -> str:
        with self._lock:
            self.routes[path] = Route(status, body, dict(headers or {}), gzip, handler)
        return self.url(path)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        length = request.headers.get("Content-Length", "")
        body = request.rfile.read(int(length)) if length.isdigit() else b""
        with self._lock:
            self.requests.append(
                Recorded(
                    request.command,
                    request.path,
                    {name.lower(): value for name, value in request.headers.items()},
                    (str(request.client_address[0]), int(request.client_address[1])),
                    body,
                )
            )
            route = self.routes.get(request.path, Route(status=404, body=b"not found"))
        try:
            if route.handler is not None:
                route.handler(request)
                return
            body = gzip_module.compress(route.body) if route.gzip else route.body
            request.send_response(route.status)
            names = {name.lower() for name in route.headers}
            for name, value in route.headers.items():
                request.send_header(name, value)
            if route.gzip and "content-encoding" not in names:
                request.send_header("Content-Encoding", "gzip")
            if "content-length" not in names:
                request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            if route.status != 304 and request.command != "HEAD":
                request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            request.close_connection = True


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    """A fresh loopback HTTP server for one test (see the module docstring)."""
    server = LoopbackServer()
    try:
        yield server
    finally:
        server.close()


# --------------------------------------------------------------------------- store back ends


@dataclass(frozen=True)
class Backend:
    """One database the suite runs on: how to open it, where it is, raw SQL on it."""

    name: str
    location: str  # what Store.open takes, and what a StoreError's .path names
    open: Callable[..., Store]  # open(timeout=...) a new connection to the same database
    execute: Callable[..., list[tuple[Any, ...]]]  # SQL beside the store, committed: its rows


def sqlite_backend(tmp_path: Path) -> Backend:
    path = tmp_path / "state.db"

    def execute(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        raw = sqlite3.connect(path)
        try:
            rows = raw.execute(sql, params).fetchall()
            raw.commit()
            return rows
        finally:
            raw.close()

    return Backend("sqlite", str(path), lambda **kw: Store.open(path, **kw), execute)


def postgres_backend(url: str) -> Backend:
    """The test PostgreSQL server, in the schema ``url`` names (``postgres_url``)."""
    import psycopg

    def execute(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(url, autocommit=True) as raw:
            cursor = raw.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    return Backend("postgresql", url, lambda **kw: Store.open(url, **kw), execute)


@pytest.fixture(params=["postgresql", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return sqlite_backend(tmp_path)
    return postgres_backend(request.getfixturevalue("postgres_url"))


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``feedwright ARGV...`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(list(argv))
    return code, out.getvalue(), err.getvalue()
