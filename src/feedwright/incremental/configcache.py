"""The config cache: ``build`` parses its config file once per change of it.

Reading ``config.yaml`` is a large part of a build that finds nothing
changed: PyYAML is imported and run (docs/performance.md has the figure).
:func:`load` keeps the parsed :class:`Config`
in ``.feedwright/<config name>.cache`` beside the config file and uses it
again while all of these hold:

- the config's text is the same (its path and the code's :func:`build_id`
  too: both are in the key, with the text);
- every path the config names resolves as it did (a symlinked ``output.dir``
  re-pointed since, a posts folder removed since: parsed again, so the
  result and its errors are those of a fresh parse).

The file is a 16-byte key, then the pickled config and those facts, read
back by an unpickler that makes only the config's own classes: a damaged,
foreign or crafted file is parsed again, never run. A folder that cannot be
written is no error: the config is then parsed on every build.

The cache is kept only where feedwright keeps files already: when the
``.feedwright`` folder exists or the config's state is a SQLite file in it
(the default). A config whose state is elsewhere (a PostgreSQL server, say)
leaves nothing beside the config file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
from pathlib import Path, PosixPath, WindowsPath
from typing import Any

from .. import build_id
from ..config import Config, parse_noting, read
from ..configdoc import PathFact, path_fact

CACHE_DIR = ".feedwright"

# What a cached config is made of; nothing else is unpickled.
_MODULES = frozenset(
    {"feedwright.config", "feedwright.configsources", "feedwright.filters", "feedwright.model"}
)
_OTHERS = {("pathlib", "PosixPath"): PosixPath, ("pathlib", "WindowsPath"): WindowsPath}
_KEY = 16


class _ConfigUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _OTHERS:
            return _OTHERS[module, name]
        if module == "datetime" and name == "timedelta":
            return super().find_class(module, name)
        if module in _MODULES and not name.startswith("_"):
            found = super().find_class(module, name)
            if isinstance(found, type) and found.__module__ == module:  # (not imported there)
                return found
        raise pickle.UnpicklingError(f"not part of a config: {module}.{name}")


def cache_file(path: Path) -> Path:
    """Where the parse of the config file at ``path`` (absolute) is kept."""
    return path.parent / CACHE_DIR / f"{path.name}.cache"


def load(path: Path | str) -> Config:
    """The config at ``path``, as :func:`feedwright.config.load` reads it:
    from the cache while its text, the code and the paths it names are as
    they were, else parsed (and kept for the next time)."""
    path = Path(path).absolute()
    text = read(path)
    key = hashlib.blake2b(
        f"{build_id()}\0{path}\0{text}".encode("utf-8", "surrogatepass"), digest_size=_KEY
    ).digest()
    file = cache_file(path)
    kept = _kept(file, key)
    if kept is not None:
        return kept
    config, facts = parse_noting(text, path)
    state = config.state
    if file.parent.is_dir() or (isinstance(state, Path) and state.parent == file.parent):
        _keep(file, key, config, facts)
    return config


def _kept(file: Path, key: bytes) -> Config | None:
    try:
        data = file.read_bytes()
    except OSError:
        return None
    if data[:_KEY] != key:
        return None
    try:
        config, facts = _ConfigUnpickler(io.BytesIO(data[_KEY:])).load()
        if not isinstance(config, Config):
            return None
        if any(path_fact(Path(fact[0])) != fact for fact in facts):
            return None
    except Exception:  # a damaged or foreign file is parsed again
        return None
    return config


def _keep(file: Path, key: bytes, config: Config, facts: list[PathFact]) -> None:
    data = key + pickle.dumps((config, facts), protocol=pickle.HIGHEST_PROTOCOL)
    tmp = file.with_name(f"{file.name}.{os.getpid()}.tmp")
    try:
        file.parent.mkdir(exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, file)
    except OSError:  # a read-only folder, a full disk: parsed again next time
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


__all__ = ["CACHE_DIR", "cache_file", "load"]
