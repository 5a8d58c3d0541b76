"""The date math of schedules: every type, month ends, 29 February, DST, cron."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from djq.schedules.next_run import (CRON, DAILY, HOURLY, MINUTES, MONTHLY, ONCE, QUARTERLY,
                                    WEEKLY, YEARLY, ScheduleError, add_months, advance,
                                    next_future)

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def steps(kind, start, n, **options):
    out, moment = [], start
    for _ in range(n):
        moment = advance(kind, moment, **options)
        out.append(moment)
    return out


@pytest.mark.parametrize("kind, expected", [
    (MINUTES, utc(2024, 1, 1, 9, 5)),
    (HOURLY, utc(2024, 1, 1, 10, 0)),
    (DAILY, utc(2024, 1, 2, 9, 0)),
    (WEEKLY, utc(2024, 1, 8, 9, 0)),
    (MONTHLY, utc(2024, 2, 1, 9, 0)),
    (QUARTERLY, utc(2024, 4, 1, 9, 0)),
    (YEARLY, utc(2025, 1, 1, 9, 0)),
])
def test_each_type_steps_from_the_last_run(kind, expected):
    assert advance(kind, utc(2024, 1, 1, 9, 0), minutes=5) == expected


def test_minutes_defaults_to_one_minute():
    assert advance(MINUTES, utc(2024, 1, 1)) == utc(2024, 1, 1, 0, 1)


def test_once_has_no_next_run():
    with pytest.raises(ScheduleError):
        advance(ONCE, utc(2024, 1, 1))


def test_the_31st_runs_on_the_last_day_of_a_shorter_month_and_stays_there():
    runs = steps(MONTHLY, utc(2023, 1, 31, 12), 4)
    assert runs == [utc(2023, 2, 28, 12), utc(2023, 3, 28, 12), utc(2023, 4, 28, 12),
                    utc(2023, 5, 28, 12)]
    assert steps(MONTHLY, utc(2024, 1, 31), 2) == [utc(2024, 2, 29), utc(2024, 3, 29)]
    assert steps(MONTHLY, utc(2024, 3, 31), 2) == [utc(2024, 4, 30), utc(2024, 5, 30)]


def test_quarterly_clamps_the_same_way():
    assert steps(QUARTERLY, utc(2023, 11, 30), 2) == [utc(2024, 2, 29), utc(2024, 5, 29)]
    assert steps(QUARTERLY, utc(2024, 8, 31), 2) == [utc(2024, 11, 30), utc(2025, 2, 28)]


def test_29_february_runs_on_28_february_in_the_following_years():
    assert steps(YEARLY, utc(2024, 2, 29, 8), 5) == [
        utc(2025, 2, 28, 8), utc(2026, 2, 28, 8), utc(2027, 2, 28, 8), utc(2028, 2, 28, 8),
        utc(2029, 2, 28, 8)]


def test_add_months_across_years():
    assert add_months(datetime(2024, 12, 31), 2) == datetime(2025, 2, 28)
    assert add_months(datetime(2024, 11, 15), 14) == datetime(2026, 1, 15)


def test_daily_without_a_time_zone_is_utc_and_drifts_in_local_time():
    start = datetime(2024, 3, 30, 9, tzinfo=PARIS).astimezone(UTC)  # 08:00 UTC
    following = advance(DAILY, start)
    assert following == utc(2024, 3, 31, 8)
    assert following.astimezone(PARIS).hour == 10  # Django Q's behaviour: 24 h later


@pytest.mark.parametrize("start, zone", [
    (datetime(2024, 3, 29, 9, tzinfo=PARIS), "Europe/Paris"),       # spring forward
    (datetime(2024, 10, 25, 9, tzinfo=PARIS), "Europe/Paris"),      # fall back
    (datetime(2024, 3, 8, 9, tzinfo=NEW_YORK), "America/New_York"),
    (datetime(2024, 11, 1, 9, tzinfo=NEW_YORK), "America/New_York"),
])
def test_daily_with_a_time_zone_stays_at_local_time_across_dst(start, zone):
    runs = steps(DAILY, start.astimezone(UTC), 4, time_zone=zone)
    local = [r.astimezone(ZoneInfo(zone)) for r in runs]
    assert [(t.hour, t.minute) for t in local] == [(9, 0)] * 4
    assert [t.date() for t in local] == [start.date() + timedelta(days=i) for i in range(1, 5)]
    offsets = {r.astimezone(ZoneInfo(zone)).utcoffset() for r in runs}
    assert len(offsets | {start.utcoffset()}) == 2  # the DST change is inside the range
    assert all(r.tzinfo is UTC for r in runs)


def test_weekly_and_monthly_with_a_time_zone_keep_local_time():
    start = datetime(2024, 3, 25, 9, tzinfo=PARIS).astimezone(UTC)  # before the change
    assert advance(WEEKLY, start, time_zone="Europe/Paris").astimezone(PARIS) == \
        datetime(2024, 4, 1, 9, tzinfo=PARIS)
    start = datetime(2024, 10, 15, 9, tzinfo=PARIS).astimezone(UTC)
    assert advance(MONTHLY, start, time_zone="Europe/Paris").astimezone(PARIS) == \
        datetime(2024, 11, 15, 9, tzinfo=PARIS)


def test_hourly_and_minutes_count_absolute_time_whatever_the_zone():
    start = datetime(2024, 3, 31, 1, 30, tzinfo=PARIS).astimezone(UTC)
    assert advance(HOURLY, start, time_zone="Europe/Paris") - start == timedelta(hours=1)
    assert advance(HOURLY, start, time_zone="Europe/Paris").astimezone(PARIS).hour == 3


def test_a_wall_time_in_the_spring_gap_runs_after_the_gap():
    start = datetime(2024, 3, 30, 2, 30, tzinfo=PARIS).astimezone(UTC)
    following = advance(DAILY, start, time_zone="Europe/Paris").astimezone(PARIS)
    assert (following.day, following.hour, following.minute) == (31, 3, 30)


def test_an_ambiguous_wall_time_runs_at_its_first_occurrence():
    start = datetime(2024, 10, 26, 2, 30, tzinfo=PARIS).astimezone(UTC)
    following = advance(DAILY, start, time_zone="Europe/Paris")
    assert following == utc(2024, 10, 27, 0, 30)  # 02:30 CEST, not 02:30 CET


def test_cron_in_a_time_zone_across_dst():
    start = datetime(2024, 3, 29, 9, tzinfo=PARIS).astimezone(UTC)
    runs = steps(CRON, start, 4, cron="0 9 * * *", time_zone="Europe/Paris")
    assert [r.astimezone(PARIS).hour for r in runs] == [9, 9, 9, 9]
    assert runs[0] == utc(2024, 3, 30, 8) and runs[1] == utc(2024, 3, 31, 7)


def test_cron_on_the_fall_back_day_runs_a_fixed_time_once():
    start = datetime(2024, 10, 26, 2, 30, tzinfo=PARIS).astimezone(UTC)
    runs = steps(CRON, start, 2, cron="30 2 * * *", time_zone="Europe/Paris")
    assert [r.astimezone(PARIS).day for r in runs] == [27, 28]


def test_cron_in_the_spring_gap_returns_to_its_time():
    start = datetime(2024, 3, 30, 2, 30, tzinfo=PARIS).astimezone(UTC)
    runs = steps(CRON, start, 2, cron="30 2 * * *", time_zone="Europe/Paris")
    assert [(r.astimezone(PARIS).day, r.astimezone(PARIS).hour) for r in runs] == \
        [(31, 3), (1, 2)]


def test_cron_weekdays_and_utc_default():
    runs = steps(CRON, utc(2024, 1, 5, 9, 30), 2, cron="30 9 * * 1-5")  # a Friday
    assert runs == [utc(2024, 1, 8, 9, 30), utc(2024, 1, 9, 9, 30)]


def test_bad_cron_and_bad_zone_are_schedule_errors():
    with pytest.raises(ScheduleError, match="Invalid cron expression"):
        advance(CRON, utc(2024, 1, 1), cron="every day")
    with pytest.raises(ScheduleError, match="Unknown time zone 'Mars/Olympus'"):
        advance(DAILY, utc(2024, 1, 1), time_zone="Mars/Olympus")


@pytest.mark.parametrize("kind, options", [
    (MINUTES, {"minutes": 7}), (HOURLY, {}), (DAILY, {}), (WEEKLY, {}), (MONTHLY, {}),
    (QUARTERLY, {}), (YEARLY, {}), (CRON, {"cron": "*/10 * * * *"}),
])
def test_next_future_is_the_first_slot_after_now_on_the_original_grid(kind, options):
    start = utc(2023, 1, 31, 6, 0)
    now = utc(2024, 6, 15, 12, 34, 56) if kind != CRON else utc(2023, 2, 3, 12, 34, 56)
    expected = start
    while expected <= now:
        expected = advance(kind, expected, **options)
    assert next_future(kind, start, now, **options) == expected
    assert next_future(kind, expected, now, **options) == advance(kind, expected, **options)


def test_naive_datetimes_without_use_tz():
    assert advance(DAILY, datetime(2024, 1, 31, 9)) == datetime(2024, 2, 1, 9)
    assert advance(MONTHLY, datetime(2024, 1, 31, 9), time_zone="Europe/Paris") == \
        datetime(2024, 2, 29, 9)
