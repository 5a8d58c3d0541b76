"""Result saving under adverse conditions: lossy caches, redeliveries, batches."""

import pytest
from django.utils import timezone

from djq.models import Task
from djq.results import CacheWriteLost, save_results

pytestmark = pytest.mark.django_db


def member(i, group="iter-1", count=6):
    now = timezone.now()
    return {"id": f"{i:032x}", "name": f"m{i}", "func": "math.floor", "args": (i,),
            "kwargs": {}, "result": i, "success": True, "started": now, "stopped": now,
            "group": group, "iter_count": count, "iter_cached": False}


def retry_until_saved(batch):
    for _ in range(50):
        try:
            return save_results(batch)
        except CacheWriteLost:
            continue
    raise AssertionError("never saved")


def test_iterable_survives_a_cache_that_drops_writes(settings):
    from tests.lossy_cache import LossyCache

    settings.CACHES = {"default": {"BACKEND": "tests.lossy_cache.LossyCache"}}
    LossyCache.dropped = 0
    for i in range(0, 12, 2):  # six batches of two members, as a monitor would save them
        retry_until_saved([member(i, count=12), member(i + 1, count=12)])
    assert LossyCache.dropped > 0
    task = Task.objects.get(id="iter-1")
    assert sorted(task.result) == list(range(12))


def test_redelivered_iterable_member_is_counted_once():
    save_results([member(1, "iter-2", 2)])
    save_results([member(1, "iter-2", 2)])  # the same member again
    assert not Task.objects.filter(id="iter-2").exists()
    save_results([member(2, "iter-2", 2)])
    assert sorted(Task.objects.get(id="iter-2").result) == [1, 2]


def test_cached_results_survive_a_cache_that_drops_writes(settings):
    from djq.tasks import result

    settings.CACHES = {"default": {"BACKEND": "tests.lossy_cache.LossyCache"}}
    packages = [{**member(i, None, 0), "iter_count": 0, "cached": True} for i in range(4)]
    retry_until_saved(packages)
    assert [result(p["id"], cached=True) for p in packages] == [0, 1, 2, 3]


def test_redelivered_success_is_kept_and_failure_replaced():
    first = {**member(7, None, 0), "iter_count": 0}
    save_results([first])
    save_results([{**first, "result": "again", "stopped": timezone.now()}])
    assert Task.objects.get(id=first["id"]).result == 7
    failed = {**member(8, None, 0), "iter_count": 0, "success": False, "result": "boom"}
    save_results([failed])
    save_results([{**failed, "success": True, "result": 8}])
    assert Task.objects.get(id=failed["id"]).result == 8
