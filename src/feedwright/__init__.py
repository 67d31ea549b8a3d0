"""feedwright: local posts and remote feeds in, per-category Atom/RSS out."""

from __future__ import annotations

import functools
import hashlib
import os

__version__ = "0.1.0"


@functools.cache
def build_id() -> str:
    """The version plus a stamp of the installed code: what caches are keyed by.

    An upgrade (or, in a checkout, an edit to the code) must never reuse
    cached posts or skip a feed rendered by other code.
    """
    h = hashlib.sha256(__version__.encode())
    root = os.path.dirname(os.path.abspath(__file__))
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                h.update(f"{folder[len(root) :]}/{name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return f"{__version__}+{h.hexdigest()[:12]}"
