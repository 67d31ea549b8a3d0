"""The next-check policy and the duration/size syntax: pure functions, pinned `now`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from feedwright.schedule import backoff, jitter_for, next_check, parse_duration, parse_size

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_success_is_interval_plus_deterministic_jitter() -> None:
    first = next_check(now=NOW, every=HOUR, key="https://a.example/feed")
    again = next_check(now=NOW, every=HOUR, key="https://a.example/feed")
    assert first == again
    assert NOW + HOUR <= first < NOW + HOUR + 0.1 * HOUR


def test_no_jitter_is_exactly_the_interval() -> None:
    assert next_check(now=NOW, every=HOUR, key="k", jitter=0) == NOW + HOUR


def test_jitter_spreads_keys_within_the_fraction() -> None:
    offsets = {jitter_for(f"https://host.example/feed{i}", HOUR, 0.5) for i in range(50)}
    assert len(offsets) == 50  # feeds of one host do not fire together
    assert all(timedelta(0) <= o < HOUR / 2 for o in offsets)
    assert jitter_for("k", HOUR, 0.0) == timedelta(0)


def test_cache_control_max_age_delays_but_never_hastens() -> None:
    later = next_check(now=NOW, every=HOUR, key="k", jitter=0, max_age=3 * HOUR)
    assert later == NOW + 3 * HOUR
    sooner = next_check(now=NOW, every=HOUR, key="k", jitter=0, max_age=timedelta(minutes=5))
    assert sooner == NOW + HOUR


def test_cache_control_max_age_is_capped_at_a_day() -> None:
    year = timedelta(days=365)
    assert next_check(now=NOW, every=HOUR, key="k", jitter=0, max_age=year) == NOW + timedelta(
        days=1
    )


def test_retry_after_is_a_floor() -> None:
    retry = NOW + timedelta(hours=5)
    assert next_check(now=NOW, every=HOUR, key="k", retry_after=retry, error_count=1) == retry
    past = NOW - HOUR
    assert next_check(now=NOW, every=HOUR, key="k", jitter=0, retry_after=past) == NOW + HOUR


def test_errors_back_off_exponentially_up_to_a_day() -> None:
    assert [backoff(n, HOUR) / HOUR for n in range(1, 7)] == [1, 2, 4, 8, 16, 24]
    assert backoff(10_000, HOUR) == timedelta(days=1)  # no overflow on a long streak
    assert backoff(0, HOUR) == HOUR


def test_backoff_never_polls_more_often_than_the_interval() -> None:
    week = timedelta(days=7)
    assert backoff(3, week) == week


def test_error_next_check_uses_backoff_and_ignores_max_age() -> None:
    when = next_check(now=NOW, every=HOUR, key="k", jitter=0, error_count=3, max_age=10 * HOUR)
    assert when == NOW + 4 * HOUR


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(days=7)),
        ("1h30m", timedelta(minutes=90)),
        ("1h 30m", timedelta(minutes=90)),
        ("0.5s", timedelta(milliseconds=500)),
        (" 45 ", timedelta(seconds=45)),
        ("10MIN", timedelta(minutes=10)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "", "1x", "h1", "1h30", "0s", "-5m", "1h,2m"])
def test_parse_duration_refuses_and_names_the_text(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500KB", 500_000),
        ("10MB", 10_000_000),
        ("1GB", 1_000_000_000),
        ("123", 123),
        (123, 123),
        ("64KiB", 65_536),
        ("2MiB", 2 * 1024 * 1024),
        ("1.5mb", 1_500_000),
        ("10 MB", 10_000_000),
        ("512B", 512),
    ],
)
def test_parse_size(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["big", "10XB", "", "0", 0, "-1MB"])
def test_parse_size_refuses(text: str | int) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(text)
