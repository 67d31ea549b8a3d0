"""Put a build's files on disk: all or nothing, crash-safe, never outside output.dir.

:func:`write_files` is the one way the rest of feedwright writes output. The
sequence for one build::

    sweep       temp files of ours that a killed build left anywhere under output.dir
    for each file, as the caller serialises it:
      check     its path: relative, no '..', resolving inside output.dir (symlinks
                included), not a folder where a file must go
      compare   bytes already on disk? left alone (mtime kept, so ETags stay valid)
      stage     else to a temp file beside its target (folders made as needed), fsync'd
    stage       the manifest, owning every new path (renamed first below, so no
                crash can orphan a file we made)
    failure?    anywhere above: remove every temp file and folder this build made
                and raise PublishError (path, reason): every published file is as
                it was
    commit      rename each temp file over its target, fsync the folders
    tidy        remove files the manifest lists that this build no longer has;
                the manifest = exactly this build's files

Until the commit nothing published has changed, and the commit only
renames files within their own folders, which the checks leave nothing to
refuse. A reader sees each file whole, old or new, and the feeds of one
build agree with each other. A build killed during the commit leaves each
file old or new and complete; the next build makes the rest new.

The manifest (``.feedwright-manifest.json``) is how we know which files are
ours: anything else in output.dir (a README, the lock file, a favicon) is
never touched. Temp files are ``.<name>.feedwright-<8 hex>.tmp``; the sweep
removes that pattern only (and the ``.<name>.<8 chars>.tmp`` of our own file
names that builds before it used).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from ..config import MANIFEST_NAME
from ..exceptions import PublishError

if TYPE_CHECKING:
    from .validate import Violation

Gate = Callable[[str, bytes], list["Violation"]]  # (relative path, bytes) -> what it breaks

_MANIFEST_VERSION = 1
_OUR_MARK = b"feedwright"
_MARK_WITHIN = 8192  # bytes from a file's start
FILE_MODE = 0o644
_TEMP_MARK = ".feedwright-"
_OUR_TEMP = re.compile(r"\..+\.feedwright-[0-9a-f]{8}\.tmp")
# What tempfile.mkstemp made for the files of builds before write_files.
_OLD_TEMP = re.compile(
    r"\.(?:atom\.xml|rss\.xml|feed\.json|index\.opml|\.feedwright-manifest\.json)"
    r"\.[a-z0-9_]{8}\.tmp"
)


class FileStamp(NamedTuple):
    """What produced a published file, and the file as it was left on disk."""

    key: str  # hash of the feed's inputs
    size: int
    mtime_ns: int


class WriteResult(NamedTuple):
    written: list[str]
    unchanged: list[str]
    removed: list[str]
    rejected: list[Violation]  # by the gate: not published


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def safe_path(root: Path, relpath: str) -> Path:
    """``root / relpath``, refusing anything that is not a plain path inside ``root``."""
    pure = PurePosixPath(relpath)
    if (
        not relpath
        or "\\" in relpath
        or "\x00" in relpath
        or pure.is_absolute()
        or any(part in ("", ".", "..") for part in relpath.split("/"))
    ):
        raise PublishError("refusing to write outside the output folder", path=relpath)
    target = root.joinpath(*pure.parts)
    resolved_root = root.resolve()
    # Resolving also follows symlinks a user (or attacker) left in output.dir.
    resolved = target.resolve()
    if not resolved.is_relative_to(resolved_root) or resolved == resolved_root:
        raise PublishError("refusing to write outside the output folder", path=str(target))
    if not target.parent.resolve().is_relative_to(resolved_root):
        raise PublishError("refusing to write outside the output folder", path=str(target))
    return target


def is_temp_file(name: str) -> bool:
    """Whether a file name is one of our temp files (this version's or an older one's)."""
    return bool(_OUR_TEMP.fullmatch(name) or _OLD_TEMP.fullmatch(name))


def sweep_temp_files(root: Path) -> list[str]:
    """Remove temp files of ours that a killed build left under ``root``; their
    paths relative to it. Symlinks are never followed, other files never touched."""
    removed: list[str] = []
    for folder, dirs, names in os.walk(root):  # os.walk does not enter linked folders
        dirs.sort()
        for name in sorted(names):
            if not is_temp_file(name):
                continue
            path = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                if os.path.isfile(path) and not os.path.islink(path):
                    os.unlink(path)
                    removed.append(os.path.relpath(path, root).replace(os.sep, "/"))
    return removed


def _fsync_dir(folder: Path) -> None:
    # Makes renames and new entries durable; not every platform can open a folder.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _foreign(target: Path) -> bool:
    """Whether ``target`` is a file that feedwright did not write: there, and
    without the word ``feedwright`` near its start (every kind of file it
    writes names itself: a feed's generator, a page's generator meta tag,
    the OPML's and the stylesheet's comment). Asked only of files the
    manifest does not list."""
    try:
        if target.is_symlink():
            return True
        with target.open("rb") as file:
            return _OUR_MARK not in file.read(_MARK_WITHIN)
    except OSError:
        return False  # not there, or not readable: writing it says what is wrong


def _same(target: Path, data: bytes) -> bool:
    try:
        if target.is_symlink() or not target.is_file() or target.stat().st_size != len(data):
            return False
        return target.read_bytes() == data
    except OSError:
        return False


def _in_the_way(rel: str) -> Violation:
    from .validate import Violation

    return Violation(
        rel,
        "a file feedwright did not write is there",
        f"move it away, or give output.dir a folder of its own (feedwright replaces only"
        f" the files it wrote, listed in {MANIFEST_NAME})",
    )


class _Stage:
    """Temp files written beside their targets, and the folders made for them;
    committed by renaming, or undone."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.temps: list[tuple[Path, Path]] = []  # (temp file, its target), in order
        self.made: list[Path] = []  # folders this stage created, outermost first

    def _folder(self, folder: Path) -> None:
        missing: list[Path] = []
        at = folder
        while not at.is_dir():
            missing.append(at)
            at = at.parent
        for path in reversed(missing):
            try:
                path.mkdir()
            except FileExistsError as exc:
                raise PublishError(
                    "cannot create folder: a file of that name is in the way", path=str(path)
                ) from exc
            except OSError as exc:
                raise PublishError(f"cannot create folder: {_reason(exc)}", path=str(path)) from exc
            self.made.append(path)

    def add(self, target: Path, data: bytes, *, first: bool = False) -> None:
        """Write ``data`` to a new temp file beside ``target`` and fsync it; it
        is renamed in the order added, or before all others if ``first``."""
        if target.is_dir() and not target.is_symlink():
            raise PublishError(f"cannot write: {os.strerror(errno.EISDIR)}", path=str(target))
        self._folder(target.parent)
        while True:
            temp = target.with_name(f".{target.name}{_TEMP_MARK}{os.urandom(4).hex()}.tmp")
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            except FileExistsError:
                continue
            except OSError as exc:
                raise PublishError(f"cannot write: {_reason(exc)}", path=str(target)) from exc
            break
        self.temps.insert(0 if first else len(self.temps), (temp, target))
        try:
            # The umask may have taken bits away; a web server must read feeds.
            os.fchmod(fd, FILE_MODE)
            with open(fd, "wb", closefd=True) as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise PublishError(f"cannot write: {_reason(exc)}", path=str(target)) from exc

    def undo(self) -> None:
        """Remove every temp file and folder this stage made (published files untouched)."""
        for temp, _ in self.temps:
            with contextlib.suppress(OSError):
                temp.unlink()
        self.temps = []
        for folder in reversed(self.made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self.made = []

    def commit(self) -> None:
        """Rename every temp file over its target, then make it all durable.
        Ctrl-C or SIGTERM meanwhile takes effect once all are renamed: readers
        never get half of a build's files."""
        folders: dict[Path, None] = {}
        with _signals_held():
            try:
                while self.temps:
                    temp, target = self.temps[0]
                    os.replace(temp, target)
                    self.temps.pop(0)
                    folders[target.parent] = None
            except OSError as exc:
                self.undo()
                raise PublishError(f"cannot write: {_reason(exc)}", path=str(target)) from exc
            for folder in self.made:
                folders[folder.parent] = None  # the new folder's own entry
            self.made = []
            for folder in folders:
                _fsync_dir(folder)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait for the block to end (main thread only: Python
    runs handlers there; elsewhere the block runs as it is)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    before = {sig: signal.signal(sig, lambda number, _: caught.append(number)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in before.items():
            if handler is not None:
                signal.signal(sig, handler)
        if caught:
            signal.raise_signal(caught[0])  # (now, to the handler it had)


def _read_manifest(root: Path) -> list[str]:
    try:
        data = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # no manifest (first run) or a damaged one: own nothing, delete nothing
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return []
    return [f for f in files if isinstance(f, str)]


def _manifest_bytes(files: Iterable[str]) -> bytes:
    doc = {"version": _MANIFEST_VERSION, "generator": "feedwright", "files": sorted(set(files))}
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _write_manifest(root: Path, files: Iterable[str]) -> None:
    data = _manifest_bytes(files)
    target = root / MANIFEST_NAME
    if not _same(target, data):
        atomic_write(target, data)


def atomic_write(target: Path, data: bytes) -> None:
    """Replace one file with ``data`` so readers see the old file or the new, never half."""
    stage = _Stage(target.parent)
    try:
        stage.add(target, data)
        stage.commit()
    except BaseException:
        stage.undo()
        raise


def _remove(root: Path, relpath: str) -> bool:
    """Delete one file we wrote earlier, then its folders if they are left empty."""
    try:
        target = safe_path(root, relpath)
    except PublishError:
        return False  # a tampered manifest never makes us delete outside output.dir
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise PublishError(f"cannot remove: {_reason(exc)}", path=str(target)) from exc
    folder = target.parent
    resolved_root = root.resolve()
    while folder.resolve() != resolved_root and folder.resolve().is_relative_to(resolved_root):
        try:
            folder.rmdir()  # only succeeds when empty: other people's files keep it
        except OSError:
            break
        folder = folder.parent
    return True


def write_files(
    root: Path,
    files: Mapping[str, bytes] | Iterable[tuple[str, bytes]],
    *,
    keep: Iterable[str] = (),
    gate: Gate | None = None,
) -> WriteResult:
    """Make output.dir hold exactly ``files`` (plus ``keep``) among the files feedwright
    owns: every changed file or none of them.

    ``files`` gives POSIX paths relative to ``root`` and their bytes, as a
    mapping or as pairs; pairs are staged as they come, so a caller that
    serialises one file at a time holds one file's bytes at a time. ``keep``
    names files the caller knows are already up to date (it did not even
    serialise them): they count as unchanged and stay owned. Raises
    PublishError naming the path and the reason when anything cannot be
    written, having changed no published file; an exception from ``files``
    itself also leaves every published file as it was.

    ``gate`` (``validate.check_file``) checks each changed file before it is
    staged: a file that breaks a rule is not written (the published one, if
    any, stays and stays owned) and is listed in ``rejected``; the rest are.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(f"cannot create folder: {_reason(exc)}", path=str(root)) from exc
    sweep_temp_files(root)
    owned = _read_manifest(root)
    pairs = files.items() if isinstance(files, Mapping) else files

    names: set[str] = set()
    changed: list[str] = []
    rejected: list[Violation] = []
    mine = set(owned)
    stage = _Stage(root)
    try:
        for rel, data in pairs:
            if rel == MANIFEST_NAME:
                raise PublishError("reserved for feedwright's manifest", path=rel)
            if rel in names:
                raise PublishError("two files for one path in one build", path=rel)
            names.add(rel)
            target = safe_path(root, rel)
            if not _same(target, data):
                if rel not in mine and _foreign(target):
                    # Another tool's file (a site generator's index.html in a
                    # shared output folder): never overwritten, never owned.
                    rejected.append(_in_the_way(rel))
                    names.discard(rel)
                    continue
                if gate is not None and (broken := gate(rel, data)):
                    rejected.extend(broken)
                    names.discard(rel)
                    keep = [*keep, rel]  # the published file (if any) stays ours
                    continue
                stage.add(target, data)
                changed.append(rel)
        if not names <= set(owned):
            # Renamed first: the manifest owns every new file before it appears.
            stage.add(root / MANIFEST_NAME, _manifest_bytes([*owned, *names]), first=True)
        stage.commit()
    except BaseException:
        stage.undo()
        raise

    kept = set(keep) - names
    written = set(changed)
    result = WriteResult(
        written=sorted(changed),
        unchanged=sorted(
            [*(kept - {v.path for v in rejected}), *(rel for rel in names if rel not in written)]
        ),
        removed=[],
        rejected=rejected,
    )
    for rel in sorted(set(owned) - names - kept):
        if _remove(root, rel):
            result.removed.append(rel)
    _write_manifest(root, [*names, *kept])
    return result


__all__ = [
    "MANIFEST_NAME",
    "FileStamp",
    "WriteResult",
    "atomic_write",
    "is_temp_file",
    "safe_path",
    "sweep_temp_files",
    "write_files",
]
