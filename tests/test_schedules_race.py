"""Several schedulers on one database never run a slot twice: SQLite and PostgreSQL.

Each scheduler is a thread with its own database connection, started together at a
barrier and running several passes over the same due schedules (with ``sync=True`` each
claimed slot runs inline and leaves one ``Task`` row). Every slot must have run exactly
once: one result per slot, ``repeats`` counted down once per slot, no task id twice.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.db import connections

from djq.models import Schedule, Task
from djq.scheduler import scheduler
from djq.tasks import schedule
from tests.services import postgres_url, require_postgres

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=dt_timezone.utc)
THREADS, PASSES = 4, 3
DATABASES = ["default", "pg"] if postgres_url() else ["default"]


class ToPostgres:
    """Routes djq's models to the ``pg`` alias."""

    def db_for_read(self, model, **hints):
        return "pg" if model._meta.app_label == "djq" else None

    db_for_write = db_for_read


def race() -> list[str]:
    """Run PASSES scheduling passes in each of THREADS threads at once; all task ids."""
    barrier = threading.Barrier(THREADS)
    created: list[list[str]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(PASSES):
                created[index] += scheduler(now=NOW).tasks
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connections

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return [task_id for ids in created for task_id in ids]


def make_schedules(catch_up: bool) -> dict[int, int]:
    """Due schedules of several types -> the number of slots each must run."""
    slots = {}
    for i in range(4):
        s = schedule("tests.tasks.noop", name=f"every-minute-{i}", schedule_type="I",
                     minutes=1, next_run=NOW - timedelta(minutes=29))
        slots[s.pk] = 30 if catch_up else 1
    s = schedule("tests.tasks.noop", name="hourly-3", schedule_type="H", repeats=3,
                 next_run=NOW - timedelta(hours=10))
    slots[s.pk] = 3 if catch_up else 1
    s = schedule("tests.tasks.noop", name="cron", schedule_type="C", cron="*/5 * * * *",
                 next_run=NOW - timedelta(minutes=20))
    slots[s.pk] = 5 if catch_up else 1
    s = schedule("tests.tasks.noop", name="once-kept", repeats=1, next_run=NOW)
    slots[s.pk] = 1
    s = schedule("tests.tasks.noop", name="once-deleted", next_run=NOW)
    slots[s.pk] = 1
    return slots


def check(using: str, slots: dict[int, int], ids: list[str]) -> None:
    assert len(ids) == len(set(ids)) == sum(slots.values())
    tasks = Task.objects.using(using)
    for pk, expected in slots.items():
        s = Schedule.objects.using(using).filter(pk=pk).first()
        name = s.name if s else "once-deleted"
        assert tasks.filter(group=name).count() == expected, name
        if s is None:
            continue
        if s.schedule_type == Schedule.ONCE:
            assert s.repeats == 0
        elif s.name == "hourly-3":
            assert s.repeats == 3 - expected
        else:
            assert s.repeats == -1 - expected
            assert s.next_run > NOW
    assert not Schedule.objects.using(using).filter(name="once-deleted").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("catch_up", [True, False])
def test_sqlite_schedulers_racing_run_each_slot_once(q_cluster, catch_up):
    q_cluster(sync=True, catch_up=catch_up)
    slots = make_schedules(catch_up)
    check("default", slots, race())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=DATABASES)
@pytest.mark.parametrize("catch_up", [True, False])
def test_postgres_schedulers_racing_run_each_slot_once(q_cluster, settings, catch_up):
    require_postgres()
    settings.DATABASE_ROUTERS = [ToPostgres()]
    q_cluster(sync=True, catch_up=catch_up)
    slots = make_schedules(catch_up)
    assert Schedule.objects.using("default").count() == 0  # all on pg
    check("pg", slots, race())
