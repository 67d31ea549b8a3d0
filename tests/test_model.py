"""model: the content hash, held to the generic definition it is written out from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, replace

import pytest
from test_store import FULL, ROUND_TRIP, ROUND_TRIP_IDS

from feedwright.model import Body, Enclosure, Entry, Person, Provenance, hash_fields


def _jsonable(value: object) -> object:
    # The definition: every dataclass field, recursively; datetimes as ISO 8601.
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def reference_hash(entry: Entry) -> str:
    data = _jsonable(entry)
    assert isinstance(data, dict)
    data.pop("origin")
    body = data.get("body")
    if isinstance(body, dict) and body.get("digest"):
        del body["text"]
    raw = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


CASES = [
    *ROUND_TRIP,
    replace(FULL, body=Body("# text", "markdown", "https://b/", "digest")),
    replace(FULL, body=Body(None, "html", "https://b/", "digest")),
    replace(FULL, source=Provenance("https://f/")),
]


@pytest.mark.parametrize("entry", CASES, ids=[*ROUND_TRIP_IDS, "digest", "no-text", "bare-src"])
def test_hash_is_the_generic_definition(entry: Entry) -> None:
    assert hash_fields(entry) == reference_hash(entry)


def test_hash_names_every_field_of_the_model() -> None:
    # A field added to the model must be added to hash_fields too.
    assert [f.name for f in fields(Entry)][-1] == "origin"
    assert len(fields(Entry)) == 15
    assert [f.name for f in fields(Person)] == ["name", "email", "uri"]
    assert [f.name for f in fields(Enclosure)] == ["url", "type", "length"]
    assert [f.name for f in fields(Provenance)] == ["url", "title", "link", "id"]
    assert [f.name for f in fields(Body)] == ["text", "format", "base_url", "digest"]


def test_origin_and_a_digested_text_do_not_change_the_hash() -> None:
    with_digest = replace(FULL, body=Body("a", "markdown", "https://b/", "d"))
    assert hash_fields(replace(with_digest, origin="elsewhere.md")) == hash_fields(with_digest)
    assert hash_fields(replace(with_digest, body=Body(None, "markdown", "https://b/", "d"))) == (
        hash_fields(with_digest)
    )
    assert hash_fields(replace(FULL, title="other")) != hash_fields(FULL)


def test_newest_first_is_the_sort_key_order() -> None:
    import random
    from datetime import UTC, datetime, timedelta

    from feedwright.model import newest_first

    rnd = random.Random(3)
    base = datetime(2025, 6, 27, 6, 42, 52, tzinfo=UTC)
    entries = [
        replace(
            FULL,
            id=rnd.choice("abcdef") + str(n),
            published=base + timedelta(microseconds=rnd.choice([0, 1, 2, 10**6, -1])),
        )
        for n in range(300)
    ]
    assert newest_first(entries) == sorted(entries, key=Entry.sort_key)
    assert newest_first(reversed(entries)) == sorted(entries, key=Entry.sort_key)
