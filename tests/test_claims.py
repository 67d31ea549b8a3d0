"""Sharing due sources out among processes (``store.claim_due`` and friends,
issue 18), on SQLite and PostgreSQL; and what a server database adds: a
cluster-wide publish lock and surviving a dropped connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import Backend

import feedwright
from feedwright.exceptions import StoreError
from feedwright.store import SourceState

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T = NOW.timestamp()


def keys(n: int) -> list[str]:
    return [f"https://feeds.example/{i:04d}.xml" for i in range(n)]


def test_new_sources_are_due_at_once_and_claimed_earliest_first(backend: Backend) -> None:
    with backend.open() as store:
        store.save_source_state(SourceState("late", "u", next_check=NOW + timedelta(minutes=5)))
        store.save_source_state(SourceState("early", "u", next_check=NOW - timedelta(hours=1)))
        store.save_source_state(SourceState("gone", "u", status="gone"))
        store.save_source_state(SourceState("waiting", "u", retry_after=NOW + timedelta(hours=1)))
        store.add_sources([("new", "https://new.example/")])
        store.add_sources([("early", "https://other.example/")])  # known: left alone
        assert sorted(store.claim_due("w1", T, 10, 3600)) == ["early", "new"]
        assert store.source_states()["early"].url == "u"
        assert store.claim_due("w2", T, 10, 60) == []  # leased to w1
        assert store.claim_due("w2", T + 600, 10, 60) == ["late"]  # due by now
        # w1's leases ran out: its sources are due again (it died, say).
        assert sorted(store.claim_due("w3", T + 7200, 10, 60)) == [
            "early",
            "late",
            "new",
            "waiting",
        ]


def test_a_source_due_in_3001_under_a_wrong_clock_is_claimed_now(backend: Backend) -> None:
    # docs/history.md, "Dates and the clock": a next check or Retry-After past
    # 2999 was set under a wrong clock and is due at once, for a dispatcher's
    # claims as for a one-shot build (update.is_due).
    future = datetime(3001, 1, 1, tzinfo=UTC)
    with backend.open() as store:
        store.save_source_state(SourceState("checked", "u", next_check=future))
        store.save_source_state(SourceState("limited", "u", retry_after=future))
        store.save_source_state(SourceState("later", "u", next_check=NOW + timedelta(hours=1)))
        store.add_sources([("old", "u")])
        # A row an older version saved under that clock: due in 3001.
        backend.execute("UPDATE sources SET due_at = ? WHERE key = 'old'", (future.timestamp(),))
        assert sorted(store.claim_due("w1", T, 10, 60)) == ["checked", "limited", "old"]
        assert store.claim_due("w2", T + 30, 10, 60) == []  # leased to w1, not due in 3001
        assert sorted(store.claim_due("w2", T + 120, 10, 60)) == ["checked", "limited", "old"]


def test_a_claim_takes_at_most_its_limit_in_due_order(backend: Backend) -> None:
    with backend.open() as store:
        for i, key in enumerate(keys(30)):
            store.save_source_state(SourceState(key, key, next_check=NOW - timedelta(seconds=i)))
        # The earliest due are taken (the order of the keys returned means nothing).
        first = store.claim_due("w1", T, 10, 60)
        assert sorted(first) == keys(30)[20:]
        second = store.claim_due("w2", T, 10, 60)
        assert sorted(second) == keys(30)[10:20]


def test_saving_the_state_ends_the_lease_and_sets_the_next_due_time(backend: Backend) -> None:
    with backend.open() as store:
        store.add_sources([("a", "u"), ("b", "u")])
        assert sorted(store.claim_due("w1", T, 10, 600)) == ["a", "b"]
        store.save_source_state(SourceState("a", "u", next_check=NOW + timedelta(hours=1)))
        assert store.release("w1", ["a", "b"], due=T) == ["b"]  # a was saved: not leased
        assert store.claim_due("w2", T, 10, 7200) == ["b"]
        assert store.claim_due("w2", T + 3599, 10, 600) == []
        assert store.claim_due("w2", T + 3601, 10, 600) == ["a"]


def test_only_the_owner_renews_or_releases(backend: Backend) -> None:
    with backend.open() as store:
        store.add_sources([("a", "u")])
        assert store.claim_due("w1", T, 10, 60) == ["a"]
        assert store.renew("w2", ["a"], T + 3600) == []
        assert store.release("w2", ["a"]) == []
        assert store.renew("w1", ["a"], T + 3600) == ["a"]
        assert store.claim_due("w2", T + 120, 10, 60) == []  # renewed past the first lease
        assert store.claim_due("w2", T + 3601, 10, 60) == ["a"]
        assert store.renew("w1", ["a"], T + 7200) == []  # w1 lost it


CLAIMER = """
import json, sys
from feedwright.store import Store
store = Store.open(sys.argv[1])
owner, now = sys.argv[2], float(sys.argv[3])
got = []
while batch := store.claim_due(owner, now, 7, 3600):
    got += batch
print(json.dumps(got))
"""


def test_concurrent_claimers_never_get_the_same_source(backend: Backend) -> None:
    all_keys = keys(600)
    with backend.open() as store:
        store.add_sources([(k, k) for k in all_keys])
    src = Path(feedwright.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(src)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, backend.location, f"w{n}", str(T)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(3)
    ]
    claimed: list[str] = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        claimed += json.loads(out)
    assert sorted(claimed) == sorted(all_keys)  # each exactly once


# --------------------------------------------------------------------------- PostgreSQL


def test_one_publisher_at_a_time(backend: Backend) -> None:
    with backend.open() as first, backend.open() as second:
        with first.publish_lock() as taken:
            assert taken
            with second.publish_lock() as also:
                assert also == (backend.name == "sqlite")  # SQLite: the output lock's job
        with second.publish_lock() as taken:
            assert taken
        holder = backend.open()
        with holder.publish_lock() as taken:
            assert taken
            holder.close()  # a publisher that dies frees the lock with its connection
            # The server ends the closed session a moment later: wait for that.
            deadline = time.monotonic() + 30
            while True:
                with first.publish_lock() as free:
                    if free or time.monotonic() > deadline:
                        break
                time.sleep(0.05)
            assert free


def pg_backend_ids(backend: Backend, name: str) -> list[int]:
    rows = backend.execute("SELECT pid FROM pg_stat_activity WHERE application_name = ?", (name,))
    return [int(row[0]) for row in rows]


def test_a_dropped_connection_is_made_again_for_the_next_operation(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("a file database has no connection to lose")
    name = f"fw-drop-{os.getpid()}"
    url = f"{backend.location}&application_name={name}"
    with feedwright.store.open(url) as store:
        store.set_meta("k", "before")
        pids = pg_backend_ids(backend, name)
        assert len(pids) == 1
        backend.execute("SELECT pg_terminate_backend(?)", (pids[0],))
        # Outside a transaction: the statement runs again on a new connection.
        assert store.get_meta("k") == "before"
        assert pg_backend_ids(backend, name) not in ([], pids)

        # Inside one: the transaction fails as a whole, and the next operation works.
        with pytest.raises(StoreError), store.transaction():
            store.set_meta("k", "lost")
            for pid in pg_backend_ids(backend, name):
                backend.execute("SELECT pg_terminate_backend(?)", (pid,))
            store.set_meta("k2", "lost too")
        assert store.get_meta("k") == "before"
        assert store.get_meta("k2") is None
        store.add_sources([("a", "u")])
        assert store.claim_due("w", T, 1, 60) == ["a"]


def test_an_unreachable_server_is_a_one_line_store_error() -> None:
    url = "postgresql://nobody:secret@127.0.0.1:9/none"
    with pytest.raises(StoreError) as info:
        feedwright.store.open(url, timeout=0.2)
    assert info.value.path == "postgresql://nobody@127.0.0.1:9/none"  # no password shown
    assert "secret" not in str(info.value)
    assert "\n" not in str(info.value)
