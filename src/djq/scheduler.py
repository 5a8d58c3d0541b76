"""The scheduler: one pass turns every due :class:`~djq.models.Schedule` into tasks.

The cluster's sentinel runs :func:`scheduler` (see :mod:`djq.cluster.scheduling`); it is
public so that a deployment driving schedules from an external timer (cron, a platform
scheduler) and tests can run a pass themselves.

**No slot runs twice.** Each slot is claimed with one compare-and-set ``UPDATE ... WHERE
id = %s AND next_run = <old> AND repeats = <old>`` that moves ``next_run`` and
``repeats`` on. Only the pass whose update matched a row enqueues the task: on SQLite the
database has one writer, on PostgreSQL the second update waits for the first row lock and
then no longer matches. The claim, the enqueue and the link to the task share one
transaction, so a broker error rolls the claim back and the slot is tried again on the
next pass (with the ORM broker on the same database, claim and task are even atomic).

**One broken schedule never stops the others.** Each schedule is processed on its own:
arguments that are not literals, a bad cron expression or time zone, arguments the broker
refuses (too large, not serializable) are recorded as a ``Failure`` of that schedule (its
``task`` links to it, so the admin shows the red icon) and the pass goes on. A function
that does not exist is a task like any other: its worker records the failure.

Semantics, as the spec says: a schedule is due when ``repeats != 0`` and ``next_run <=
now``; each run counts ``repeats`` down (negative values keep counting, as a run
counter); ``next_run`` moves on while repeats are left or negative. A ``ONCE`` schedule
with negative repeats is deleted after it ran; with positive repeats it is kept with
``repeats = 0``. ``catch_up`` True replays every missed slot (up to
:data:`MAX_SLOTS_PER_PASS` per schedule per pass, the rest on the following passes);
False runs a late schedule once and moves it to its next future slot. Tasks go to the
group named after the schedule (its ``name``, else its id) unless ``q_options`` says
otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import current_process
from typing import Any

from django.db import router, transaction
from django.db.models import Min
from django.utils import timezone

from djq.conf import conf
from djq.errors import PackageError
from djq.execution import format_error
from djq.humanhash import uuid_and_name
from djq.models import Schedule
from djq.schedules import arguments, next_run as sched

logger = logging.getLogger("djq")

MAX_SLOTS_PER_PASS = 100  # per schedule, so a long catch-up never holds the sentinel


@dataclass
class PassResult:
    """What one pass did: task ids created, schedules that failed to enqueue (retried
    next pass), and whether a catch-up was cut short (more due right away)."""

    tasks: list[str] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    more_due: bool = False


def scheduler(broker: Any = None, now: datetime | None = None) -> PassResult:
    """Run one scheduling pass over the due schedules (nothing with ``scheduler: False``).

    :param broker: the broker to enqueue to (default: the configured one).
    :param now: the time to schedule for (default: now), for tests and replays.
    """
    result = PassResult()
    if not conf.scheduler:
        return result
    now = now or timezone.now()
    db = router.db_for_write(Schedule)
    due = (Schedule.objects.using(db).exclude(repeats=0).filter(next_run__lte=now)
           .order_by("next_run", "pk").values_list("pk", flat=True))
    for pk in list(due):
        try:
            _run_schedule(pk, now, broker, db, result)
        except Exception as exc:  # a database error on one schedule: log, go on
            result.retry.append(pk)
            logger.error("Schedule %s could not run: %s", pk, format_error(exc))
    return result


def seconds_until_due(now: datetime | None = None) -> float | None:
    """Seconds until the earliest active schedule is due (0 if one is late), or None."""
    db = router.db_for_write(Schedule)
    earliest = (Schedule.objects.using(db).exclude(repeats=0)
                .aggregate(earliest=Min("next_run"))["earliest"])
    if earliest is None:
        return None
    return max(0.0, (earliest - (now or timezone.now())).total_seconds())


# -- one schedule -----------------------------------------------------------------------------
def _run_schedule(pk: int, now: datetime, broker: Any, db: str, result: PassResult) -> None:
    """Run the due slots of one schedule: all missed ones with catch_up, else one."""
    for _slot in range(MAX_SLOTS_PER_PASS):
        s = Schedule.objects.using(db).filter(pk=pk).first()
        if s is None or s.repeats == 0 or s.next_run > now:
            return
        try:
            following = _following(s, now)
        except sched.ScheduleError as exc:
            _pause_broken(s, db, str(exc))
            return
        task_id = _claim_and_enqueue(s, following, broker, db)
        if task_id is None:
            result.retry.append(pk)
            return
        if task_id is not False:
            result.tasks.append(task_id)
        if following is None or not conf.catch_up:
            return
    result.more_due = True


def _following(s: Schedule, now: datetime) -> datetime | None:
    """The next run after this slot (None for ONCE)."""
    if s.schedule_type == Schedule.ONCE:
        return None
    options = {"minutes": s.minutes, "cron": s.cron, "time_zone": s.time_zone}
    if conf.catch_up:
        return sched.advance(s.schedule_type, s.next_run, **options)
    return sched.next_future(s.schedule_type, s.next_run, now, **options)


def _claim_and_enqueue(s: Schedule, following: datetime | None, broker: Any,
                       db: str) -> str | bool | None:
    """Claim the slot and create its task, in one transaction.

    :returns: the task id; ``False`` if another scheduler claimed the slot first;
        ``None`` if the broker failed (the claim is rolled back; tried again next pass).
    """
    repeats = _repeats_after(s)
    updates = {"repeats": repeats}
    if following is not None and repeats != 0:
        updates["next_run"] = following  # the spec: only while repeats are left
    try:
        with transaction.atomic(using=db):
            claimed = (Schedule.objects.using(db)
                       .filter(pk=s.pk, next_run=s.next_run, repeats=s.repeats)
                       .update(**updates))
            if not claimed:
                return False
            task_id = _create_task(s, broker)
            if s.schedule_type == Schedule.ONCE and s.repeats < 0:
                Schedule.objects.using(db).filter(pk=s.pk).delete()
            else:
                Schedule.objects.using(db).filter(pk=s.pk).update(task=task_id)
    except Exception as exc:
        logger.error("%s could not enqueue a task for schedule [%s]; trying again on the "
                     "next pass: %s", current_process().name, _label(s), format_error(exc))
        return None
    logger.info("%s created task %s from schedule [%s]", current_process().name, task_id,
                _label(s))
    return task_id


def _repeats_after(s: Schedule) -> int:
    if s.schedule_type == Schedule.ONCE:
        return 0  # negative: deleted after the run; positive: kept, never run again
    return s.repeats - 1


def _label(s: Schedule) -> str:
    return s.name or str(s.pk)


def _create_task(s: Schedule, broker: Any) -> str:
    """Enqueue the schedule's task; a schedule that cannot make one (bad arguments, a
    package the broker refuses) gets a recorded Failure instead. Broker errors raise."""
    from djq.tasks import async_task

    try:
        args = arguments.parse_args(s.args)
        kwargs = arguments.parse_kwargs(s.kwargs)
        q_options = dict(kwargs.pop("q_options", None) or {})
    except arguments.ArgumentsError as exc:
        return _record_failure(s, f"ScheduleError: {exc}")
    if s.hook:
        q_options["hook"] = s.hook
    q_options.setdefault("group", _label(s))
    if broker is not None:
        q_options["broker"] = broker
    try:
        return async_task(s.func, *args, q_options=q_options, **kwargs)
    except PackageError as exc:  # too large, not serializable: the same every time
        return _record_failure(s, f"ScheduleError: {exc!r}")


def _record_failure(s: Schedule, reason: str) -> str:
    """Save a Failure for a slot whose task could not be created; return its id."""
    from djq.results import save_results

    task_id, name = uuid_and_name()
    now = timezone.now()
    logger.error("Schedule [%s] failed: %s", _label(s), reason)
    save_results([{
        "id": task_id, "name": name, "func": s.func, "args": None, "kwargs": None,
        "group": _label(s), "started": now, "stopped": now, "success": False,
        "result": reason, "attempt": 1, "cached": False,
    }])
    return task_id


def _pause_broken(s: Schedule, db: str, reason: str) -> None:
    """A schedule whose next run cannot be computed is paused (repeats 0) with a recorded
    Failure: fix it in the admin and set repeats again."""
    with transaction.atomic(using=db):
        claimed = (Schedule.objects.using(db)
                   .filter(pk=s.pk, next_run=s.next_run, repeats=s.repeats)
                   .update(repeats=0))
        if claimed:
            task_id = _record_failure(s, f"ScheduleError: {reason}; the schedule is paused "
                                         "(repeats = 0) until it is fixed")
            Schedule.objects.using(db).filter(pk=s.pk).update(task=task_id)
