"""Writing a build's files: all or nothing, crash-safe, readers never see half a file.

Each test builds a real site (posts + config.yaml) through ``feedwright.build``
or the ``feedwright build`` command, makes the disk misbehave the way a real
one does (a full disk, a read-only folder, a file where a folder must go, a
``kill -9``), and compares the published folder with what it was before and
with a clean build of the same posts.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_publish import NOW, make_site, post, tree

import feedwright
from feedwright.cli import main


def temps(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.tmp"))


def clean_build(posts: Path, config: Path, where: Path) -> dict[str, bytes]:
    """The files a build of ``posts`` gives from nothing (no state, no output)."""
    where.mkdir(parents=True)
    shutil.copytree(posts, where / "posts")
    shutil.copy(config, where / "config.yaml")
    feedwright.build(where / "config.yaml", now=NOW)
    return tree(where / "feeds")


def cli_build(config: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feedwright.cli", "build", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


def edit_every_post(posts: Path, mark: str) -> None:
    for path in sorted(posts.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        head, _, body = text.partition("\n---\n")
        path.write_text(f"{head}\n---\n{mark} {body}", encoding="utf-8")


def small_site(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A site of four posts in categories A, B and C, built once:
    (its config, its output folder, its posts folder)."""
    posts = {f"p{n}.md": post(n, cat) for n, cat in enumerate(["A", "A, B", "B", "C"], 1)}
    config = make_site(tmp_path / "site", posts)
    feedwright.build(config, now=NOW)
    return config, tmp_path / "site" / "feeds", tmp_path / "site" / "posts"


# --------------------------------------------------------------------------- failures


def test_a_file_where_a_folder_must_go_fails_the_build_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, out, posts = small_site(tmp_path)
    (out / "sport").write_text("in the way")
    before = tree(out)
    # Every feed changes, and a new category needs the folder "sport".
    edit_every_post(posts, "Edited.")
    (posts / "run.md").write_text(post(9, "Sport"), encoding="utf-8")

    assert main(["build", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{out / 'sport'}: cannot create folder: a file of that name is in the way" in err
    assert tree(out) == before  # not one feed new, no temp file, no folder left
    assert not [p for p in out.rglob("*") if p.is_dir() and not any(p.iterdir())]

    (out / "sport").unlink()
    assert main(["build", "-c", str(config)]) == 0
    assert tree(out) == clean_build(posts, config, tmp_path / "clean")


def test_a_read_only_folder_fails_the_build_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, out, posts = small_site(tmp_path)
    before = tree(out)
    (out / "b").chmod(0o555)
    try:
        probe = out / "b" / "probe"
        try:
            probe.write_text("x")
        except PermissionError:
            pass
        else:
            probe.unlink()
            pytest.skip("permissions do not stop this user (root): see the full-disk test")
        edit_every_post(posts, "Edited.")
        assert main(["build", "-c", str(config)]) == 1
        err = capsys.readouterr().err
        assert "cannot write: Permission denied" in err and str(out / "b") in err
        assert tree(out) == before
    finally:
        (out / "b").chmod(0o755)
    assert main(["build", "-c", str(config)]) == 0
    assert tree(out) == clean_build(posts, config, tmp_path / "clean")


def test_an_output_folder_on_a_read_only_file_system_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not "permission denied": a read-only mount (a real one; root only)."""
    mounted = tmp_path / "ro"
    mounted.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(mounted)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {done.stderr.strip()}")
    try:
        config = make_site(tmp_path, {"a.md": post(1, "A")}, out="ro/feeds")
        assert main(["build", "-c", str(config)]) == 2
        err = capsys.readouterr().err
        assert f"cannot write in {mounted}: a read-only file system" in err
        assert "output.dir" in err and "Traceback" not in err
    finally:
        subprocess.run(["umount", str(mounted)], check=False)


@pytest.mark.parametrize("out", ["taken", "taken/feeds"])
def test_an_output_folder_a_file_is_in_the_way_of_is_a_config_error(
    tmp_path: Path, out: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_site(tmp_path, {"a.md": post(1, "A")}, out=out)
    (tmp_path / "taken").write_text("a file\n")
    for command in ("build", "check"):
        assert main([command, "-c", str(config)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"feedwright: {config}: output.dir: {tmp_path / 'taken'} is a file")
        assert "internal error" not in err and "Traceback" not in err
    assert (tmp_path / "taken").read_text() == "a file\n"


def test_an_output_folder_that_cannot_be_written_is_a_config_error(tmp_path: Path) -> None:
    config = make_site(tmp_path, {"a.md": post(1, "A")})
    out = tmp_path / "feeds"
    out.mkdir()
    out.chmod(0o555)
    command = [sys.executable, "-m", "feedwright.cli"]
    if os.geteuid() == 0:  # root writes anywhere: run without that power
        if not shutil.which("setpriv"):
            pytest.skip("root, and no setpriv to run feedwright without its override")
        drop = "-dac_override,-dac_read_search,-fowner"
        command = ["setpriv", f"--bounding-set={drop}", *command]
    try:
        for name in ("build", "check"):
            done = subprocess.run(
                [*command, name, "-c", str(config)],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 2, done.stderr
            assert done.stderr == (
                f"feedwright: {config}: output.dir: cannot write in {out}: permission denied\n"
            )
        assert list(out.iterdir()) == []
    finally:
        out.chmod(0o755)
    assert main(["build", "-q", "-c", str(config)]) == 0


def test_a_file_another_tool_wrote_is_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``output.dir: public``, a site generator's own output folder: its
    homepage is where feedwright's top page would go. It is named and left
    as it is, build after build; every other file is published."""
    posts = {f"p{n}.md": post(n, cat) for n, cat in enumerate(["A", "B"], 1)}
    config = make_site(tmp_path / "site", posts, out="public", output="pages: true")
    out = tmp_path / "site" / "public"
    out.mkdir()
    homepage = b"<!DOCTYPE html><html><body>Hexo's homepage</body></html>\n"
    (out / "index.html").write_bytes(homepage)
    (out / "about.html").write_bytes(b"<html>about</html>")  # not in feedwright's way

    for _ in range(2):  # and again: nothing learnt it was ours
        assert main(["build", "-c", str(config)]) == 1
        err = capsys.readouterr().err
        assert (
            f"{out / 'index.html'}: not published, a file feedwright did not write is there:"
            " move it away, or give output.dir a folder of its own" in err
        )
        assert "Traceback" not in err
        assert (out / "index.html").read_bytes() == homepage
        assert (out / "about.html").read_bytes() == b"<html>about</html>"
        for rel in ("atom.xml", "rss.xml", "a/atom.xml", "a/index.html"):
            assert (out / rel).is_file(), rel
        owned = (out / ".feedwright-manifest.json").read_text(encoding="utf-8")
        assert '"index.html"' not in owned and '"a/index.html"' in owned

    (out / "index.html").unlink()  # the user moves it away
    assert main(["build", "-c", str(config)]) == 0
    assert b'<meta name="generator" content="feedwright"/>' in (out / "index.html").read_bytes()


def test_files_feedwright_wrote_are_replaced_without_their_manifest(tmp_path: Path) -> None:
    """A lost ``.feedwright-manifest.json``: every file of a build says it is
    feedwright's (a feed's generator, a page's meta tag, the OPML's comment),
    so the next build replaces them as before."""
    config, out, posts = small_site(tmp_path)
    cfg = config.read_text(encoding="utf-8")
    config.write_text(cfg.replace("output:\n", "output:\n  pages: true\n"), encoding="utf-8")
    assert main(["build", "-c", str(config)]) == 0
    (out / ".feedwright-manifest.json").unlink()
    edit_every_post(posts, "Edited.")

    assert main(["build", "-c", str(config)]) == 0
    assert tree(out) == clean_build(posts, config, tmp_path / "clean")


def test_a_full_disk_fails_the_build_and_changes_nothing(tmp_path: Path) -> None:
    # A disk that fills up halfway through a build: the build is a process
    # that may write files of at most 1 MB (RLIMIT_FSIZE), so the small
    # feeds' temp files are written and the big combined feed's is not.
    big = "word " * 400_000  # 2 MB: in the combined feed and category "Big" only
    posts = {"a.md": post(1, "A"), "big.md": post(2, "Big").replace("Body 2.", big)}
    config = make_site(tmp_path / "site", posts)
    out, folder = tmp_path / "site" / "feeds", tmp_path / "site" / "posts"
    assert cli_build(config).returncode == 0
    before = tree(out)
    edit_every_post(folder, "Edited.")

    def disk_of_1mb() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not a signal that kills
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    done = cli_build(config, preexec_fn=disk_of_1mb)
    assert done.returncode == 1, done.stderr
    assert f"feedwright: {out / 'atom.xml'}: cannot write: File too large" in done.stderr
    assert "Traceback" not in done.stderr
    assert tree(out) == before

    assert cli_build(config).returncode == 0
    assert tree(out) == clean_build(folder, config, tmp_path / "clean")


# --------------------------------------------------------------------------- temp files


def test_stale_temp_files_of_ours_are_removed_and_nothing_else(tmp_path: Path) -> None:
    config, out, posts = small_site(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ".atom.xml.feedwright-0123abcd.tmp").write_text("not under output.dir")
    (out / "linked").symlink_to(outside, target_is_directory=True)
    ours = [
        ".atom.xml.feedwright-0123abcd.tmp",
        "a/.rss.xml.feedwright-deadbeef.tmp",
        ".index.opml.feedwright-00000000.tmp",
        ".atom.xml.k2j_9xq1.tmp",  # as builds before write_files named them
        "b/.feed.json.abcdefgh.tmp",
    ]
    theirs = [
        ".notes.tmp",
        "report.tmp",
        ".atom.xml.feedwright-XYZ.tmp",
        "a/.mine.abcdefgh.tmp",
        ".atom.xml.feedwright-0123abcd.tmp.bak",
    ]
    for name in ours + theirs:
        (out / name).write_text("left over")

    (posts / "p1.md").write_text(post(1, "A", title="Changed"), encoding="utf-8")
    report = feedwright.build(config, now=NOW)
    assert report.publish.written
    assert not any((out / name).exists() for name in ours)
    assert all((out / name).read_text() == "left over" for name in theirs)
    assert (outside / ".atom.xml.feedwright-0123abcd.tmp").exists()


# --------------------------------------------------------------------------- readers


READER = textwrap.dedent(
    """
    import pathlib, sys
    from lxml import etree
    root, stop = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    reads = bad = 0
    while not stop.exists():
        for path in sorted(root.rglob("*.xml")):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            reads += 1
            try:
                etree.fromstring(data)
            except etree.XMLSyntaxError as exc:
                bad += 1
                print(f"partial: {path} ({len(data)} bytes): {exc}", file=sys.stderr)
    print(reads, bad)
    """
)


def many_posts(count: int, rng: random.Random, mark: str = "") -> dict[str, str]:
    cats = ["金融", "Tech", "港口", "Sport", "C++"]
    return {
        f"p{n:03d}.md": post(
            n % 24, ", ".join(rng.sample(cats, 1 + n % 3)), title=f"Post {n}"
        ).replace(f"Body {n % 24}.", f"{mark} {n} " + "lorem ipsum " * rng.randrange(200, 2000))
        for n in range(count)
    }


def test_a_reader_polling_during_rebuilds_never_sees_a_partial_file(tmp_path: Path) -> None:
    rng = random.Random(7)
    config = make_site(tmp_path / "site", many_posts(40, rng), output="limit: 0")
    out, posts = tmp_path / "site" / "feeds", tmp_path / "site" / "posts"
    feedwright.build(config, now=NOW)
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(out), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for round_ in range(8):
            for name, text in many_posts(40 + round_, rng, mark=f"round {round_}").items():
                (posts / name).write_text(text, encoding="utf-8")
            assert feedwright.build(config, now=NOW).publish.written
    finally:
        stop.touch()
        stdout, stderr = reader.communicate(timeout=60)
    reads, bad = map(int, stdout.split())
    assert reads > 0
    assert bad == 0, stderr


# --------------------------------------------------------------------------- kill -9


def listing(out: Path) -> set[tuple[str, int, int]]:
    found = set()
    for path in out.rglob("*"):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        found.add((path.as_posix(), st.st_size, st.st_mtime_ns))
    return found


def kill_at(build: subprocess.Popen[bytes], out: Path, delay: float, *, at_write: bool) -> None:
    """SIGKILL ``build`` ``delay`` seconds after it starts or, ``at_write``, after
    it starts changing anything in ``out`` (while it writes the feeds)."""
    if at_write:
        before = listing(out)
        deadline = time.monotonic() + 60
        while listing(out) == before and build.poll() is None:
            assert time.monotonic() < deadline
    time.sleep(delay)
    build.send_signal(signal.SIGKILL)
    build.wait()


def test_kill_9_at_random_moments_leaves_old_or_new_files_and_the_next_build_is_clean(
    tmp_path: Path,
) -> None:
    rng = random.Random(2024)
    # Each round replaces every post: tombstones (on by default) would make
    # the next build differ from a clean one, which is what is compared here.
    config = make_site(tmp_path / "site", many_posts(30, rng), output="limit: 0\ntombstones: 0")
    out, posts = tmp_path / "site" / "feeds", tmp_path / "site" / "posts"
    started = time.monotonic()
    assert cli_build(config).returncode == 0
    duration = time.monotonic() - started
    for round_ in range(10):
        old = tree(out)
        for path in posts.iterdir():
            path.unlink()
        for name, text in many_posts(26 + 2 * round_, rng, mark=f"round {round_}").items():
            (posts / name).write_text(text, encoding="utf-8")
        new = clean_build(posts, config, tmp_path / f"clean-{round_}")

        build = subprocess.Popen(
            [sys.executable, "-m", "feedwright.cli", "build", "-c", str(config)]
        )
        # Half the kills at any moment of the build, half while it writes.
        at_write = round_ % 2 == 1
        kill_at(build, out, rng.uniform(0, 0.03 if at_write else duration), at_write=at_write)

        left = {name: data for name, data in tree(out).items() if not name.endswith(".tmp")}
        for name, data in left.items():
            assert data in (old.get(name), new.get(name)), f"round {round_}: {name} is neither"
        for name in set(old) & set(new):
            assert name in left, f"round {round_}: {name} vanished"

        assert cli_build(config).returncode == 0
        assert tree(out) == new, f"round {round_}: the next build is not a clean build"
        assert temps(out) == []


def test_unchanged_files_are_never_rewritten_even_after_a_failed_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, out, posts = small_site(tmp_path)
    old = 1_000_000_000_000_000_000
    for path in out.rglob("*.xml"):
        os.utime(path, ns=(old, old))
    (out / "c").rename(tmp_path / "c-aside")
    (out / "c").write_text("in the way")
    (posts / "p1.md").write_text(post(1, "A", title="Changed"), encoding="utf-8")
    assert main(["build", "-c", str(config)]) == 1
    capsys.readouterr()
    (out / "c").unlink()
    (tmp_path / "c-aside").rename(out / "c")
    assert main(["build", "-c", str(config)]) == 0
    # Post 1 is in the combined feed and in A: only those were written.
    rewritten = sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*.xml") if p.stat().st_mtime_ns != old
    )
    assert rewritten == ["a/atom.xml", "a/rss.xml", "atom.xml", "rss.xml"]
