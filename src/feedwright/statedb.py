"""Names in the state database that layers which cannot import each other share.

The config gives the database's default path; the store writes its meta keys;
the no-change shortcut (``quick.py``) reads them with plain ``sqlite3``, before
the config parser or the store is imported. A leaf, so every one of them can
import it and imports still point down.
"""

from __future__ import annotations

DEFAULT_STATE = ".feedwright/state.db"  # relative to the config's folder
BUILD_KEY = "build"  # store meta: what the last successful publish was made from
GENERATION_KEY = "entries-generation"  # store meta: moves whenever remote entries change

__all__ = ["BUILD_KEY", "DEFAULT_STATE", "GENERATION_KEY"]
