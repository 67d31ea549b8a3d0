"""Atom ids must be absolute IRIs; remote guids that are not are mapped stably."""

from __future__ import annotations

import pytest

from feedwright.publish.atom_rss import atom_id


@pytest.mark.parametrize(
    "value",
    [
        "https://wire.example/rates",
        "tag:news.example.com,2000:posts/a",
        "urn:uuid:0b9d6a5e-1111-4a2b-8c3d-000000000001",
        "urn:isbn:0451450523",
        "radio.example:episode:12",
    ],
)
def test_valid_ids_kept(value: str) -> None:
    assert atom_id(value) == value


@pytest.mark.parametrize("value", ["12345", "urn:harbour", "post 7", "", "/relative/path"])
def test_invalid_ids_become_stable_uuid_urns(value: str) -> None:
    mapped = atom_id(value)
    assert mapped.startswith("urn:uuid:")
    assert atom_id(value) == mapped
    assert atom_id(value + "x") != mapped
