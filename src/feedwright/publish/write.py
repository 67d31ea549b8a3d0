"""Put published files on disk: atomically, only when changed, never outside output.dir.

The sequence for one publish::

    check every path (relative, no '..', resolves inside output.dir)
    manifest += new paths          so a crash below never orphans a file we made
    for each file: same bytes on disk? keep it (mtime, hence ETag, unchanged)
                   else temp file beside it, fsync, os.replace
                   (any order, any process: a big publish's forked workers
                   each write the files they serialised)
    remove files the manifest lists that this publish no longer has
    manifest = exactly this publish's paths

The manifest (``.feedwright-manifest.json``) is how we know which files are
ours: anything else in output.dir (a README, the lock file, a favicon) is
never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..exceptions import PublishError
from .plan import MANIFEST_NAME

_MANIFEST_VERSION = 1
FILE_MODE = 0o644


@dataclass(frozen=True, slots=True)
class WriteResult:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


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
    if not target.resolve().is_relative_to(resolved_root) or target.resolve() == resolved_root:
        raise PublishError("refusing to write outside the output folder", path=str(target))
    if not target.parent.resolve().is_relative_to(resolved_root):
        raise PublishError("refusing to write outside the output folder", path=str(target))
    return target


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a folder.
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


def atomic_write(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` so readers see the old file or the new, never half."""
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise PublishError(f"cannot write: {exc.strerror or exc}", path=str(target)) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes 0600 files; a web server must be able to read feeds.
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise PublishError(f"cannot write: {exc.strerror or exc}", path=str(target)) from exc
        raise
    _fsync_dir(folder)


def _read_manifest(root: Path) -> list[str]:
    try:
        data = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # no manifest (first run) or a damaged one: own nothing, delete nothing
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return []
    return [f for f in files if isinstance(f, str)]


def _write_manifest(root: Path, files: Iterable[str]) -> None:
    doc = {"version": _MANIFEST_VERSION, "generator": "feedwright", "files": sorted(set(files))}
    data = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    target = root / MANIFEST_NAME
    if _same(target, data):
        return
    atomic_write(target, data)


def _same(target: Path, data: bytes) -> bool:
    try:
        if target.is_symlink() or not target.is_file() or target.stat().st_size != len(data):
            return False
        return target.read_bytes() == data
    except OSError:
        return False


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
        raise PublishError(f"cannot remove: {exc.strerror or exc}", path=str(target)) from exc
    folder = target.parent
    resolved_root = root.resolve()
    while folder.resolve() != resolved_root and folder.resolve().is_relative_to(resolved_root):
        try:
            folder.rmdir()  # only succeeds when empty: other people's files keep it
        except OSError:
            break
        folder = folder.parent
    return True


@dataclass(frozen=True, slots=True)
class Pending:
    """A publish under way: its checked targets and the files owned before it."""

    root: Path
    targets: dict[str, Path]  # every path to write, sorted, each checked by safe_path
    kept: list[str]
    owned: list[str]


def begin_outputs(root: Path, rels: Iterable[str], *, keep: Iterable[str] = ()) -> Pending:
    """Check every path and make the manifest own them all, before any file is written.

    Called with every path of the publish (known from the plan before
    serialising), so files may then be written in any order, by any process.
    """
    names = set(rels)
    kept = sorted(set(keep) - names)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(f"cannot create: {exc.strerror or exc}", path=str(root)) from exc
    targets = {rel: safe_path(root, rel) for rel in sorted(names)}
    if MANIFEST_NAME in targets:
        raise PublishError("reserved for feedwright's manifest", path=MANIFEST_NAME)

    owned = _read_manifest(root)
    if not names <= set(owned):
        _write_manifest(root, [*owned, *names])
    return Pending(root, targets, kept, owned)


def put(target: Path, data: bytes) -> bool:
    """Write ``data`` to ``target`` unless it already holds exactly that; True if written."""
    if _same(target, data):
        return False
    atomic_write(target, data)
    return True


def finish_outputs(pending: Pending, written: Iterable[str]) -> WriteResult:
    """Every file is in place: remove stale ones, and let the manifest own exactly
    this publish's files. ``written`` names the files rewritten; the rest unchanged."""
    root = pending.root
    names = set(pending.targets)
    kept = pending.kept
    result = WriteResult(written=sorted(written))
    changed = set(result.written)
    result.unchanged.extend(kept)
    result.unchanged.extend(rel for rel in pending.targets if rel not in changed)

    for rel in sorted(set(pending.owned) - names - set(kept)):
        if _remove(root, rel):
            result.removed.append(rel)

    _write_manifest(root, [*names, *kept])
    result.unchanged.sort()
    return result


def write_outputs(
    root: Path, files: Mapping[str, bytes], *, keep: Iterable[str] = ()
) -> WriteResult:
    """Make output.dir hold exactly ``files`` (plus ``keep``) among the files feedwright owns.

    ``keep`` names files the caller knows are already up to date (it did not
    even serialise them): they count as unchanged and stay owned.
    """
    pending = begin_outputs(root, files, keep=keep)
    written = [rel for rel, target in pending.targets.items() if put(target, files[rel])]
    return finish_outputs(pending, written)


__all__ = [
    "Pending",
    "WriteResult",
    "atomic_write",
    "begin_outputs",
    "finish_outputs",
    "put",
    "safe_path",
    "write_outputs",
]
