"""What the id ledger made of every post, kept between builds.

Resolving 10,000 posts against the ledger means parsing its every line and
matching every post; a build where posts were only edited in place needs
neither. The state keeps, after each published build, what resolving gave
(each post's id and date where the ledger's differ from its own) beside a
hash of the ledger's text as that build left it. The next build uses it
when all of this holds, and else resolves the whole:

- the ledger's file holds that text still (nobody edited it);
- the post cache is as that build left it: whatever updates the post cache
  forgets this first (:func:`forget`), so a build that failed after reading
  leaves nothing to trust;
- no post file was added or removed since, and the posts folders (their
  cache roots and ledger keys) are the same;
- every edited post has a line and keeps its line's id
  (:func:`feedwright.ledger.resolve_edits`).

Then only the edited posts are resolved; every other post resolves as it did.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

from .. import build_id
from ..store import Store

KEY = "ids-resolution"  # store meta


class Kept(NamedTuple):
    folders: list[tuple[str, str]]  # each posts folder's cache root and ledger key prefix
    ledger: str  # digest of the ledger's text as the build left it
    ids: dict[str, tuple[str, datetime]]  # ledger.Resolved.ids of every post


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


def load(store: Store) -> Kept | None:
    """What the last build resolved; None when there is none or it is unreadable."""
    raw = store.get_meta(KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        if data["version"] != build_id():
            return None
        ids = {}
        for key, (id_, when) in data["ids"].items():
            date = datetime.fromisoformat(when)
            if date.tzinfo is None:
                return None
            ids[key] = (str(id_), date)
        folders = [(str(root), str(prefix)) for root, prefix in data["folders"]]
        return Kept(folders, str(data["ledger"]), ids)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def save(
    store: Store,
    folders: list[tuple[str, str]],
    text: str,
    ids: Mapping[str, tuple[str, datetime]],
) -> None:
    data = {
        "version": build_id(),
        "folders": folders,
        "ledger": digest(text),
        "ids": {key: [id_, date.isoformat()] for key, (id_, date) in ids.items()},
    }
    store.set_meta(KEY, json.dumps(data))  # (ASCII: a path may not be UTF-8)


def forget(store: Store) -> None:
    if store.get_meta(KEY):
        store.set_meta(KEY, "")


__all__ = ["KEY", "Kept", "digest", "forget", "load", "save"]
