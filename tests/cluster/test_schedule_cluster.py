"""Schedules on a real cluster: a MINUTES schedule end to end, a broken schedule next to
good ones, two clusters on one database (SQLite and PostgreSQL), and ``scheduler: False``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from djq.models import Schedule, Task
from djq.tasks import async_task, result, schedule
from tests.cluster.conftest import wait_for
from tests.services import postgres_url, require_postgres

DATABASES = ["default", "pg"] if postgres_url() else ["default"]
pytestmark = pytest.mark.django_db(transaction=True, databases=DATABASES)


def results(name: str, using: str = "default") -> list[Task]:
    return list(Task.objects.using(using).filter(group=name).order_by("started"))


def test_minutes_schedules_end_to_end(cluster_env, start_cluster):
    env = cluster_env()
    now = timezone.now()
    # Missed its last three slots while no cluster ran: catch_up replays them at start.
    missed = schedule("tests.tasks.add", 1, 2, name="missed", schedule_type="I", minutes=1,
                      repeats=3, next_run=now - timedelta(minutes=2, seconds=30))
    # Due a few seconds after start: the scheduler wakes up for it.
    soon_at = now + timedelta(seconds=4)
    soon = schedule("tests.tasks.add", 2, 2, name="soon", schedule_type="I", minutes=1,
                    next_run=soon_at)
    broken = Schedule.objects.create(name="broken", func="tests.tasks.add",
                                     args="1, undefined_name", schedule_type="I", minutes=1,
                                     next_run=now - timedelta(seconds=1))
    cluster = start_cluster(env)
    wait_for(lambda: len(results("missed")) == 3, what="three catch-up runs")
    wait_for(lambda: len(results("soon")) == 1, what="the run due after start")
    assert [t.result for t in results("missed")] == [3, 3, 3]
    missed = Schedule.objects.get(pk=missed.pk)
    assert missed.repeats == 0 and missed.task == results("missed")[-1].pk
    soon = Schedule.objects.get(pk=soon.pk)
    task = results("soon")[0]
    assert task.result == 4 and task.started >= soon_at
    assert (soon.next_run, soon.repeats) == (soon_at + timedelta(minutes=1), -2)
    assert soon.success() is True and "/admin/djq/success/" in soon.last_run()
    broken = Schedule.objects.get(pk=broken.pk)
    assert broken.success() is False and broken.repeats == -2
    assert "created task" in cluster.log and "Schedule [broken] failed" in cluster.log
    assert cluster.stop() == 0


@pytest.mark.parametrize("database", ["default", pytest.param("pg", marks=pytest.mark.postgres)])
def test_two_clusters_run_each_slot_once(cluster_env, start_cluster, database):
    if database == "pg":
        require_postgres()
    env = cluster_env(database=database, **({"orm": "pg"} if database == "pg" else {}))
    now = timezone.now()
    s = Schedule.objects.using(database).create(
        name="shared", func="tests.tasks.noop", schedule_type="I", minutes=1,
        next_run=now - timedelta(minutes=39, seconds=30))  # 40 missed slots
    clusters = [start_cluster(env, wait_running=False) for _ in range(2)]
    wait_for(lambda: all("running." in c.log for c in clusters), timeout=60,
             what="both clusters running")
    wait_for(lambda: len(results("shared", database)) >= 40, what="40 results")
    s = Schedule.objects.using(database).get(pk=s.pk)
    assert s.repeats == -41 and s.next_run > now
    for c in clusters:
        assert c.stop() == 0
    assert len(results("shared", database)) == 40


def test_scheduler_false_disables_it(cluster_env, start_cluster):
    env = cluster_env(scheduler=False)
    s = schedule("tests.tasks.noop", name="off", schedule_type="I", minutes=1,
                 next_run=timezone.now() - timedelta(minutes=5))
    cluster = start_cluster(env)
    # The cluster works (and has run several guard cycles) ...
    assert result(async_task("tests.tasks.add", 1, 1), wait=30000) == 2
    # ... but no pass ran the schedule.
    s = Schedule.objects.get(pk=s.pk)
    assert (s.repeats, s.task, results("off")) == (-1, None, [])
    assert cluster.stop() == 0
