"""The date math of schedules: the slot after a slot, and the first slot after "now".

Rules (the spec's, plus cron and time zones):

* ``MINUTES`` and ``HOURLY`` are fixed durations (``minutes``, default 1; one hour),
  counted in absolute time, so a time zone changes nothing for them.
* ``DAILY``, ``WEEKLY``, ``MONTHLY``, ``QUARTERLY`` and ``YEARLY`` step the *wall clock*
  of the schedule's time zone (UTC when it has none, as Django Q does with arrow): "daily
  at 09:00 Europe/Paris" stays at 09:00 local across daylight-saving changes.
* Months are clamped, never rolled over: the 31st runs on the last day of a shorter month
  and stays on that day afterwards (Jan 31 -> Feb 29/28 -> Mar 28/29); 29 February runs on
  28 February in the following years. This follows from stepping the last run, as the
  spec says ("the day and time of the last run").
* A wall-clock time that does not exist (in a spring-forward gap) runs at the first
  instant after the gap (02:30 -> 03:30); an ambiguous one (fall-back) runs at its first
  occurrence. Stepping continues from the time that ran, so a DAILY schedule set inside a
  gap keeps the shifted time: use a CRON schedule for times between 02:00 and 03:00.
* ``CRON`` uses croniter on the wall clock of the time zone. On the fall-back day an
  expression for one fixed time (``30 2 * * *``) runs once, not at both 02:30s.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone as dt_timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

ONCE, MINUTES, HOURLY, DAILY, WEEKLY = "O", "I", "H", "D", "W"
MONTHLY, QUARTERLY, YEARLY, CRON = "M", "Q", "Y", "C"

FIXED = {HOURLY: timedelta(hours=1)}
WALL_DAYS = {DAILY: 1, WEEKLY: 7}
WALL_MONTHS = {MONTHLY: 1, QUARTERLY: 3, YEARLY: 12}


class ScheduleError(ValueError):
    """A schedule whose next run cannot be computed (unknown type, bad cron, bad zone)."""


def zone(name: str | None) -> tzinfo:
    """The ``ZoneInfo`` for an IANA name; UTC for none."""
    if not name:
        return dt_timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"Unknown time zone {name!r}: use an IANA name such as "
                            "'Europe/Paris'") from exc


def check_cron(expression: str | None) -> None:
    if not expression or not croniter.is_valid(expression):
        raise ScheduleError(f"Invalid cron expression {expression!r}: expected five fields "
                            "such as '30 9 * * 1-5'")


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved by whole months, the day clamped to the target month's length."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _on_wall_clock(moment: datetime, tz: tzinfo, step) -> datetime:
    """Apply ``step`` to the naive wall-clock time of ``moment`` in ``tz``, then map it
    back (fold=0: the gap maps forward, an ambiguous time to its first occurrence)."""
    if moment.tzinfo is None:  # USE_TZ = False: naive times are the wall clock
        return step(moment)
    local = moment.astimezone(tz).replace(tzinfo=None, fold=0)
    return step(local).replace(tzinfo=tz).astimezone(moment.tzinfo)


def _cron_next(expression: str, moment: datetime, tz: tzinfo) -> datetime:
    check_cron(expression)
    if moment.tzinfo is None:
        return croniter(expression, moment).get_next(datetime)
    start = moment.astimezone(tz)
    found = croniter(expression, start)
    following = found.get_next(datetime)
    if following.replace(tzinfo=None) == start.replace(tzinfo=None):
        following = found.get_next(datetime)  # the repeated hour of a fall-back day
    return following.astimezone(moment.tzinfo)


def advance(schedule_type: str, moment: datetime, *, minutes: int | None = None,
            cron: str | None = None, time_zone: str | None = None) -> datetime:
    """The slot that follows the slot ``moment`` (an aware datetime, or naive without
    USE_TZ). ``ONCE`` has no next slot: :class:`ScheduleError`."""
    if schedule_type == MINUTES:
        return moment + timedelta(minutes=minutes or 1)
    if schedule_type in FIXED:
        return moment + FIXED[schedule_type]
    tz = zone(time_zone)
    if schedule_type in WALL_DAYS:
        days = WALL_DAYS[schedule_type]
        return _on_wall_clock(moment, tz, lambda local: local + timedelta(days=days))
    if schedule_type in WALL_MONTHS:
        months = WALL_MONTHS[schedule_type]
        return _on_wall_clock(moment, tz, lambda local: add_months(local, months))
    if schedule_type == CRON:
        return _cron_next(cron, moment, tz)
    raise ScheduleError(f"Schedule type {schedule_type!r} has no next run")


def next_future(schedule_type: str, moment: datetime, now: datetime, **options) -> datetime:
    """The first slot after ``now`` on the schedule that ran at ``moment`` (catch_up
    False: missed slots are skipped). Fixed durations jump; the others step."""
    if schedule_type == CRON and moment < now:
        # Cron slots do not depend on the previous run: start from now.
        return advance(schedule_type, now, **options)
    if schedule_type in (MINUTES, HOURLY) and moment < now:
        step = advance(schedule_type, moment, **options) - moment
        moment += step * ((now - moment) // step)
    following = advance(schedule_type, moment, **options)
    while following <= now:
        following = advance(schedule_type, following, **options)
    return following
