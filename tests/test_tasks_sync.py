"""The spec's Tasks, Groups, Iterable and Chains examples, run in sync mode.

Sync mode runs the cluster's own worker and result-saving code inline, so these are the
results a cluster gives too.
"""

import math

import pytest

from djq.models import Failure, Success, Task
from djq.tasks import (Async, AsyncTask, Chain, Iter, async_chain, async_iter, async_task,
                       count_group, delete_cached, delete_group, fetch, fetch_group, result,
                       result_group)
from tests import tasks as test_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sync(q_cluster):
    q_cluster(sync=True)


def test_async_task_and_result():
    task_id = async_task("math.copysign", 2, -2)
    assert result(task_id) == -2.0
    assert result(task_id, 200) == -2.0


def test_async_task_with_callable_and_fetch_by_name():
    task_id = async_task(math.copysign, 2, -2)
    task = fetch(task_id)
    assert task.func == "math.copysign"
    assert task.success is True
    assert fetch(task.name).id == task_id
    assert result(task.name) == -2.0
    assert task.time_taken() >= 0
    assert len(task.name.split("-")) == 4


def test_hook_gets_the_task():
    test_tasks.hook_calls.clear()
    async_task("math.modf", 2.5, hook="tests.tasks.record_hook")
    (task,) = test_tasks.hook_calls
    assert task.result == (0.5, 2.0)


def test_q_options_free_option_names_for_the_function():
    task_id = async_task("tests.tasks.add", 1, q_options={"group": "g", "task_name": "named"},
                         b=2)
    task = fetch(task_id)
    assert (task.result, task.group, task.name) == (3, "g", "named")


def test_save_false_keeps_no_success_but_failures_are_saved():
    ok = async_task("tests.tasks.add", 1, 2, save=False)
    bad = async_task("tests.tasks.boom", save=False)
    assert fetch(ok) is None
    assert fetch(bad).success is False


def test_buggy_code_is_a_recorded_failure():
    task_id = async_task("my.buggy.code", sync=True)
    task = fetch(task_id)
    assert not task.success
    assert "No module named 'my'" in task.result
    assert Failure.objects.filter(id=task_id).exists()


def test_exception_in_task_is_a_failure_with_traceback():
    task = fetch(async_task("tests.tasks.boom", "bad input"))
    assert not task.success
    assert task.result.startswith("ValueError('bad input')")
    assert "Traceback" in task.result


def test_unpicklable_result_is_a_recorded_failure():
    task = fetch(async_task("tests.tasks.unpicklable"))
    assert not task.success
    assert "cannot be stored" in task.result


def test_unserializable_arguments_raise_at_the_caller():
    from djq.errors import SerializationError

    with pytest.raises(SerializationError, match="cannot be serialized"):
        async_task("tests.tasks.add", lambda: 1, 2)


def test_save_limit_keeps_the_newest_successes(q_cluster):
    q_cluster(sync=True, save_limit=3)
    ids = [async_task("tests.tasks.add", i, 1) for i in range(6)]
    assert list(Success.objects.order_by("stopped").values_list("id", flat=True)) == ids[3:]
    assert Failure.objects.count() == 0


def test_save_limit_minus_one_stores_no_successes(q_cluster):
    q_cluster(sync=True, save_limit=-1)
    async_task("tests.tasks.add", 1, 1)
    async_task("tests.tasks.boom")
    assert Success.objects.count() == 0 and Failure.objects.count() == 1


def test_async_class_example():
    a = Async("math.floor", 1.5, group="math")
    a.cached = True
    a.run()
    assert a.result(wait=-1) == 1
    a.args = (2.5,)
    assert a.result() is None  # changed parameters invalidate the result
    a.run()
    assert a.result(wait=10) == 2
    assert AsyncTask is Async


def test_cached_example_and_saving_a_cached_task():
    task_id = async_task("math.floor", 100, cached=10)
    assert result(task_id, wait=50, cached=True) == 100
    assert fetch(task_id) is None  # not in the database
    task = fetch(task_id, cached=True)
    task.save()
    assert fetch(task_id).result == 100
    delete_cached(task_id)
    assert fetch(task_id, cached=True) is None


def test_cached_group_example():
    from djq.brokers import get_broker

    broker = get_broker()
    for i in range(100):
        async_task("math.frexp", i, group="frexp", cached=True, broker=broker)
    results = result_group("frexp", wait=50, count=100, cached=True)
    assert len(results) == 100
    assert results[3] == math.frexp(3)
    assert count_group("frexp", cached=True) == 100
    assert delete_group("frexp", tasks=True, cached=True) == 100
    assert count_group("frexp", cached=True) == 0


def test_result_group_example():
    for i in range(4):
        async_task("math.modf", i, group="modf")
    assert result_group("modf", count=4) == [(0.0, 0.0), (0.0, 1.0), (0.0, 2.0), (0.0, 3.0)]


def test_fetch_group_count_group_and_failures():
    for i in range(3):
        async_task("math.modf", i, group="modf")
    async_task("tests.tasks.boom", group="modf")
    assert count_group("modf", failures=True) == 1
    assert count_group("modf") == 4
    assert len(fetch_group("modf")) == 4
    assert [t.result for t in fetch_group("modf", failures=False)] == result_group("modf")
    assert len(result_group("modf", failures=True)) == 4


def test_task_group_methods():
    ids = [async_task("math.modf", i, group="winter") for i in range(3)]
    task = fetch(ids[0])
    assert task.group_count() == 3
    assert len(task.group_result()) == 3
    assert task.group_delete() == 3
    assert Task.objects.filter(group="winter").count() == 0
    assert Task.objects.filter(id__in=ids).count() == 3
    for i in range(2):
        async_task("math.modf", i, group="summer")
    assert delete_group("summer", tasks=True) == 2
    assert Task.objects.filter(group="summer").count() == 0


def test_task_classmethods():
    ok = async_task("tests.tasks.add", 1, 1, group="cm")
    async_task("tests.tasks.boom", group="cm")
    assert Task.get_result(ok) == 2
    assert Task.get_task(ok).id == ok
    assert Task.get_result_group("cm") == [2]
    assert len(Task.get_result_group("cm", failures=True)) == 2
    assert Task.get_task_group("cm").count() == 2
    assert Task.get_task_group("cm", failures=False).count() == 1
    assert Task.get_group_count("cm") == 2
    assert Task.get_group_count("cm", failures=True) == 1
    assert Task.delete_group("cm", objects=True) == 2


def test_async_iter_example():
    task_id = async_iter("math.floor", [i for i in range(100)])
    assert sorted(result(task_id, wait=1000)) == list(range(100))
    task = fetch(task_id)
    assert task.success and len(task.args) == 100


def test_async_iter_cached():
    task_id = async_iter("math.floor", range(5), cached=True)
    assert sorted(result(task_id, cached=True)) == list(range(5))
    assert fetch(task_id) is None


def test_iter_class_example():
    i = Iter("math.copysign")
    i.append(1, -1)
    i.append(2, -1)
    assert i.append(3, -1) == 3
    i.run()
    assert sorted(i.result()) == [-3.0, -2.0, -1.0]
    assert i.length() == 3
    assert i.fetch().success


def test_async_chain_example():
    group_id = async_chain([("math.copysign", (1, -1)), ("math.floor", (1,))])
    assert result_group(group_id, count=2) == [-1.0, 1]


def test_chain_class_example():
    chain = Chain(cached=True)
    chain.append("math.copysign", 1, -1)
    assert chain.append("math.floor", 1) == 2
    chain.run()
    assert chain.result() == [-1.0, 1]
    assert chain.current() == 2
    assert chain.length() == 2
    assert len(chain.fetch()) == 2


def test_chain_goes_on_after_a_failed_link():
    group_id = async_chain([("tests.tasks.boom",), ("tests.tasks.add", (1, 2))])
    tasks = fetch_group(group_id, count=2)
    assert [t.success for t in tasks] == [False, True]


def test_global_sync_and_cached_options(q_cluster):
    q_cluster(sync=True, cached=True)
    task_id = async_task("tests.tasks.add", 2, 2)
    assert result(task_id) == 4  # cached=None follows Q_CLUSTER['cached']
    assert Task.objects.count() == 0


def test_signals_fire_in_order():
    from djq import signals

    seen = []

    def record(name):
        return lambda sender, **kw: seen.append((name, kw["task"]["id"]))

    receivers = {s: record(n) for n, s in (("pre_enqueue", signals.pre_enqueue),
                                           ("pre_execute", signals.pre_execute),
                                           ("post_execute", signals.post_execute))}
    for signal, receiver in receivers.items():
        signal.connect(receiver)
    try:
        task_id = async_task("tests.tasks.add", 1, 1)
    finally:
        for signal, receiver in receivers.items():
            signal.disconnect(receiver)
    assert seen == [("pre_enqueue", task_id), ("pre_execute", task_id),
                    ("post_execute", task_id)]


def test_json_serializer_round_trip(q_cluster):
    import datetime

    q_cluster(sync=True, serializer="json")
    when = datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)
    task_id = async_task("tests.tasks.add", [1], [2])
    assert result(task_id) == [1, 2]
    task_id = async_task(test_tasks.add, when, datetime.timedelta(days=1))
    assert result(task_id) == when + datetime.timedelta(days=1)


def test_json_serializer_rejects_what_it_cannot_carry(q_cluster):
    from djq.errors import SerializationError

    q_cluster(sync=True, serializer="json")
    with pytest.raises(SerializationError):
        async_task(lambda: 1)
    with pytest.raises(SerializationError):
        async_task("tests.tasks.add", object(), 1)


def test_an_option_in_q_options_frees_its_name_for_the_function():
    task_id = async_task("tests.tasks.echo_group", group="for-the-function",
                         q_options={"group": "the-task-group"})
    task = fetch(task_id)
    assert (task.result, task.group) == ("for-the-function", "the-task-group")
