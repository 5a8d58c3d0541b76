"""Schedules: ``schedule()``, the model, and the scheduling pass under controlled time.

Most tests run with ``sync=True`` so the scheduled tasks run inline and their results are
``Task`` rows to look at; ``now=`` (or time-machine) fixes the time of each pass.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from djq.brokers import Broker
from djq.cluster.scheduling import INTERVAL, SOONEST, run_scheduler
from djq.models import Schedule, Task
from djq.scheduler import scheduler, seconds_until_due
from djq.tasks import schedule
from djq_orm.models import OrmQ
from tests import tasks as test_tasks

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
T0 = datetime(2024, 1, 31, 9, 0, tzinfo=UTC)


@pytest.fixture
def sync(q_cluster):
    return q_cluster(sync=True)


def group(s: Schedule) -> list[Task]:
    return list(Task.objects.filter(group=s.name or str(s.pk)).order_by("started"))


def fresh(s: Schedule) -> Schedule:
    return Schedule.objects.get(pk=s.pk)


# -- schedule() and the model ---------------------------------------------------------------
def test_schedule_with_the_spec_signature(sync):
    with time_machine.travel(T0, tick=False):
        s = schedule("math.copysign", 2, -2, hook="tests.tasks.record_hook",
                     schedule_type="D")
    assert (s.func, s.args, s.kwargs, s.hook) == ("math.copysign", "(2, -2)", None,
                                                   "tests.tasks.record_hook")
    assert (s.schedule_type, s.repeats, s.next_run) == (Schedule.DAILY, -1, T0)
    s2 = schedule("math.sqrt", 9, q_options={"timeout": 30}, schedule_type=Schedule.HOURLY,
                  name="roots", x=1)
    assert s2.kwargs == "{'x': 1, 'q_options': {'timeout': 30}}"
    with pytest.raises(IntegrityError, match="'roots' already exists"):
        schedule("math.sqrt", 4, name="roots")


def test_schedule_type_choices_are_the_spec_types_plus_cron():
    assert [code for code, _label in Schedule.TYPE] == ["O", "I", "H", "D", "W", "M", "Q",
                                                        "Y", "C"]
    assert (Schedule.ONCE, Schedule.MINUTES, Schedule.CRON) == ("O", "I", "C")


def test_schedule_validates_its_input():
    with pytest.raises(ValidationError) as info:
        schedule("math.floor", 1, schedule_type=Schedule.CRON, cron="sometimes")
    assert "cron" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        schedule("math.floor", 1, schedule_type="D", time_zone="Nowhere/City")
    assert "Unknown time zone 'Nowhere/City'" in info.value.message_dict["time_zone"][0]
    with pytest.raises(ValidationError) as info:
        schedule("math.floor", 1, schedule_type=Schedule.MINUTES)
    assert "minutes" in info.value.message_dict
    with pytest.raises(ValidationError):
        schedule("math.floor", 1, schedule_type="X")
    with pytest.raises(ValueError, match="must be Python literals"):
        schedule("math.floor", object())
    with pytest.raises(ValueError, match="dotted path"):
        schedule(lambda: 1)
    assert not Schedule.objects.exists()


def test_schedule_accepts_a_function_an_arrow_like_next_run_and_the_T_alias():
    class ArrowLike:  # what the spec's arrow example passes
        datetime = T0

    s = schedule(test_tasks.add, 1, 2, schedule_type="T", minutes=5, next_run=ArrowLike())
    assert (s.func, s.schedule_type, s.next_run) == ("tests.tasks.add", "I", T0)


def test_model_create_as_in_the_spec(sync):
    s = Schedule.objects.create(func="math.copysign", hook="tests.tasks.record_hook",
                                args="2,-2", schedule_type=Schedule.DAILY, next_run=T0)
    test_tasks.hook_calls.clear()
    scheduler(now=T0)
    [task] = group(s)
    assert task.result == -2.0 and task.group == str(s.pk)
    assert [t.id for t in test_tasks.hook_calls] == [task.id]


# -- every type in a pass -------------------------------------------------------------------
@pytest.mark.parametrize("kind, extra, expected", [
    (Schedule.MINUTES, {"minutes": 5}, T0 + timedelta(minutes=5)),
    (Schedule.HOURLY, {}, T0 + timedelta(hours=1)),
    (Schedule.DAILY, {}, T0 + timedelta(days=1)),
    (Schedule.WEEKLY, {}, T0 + timedelta(weeks=1)),
    (Schedule.MONTHLY, {}, datetime(2024, 2, 29, 9, tzinfo=UTC)),
    (Schedule.QUARTERLY, {}, datetime(2024, 4, 30, 9, tzinfo=UTC)),
    (Schedule.YEARLY, {}, datetime(2025, 1, 31, 9, tzinfo=UTC)),
    (Schedule.CRON, {"cron": "0 9 * * 1"}, datetime(2024, 2, 5, 9, tzinfo=UTC)),
])
def test_each_type_runs_once_and_moves_on(sync, kind, extra, expected):
    s = schedule("tests.tasks.add", 1, 2, name=f"type-{kind}", schedule_type=kind,
                 next_run=T0, **extra)
    assert scheduler(now=T0 - timedelta(seconds=1)).tasks == []  # not due yet
    done = scheduler(now=T0)
    s = fresh(s)
    assert [t.result for t in group(s)] == [3]
    assert done.tasks == [s.task] and (s.next_run, s.repeats) == (expected, -2)
    assert scheduler(now=T0 + timedelta(seconds=30)).tasks == []  # the slot ran once
    assert s.success() is True


def test_monthly_on_the_31st_stays_on_the_last_clamped_day(sync):
    s = schedule("tests.tasks.noop", schedule_type="M", next_run=T0)
    runs = []
    for _ in range(4):
        now = fresh(s).next_run
        runs.append(now.date().isoformat())
        scheduler(now=now)
    assert runs == ["2024-01-31", "2024-02-29", "2024-03-29", "2024-04-29"]
    assert len(group(s)) == 4 and fresh(s).repeats == -5


def test_yearly_on_29_february(sync):
    s = schedule("tests.tasks.noop", schedule_type="Y",
                 next_run=datetime(2024, 2, 29, 6, tzinfo=UTC))
    scheduler(now=datetime(2024, 2, 29, 6, tzinfo=UTC))
    assert fresh(s).next_run == datetime(2025, 2, 28, 6, tzinfo=UTC)
    scheduler(now=datetime(2025, 2, 28, 6, tzinfo=UTC))
    assert fresh(s).next_run == datetime(2026, 2, 28, 6, tzinfo=UTC)


def test_daily_in_a_time_zone_keeps_local_time_across_dst(sync):
    paris = ZoneInfo("Europe/Paris")
    start = datetime(2024, 3, 30, 9, tzinfo=paris)
    s = schedule("tests.tasks.noop", schedule_type="D", time_zone="Europe/Paris",
                 next_run=start)
    for day in (30, 31, 1, 2):
        now = fresh(s).next_run
        assert (now.astimezone(paris).day, now.astimezone(paris).hour) == (day, 9)
        with time_machine.travel(now, tick=False):
            scheduler()
    assert len(group(s)) == 4


# -- repeats and ONCE -----------------------------------------------------------------------
def test_positive_repeats_count_down_to_zero_and_stop(sync):
    s = schedule("tests.tasks.noop", schedule_type="H", repeats=2, next_run=T0)
    scheduler(now=T0)
    assert (fresh(s).repeats, fresh(s).next_run) == (1, T0 + timedelta(hours=1))
    scheduler(now=T0 + timedelta(hours=1))
    s = fresh(s)
    # the spec: the next run is set only while repeats are left
    assert (s.repeats, s.next_run) == (0, T0 + timedelta(hours=1))
    assert scheduler(now=T0 + timedelta(days=9)).tasks == []
    assert len(group(s)) == 2


def test_zero_repeats_pauses_and_negative_counts_down(sync):
    paused = schedule("tests.tasks.noop", schedule_type="H", repeats=0, next_run=T0)
    counting = schedule("tests.tasks.noop", schedule_type="H", repeats=-1, next_run=T0)
    for hour in range(3):
        scheduler(now=T0 + timedelta(hours=hour))
    assert group(paused) == [] and fresh(counting).repeats == -4


def test_once_with_negative_repeats_is_deleted_after_running(sync):
    s = schedule("tests.tasks.add", 2, 3, next_run=T0)  # ONCE, repeats -1
    [task_id] = scheduler(now=T0).tasks
    assert not Schedule.objects.filter(pk=s.pk).exists()
    assert Task.objects.get(pk=task_id).result == 5


def test_once_with_positive_repeats_is_kept_and_never_runs_again(sync):
    s = schedule("tests.tasks.add", 2, 3, name="keep", repeats=1, next_run=T0)
    scheduler(now=T0)
    s = fresh(s)
    assert (s.repeats, s.success()) == (0, True)
    assert scheduler(now=T0 + timedelta(days=1)).tasks == []
    s.repeats = 1  # the spec: change repeats to run it again (immediately: next_run passed)
    s.save()
    scheduler(now=T0 + timedelta(days=1))
    assert len(group(s)) == 2 and fresh(s).repeats == 0


# -- catch_up -------------------------------------------------------------------------------
def test_catch_up_true_replays_every_missed_slot(sync):
    s = schedule("tests.tasks.noop", name="poll", schedule_type="I", minutes=10, next_run=T0)
    now = T0 + timedelta(minutes=35)  # slots 0, 10, 20, 30 were missed
    assert len(scheduler(now=now).tasks) == 4
    s = fresh(s)
    assert (s.next_run, s.repeats, len(group(s))) == (T0 + timedelta(minutes=40), -5, 4)


def test_catch_up_true_stops_when_repeats_run_out(sync):
    s = schedule("tests.tasks.noop", schedule_type="H", repeats=2, next_run=T0)
    scheduler(now=T0 + timedelta(hours=10))
    assert len(group(s)) == 2 and fresh(s).repeats == 0


def test_catch_up_false_runs_once_then_the_next_future_slot(q_cluster):
    q_cluster(sync=True, catch_up=False)
    s = schedule("tests.tasks.noop", schedule_type="I", minutes=10, next_run=T0)
    monthly = schedule("tests.tasks.noop", schedule_type="M", next_run=T0)
    now = T0 + timedelta(minutes=35)
    assert len(scheduler(now=now).tasks) == 2  # one each
    s = fresh(s)
    assert (s.next_run, s.repeats, len(group(s))) == (T0 + timedelta(minutes=40), -2, 1)
    assert fresh(monthly).next_run == datetime(2024, 2, 29, 9, tzinfo=UTC)
    scheduler(now=datetime(2024, 6, 1, tzinfo=UTC))  # March, April and May were missed
    monthly = fresh(monthly)  # the original grid, clamped at the end of February
    assert monthly.next_run == datetime(2024, 6, 29, 9, tzinfo=UTC) and monthly.repeats == -3
    assert len(group(monthly)) == 2


def test_a_long_catch_up_is_cut_into_passes(sync):
    s = schedule("tests.tasks.noop", schedule_type="I", minutes=1, next_run=T0)
    now = T0 + timedelta(minutes=149)  # 150 slots
    first = scheduler(now=now)
    assert len(first.tasks) == 100 and first.more_due
    second = scheduler(now=now)
    assert len(second.tasks) == 50 and not second.more_due
    assert fresh(s).next_run == T0 + timedelta(minutes=150)


# -- task options ---------------------------------------------------------------------------
def test_tasks_are_grouped_under_the_name_or_the_id(sync):
    named = schedule("tests.tasks.echo_group", "x", name="nightly", next_run=T0, repeats=1)
    anonymous = schedule("tests.tasks.noop", next_run=T0, repeats=1)
    custom = schedule("tests.tasks.noop", next_run=T0, repeats=1, q_options={"group": "mine"})
    scheduler(now=T0)
    assert Task.objects.get(pk=fresh(named).task).group == "nightly"
    assert Task.objects.get(pk=fresh(anonymous).task).group == str(anonymous.pk)
    assert Task.objects.get(pk=fresh(custom).task).group == "mine"


def test_kwargs_typed_in_the_admin_style(sync):
    s = Schedule.objects.create(func="tests.tasks.add", kwargs="a=1, b=41, "
                                "q_options={'task_name': 'answer'}", next_run=T0, repeats=1)
    scheduler(now=T0)
    task = Task.objects.get(pk=fresh(s).task)
    assert (task.result, task.name, task.kwargs) == (42, "answer", {"a": 1, "b": 41})


def test_without_sync_the_task_goes_to_the_broker():
    s = schedule("tests.tasks.noop", schedule_type="D", next_run=T0)
    [task_id] = scheduler(now=T0).tasks
    assert OrmQ.objects.count() == 1 and fresh(s).task == task_id
    assert fresh(s).last_run() is None and fresh(s).success() is None  # not run yet


def test_management_commands_can_be_scheduled(sync):
    s = schedule("django.core.management.call_command", "clearsessions",
                 schedule_type="H", next_run=T0)
    scheduler(now=T0)
    assert fresh(s).success() is True


# -- broken schedules -----------------------------------------------------------------------
def test_a_broken_schedule_is_a_failure_of_its_own_and_never_blocks_others(sync):
    bad_args = Schedule.objects.create(func="tests.tasks.add", args="1, open('x')",
                                       schedule_type="H", next_run=T0, name="bad-args")
    missing = Schedule.objects.create(func="tests.nowhere.gone", schedule_type="H",
                                      next_run=T0, name="missing")
    bad_cron = Schedule.objects.create(func="tests.tasks.noop", schedule_type="C",
                                       cron="tomorrow", next_run=T0, name="bad-cron")
    bad_kwargs = Schedule.objects.create(func="tests.tasks.add", kwargs="a=", next_run=T0,
                                         schedule_type="H", name="bad-kwargs")
    good = schedule("tests.tasks.add", 1, 1, schedule_type="H", next_run=T0, name="good")
    scheduler(now=T0)
    assert [t.result for t in group(good)] == [2] and fresh(good).success() is True
    for s in (bad_args, missing, bad_kwargs):
        s = fresh(s)
        [failure] = group(s)
        assert s.success() is False and s.task == failure.pk
        assert (s.next_run, s.repeats) == (T0 + timedelta(hours=1), -2)  # the slot ran
    assert "are not Python literals" in group(bad_args)[0].result
    assert "Cannot import 'tests.nowhere.gone'" in group(missing)[0].result
    cron = fresh(bad_cron)
    assert cron.repeats == 0 and cron.success() is False  # paused until fixed
    assert "Invalid cron expression 'tomorrow'" in group(cron)[0].result
    assert 'href="/admin/djq/failure/' in cron.last_run()


class DownBroker(Broker):
    """A broker whose server is unreachable."""

    def enqueue(self, task):
        raise ConnectionError("broker unreachable")


def test_a_broker_error_rolls_the_claim_back_for_the_next_pass():
    s = schedule("tests.tasks.noop", schedule_type="H", next_run=T0)
    other = schedule("tests.tasks.noop", schedule_type="H", next_run=T0)
    done = scheduler(broker=DownBroker(), now=T0)
    assert done.tasks == [] and sorted(done.retry) == sorted([s.pk, other.pk])
    assert (fresh(s).next_run, fresh(s).repeats, fresh(s).task) == (T0, -1, None)
    assert len(scheduler(now=T0).tasks) == 2  # the broker is back


def test_scheduler_false_disables_it(q_cluster):
    q_cluster(sync=True, scheduler=False)
    s = schedule("tests.tasks.noop", schedule_type="H", next_run=T0)
    assert scheduler(now=T0).tasks == [] and fresh(s).next_run == T0


# -- the sentinel's call site ---------------------------------------------------------------
def test_the_call_site_waits_until_the_next_due_schedule(sync):
    assert run_scheduler() == INTERVAL and seconds_until_due() is None
    with time_machine.travel(T0, tick=False):
        schedule("tests.tasks.noop", schedule_type="H", next_run=T0 + timedelta(seconds=5))
        assert run_scheduler() == 5.0
        schedule("tests.tasks.noop", schedule_type="I", minutes=1,
                 next_run=T0 - timedelta(hours=5))
        assert run_scheduler() == SOONEST  # a catch-up cut short continues soon
        paused = schedule("tests.tasks.noop", repeats=0, next_run=T0 - timedelta(days=1))
        assert seconds_until_due() == 0.0 and fresh(paused).task is None


def test_the_call_site_never_raises(sync):
    schedule("tests.tasks.noop", schedule_type="H", next_run=T0)
    with time_machine.travel(T0, tick=False):
        assert run_scheduler(broker=DownBroker()) == INTERVAL


# -- admin link -----------------------------------------------------------------------------
def test_last_run_links_to_the_result(sync):
    s = schedule("tests.tasks.add", 1, 2, schedule_type="H", next_run=T0)
    assert s.last_run() is None and s.success() is None
    scheduler(now=T0)
    s = fresh(s)
    task = Task.objects.get(pk=s.task)
    url = reverse("admin:djq_success_change", args=(task.pk,))
    assert s.last_run() == f'<a href="{url}">[{task.name}]</a>'


def test_qinfo_counts_schedules():
    from djq.cluster.info import summary

    schedule("tests.tasks.noop", schedule_type="H", next_run=T0)
    schedule("tests.tasks.noop", schedule_type="D", next_run=T0, repeats=0)
    assert summary()["Schedules"] == 2


def test_migrations_match_the_models():
    from io import StringIO

    from django.core.management import call_command

    call_command("makemigrations", "djq", "--check", "--dry-run", stdout=StringIO())
