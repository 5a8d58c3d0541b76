"""``Stat`` and the cache stat store (JSON text, an index, expiry)."""

from __future__ import annotations

import json
import time

import pytest

from djq.conf import conf
from djq.monitor import Stat as MonitorStat
from djq.stats import get_store
from djq.stats.cache import CacheStatStore
from djq.status import Stat, expiry, idle_expiry


@pytest.fixture
def file_cache(settings, tmp_path):
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path)}}
    settings.Q_CLUSTER = {"name": "djq-tests", "guard_cycle": 0.5}


def test_monitor_reexports_stat():
    assert MonitorStat is Stat


def test_default_store_is_the_django_cache(file_cache):
    assert isinstance(get_store(), CacheStatStore)


def test_save_get_get_all_as_json(file_cache):
    a = Stat(cluster_id=11, host="h1", workers=[1, 2], status="Idle", task_q_size=0)
    b = Stat(cluster_id=12, host="h2", workers=[3], status="Working", task_q_size=2,
             done_q_size=1, reincarnations=4)
    a.save(), b.save()
    raw = get_store().get(Stat.key(conf, "h1", 11))
    assert json.loads(raw)["workers"] == [1, 2]  # JSON text, never pickle
    assert [s.cluster_id for s in Stat.get_all()] == [11, 12]
    got = Stat.get(12)
    assert got.status == "Working" and got.reincarnations == 4 and not got.empty_queues()
    assert Stat.get(11).empty_queues()
    assert Stat.get(99) is None
    b.delete()
    assert [s.cluster_id for s in Stat.get_all()] == [11]


def test_uptime_counts_from_time_of_birth():
    stat = Stat(cluster_id=1, tob=time.time() - 65)
    assert 64 <= stat.uptime() < 70


def test_expiry_is_a_few_guard_cycles(file_cache, settings):
    assert expiry(conf) == 3.0
    settings.Q_CLUSTER = {"guard_cycle": 2}
    assert expiry(conf) == 10.0


def test_an_idle_clusters_stat_lives_longer(settings):
    """An idle sentinel rewrites its Stat every third of its life: every ~3 s."""
    assert idle_expiry(conf) == 10.0
    settings.Q_CLUSTER = {"guard_cycle": 3}
    assert idle_expiry(conf) == expiry(conf) == 15.0


def test_entries_expire(file_cache):
    store = get_store()
    store.set("djq:x:1", "{}", 1)
    assert store.get_all() == ["{}"]
    time.sleep(1.2)
    assert store.get_all() == [] and store.get("djq:x:1") is None


def test_unknown_fields_and_garbage_are_tolerated():
    assert Stat.from_json('{"cluster_id": 3, "new_field": 1}').cluster_id == 3
    assert Stat.from_json("not json") is None


def test_index_is_refreshed_every_few_seconds_not_on_every_write(file_cache, monkeypatch):
    """Steady state: one cache write per Stat; the index entry (pruned long after the Stat
    expires) is rewritten every INDEX_REFRESH seconds, and a cluster dropped from it by a
    racing writer comes back then."""
    from django.core.cache import caches

    from djq.stats import cache as cache_store

    store = get_store()
    stat = Stat(cluster_id=21, host="h")
    stat.save()
    writes = []
    real_set = caches["default"].set
    monkeypatch.setattr(caches["default"], "set",
                        lambda key, *a, **k: (writes.append(key), real_set(key, *a, **k)))
    stat.save()
    assert writes == [Stat.key(conf, "h", 21)]
    caches["default"].delete(store.index_key)  # a racing writer dropped us
    assert Stat.get_all() == []
    now = time.time()
    monkeypatch.setattr(cache_store.time, "time", lambda: now + cache_store.INDEX_REFRESH + 1)
    stat.save()
    assert [s.cluster_id for s in Stat.get_all()] == [21]
