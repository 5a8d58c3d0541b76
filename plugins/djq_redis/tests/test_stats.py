"""The Redis stat store: native expiry, listing without KEYS, and Stat on top of it."""

from __future__ import annotations

import pytest
from djq_redis.stats import RedisStatStore

from djq.conf import Conf
from djq.stats import get_store
from djq.status import Stat
from djq.testing import unique_queue, wait_for


@pytest.fixture
def conf(redis_server):
    return Conf({"name": unique_queue("djq-stats"), "redis": redis_server})


@pytest.fixture
def store(conf, redis_client):
    store = RedisStatStore(conf)
    yield store
    redis_client.delete(store.index_key)


def test_set_get_delete(store, redis_client):
    store.set("djq:x:stat:h:1", '{"a": 1}', 30)
    assert store.get("djq:x:stat:h:1") == '{"a": 1}'
    assert 29_000 < redis_client.pttl("djq:x:stat:h:1") <= 30_000
    assert store.get_all() == ['{"a": 1}']
    store.delete("djq:x:stat:h:1")
    assert store.get("djq:x:stat:h:1") is None
    assert store.get_all() == []
    assert redis_client.zcard(store.index_key) == 0


def test_entries_expire_by_themselves_and_leave_the_index(store, redis_client):
    store.set("djq:x:stat:h:short", "short", 0.3)
    store.set("djq:x:stat:h:long", "long", 30)
    assert sorted(store.get_all()) == ["long", "short"]
    wait_for(lambda: store.get("djq:x:stat:h:short"), None, 5, "the short entry")
    assert store.get_all() == ["long"]
    assert redis_client.zrange(store.index_key, 0, -1) == [b"djq:x:stat:h:long"]
    store.delete("djq:x:stat:h:long")


def test_the_index_expires_with_its_last_entry(store, redis_client):
    store.set("djq:x:stat:h:1", "one", 0.3)
    assert redis_client.pttl(store.index_key) > 0
    wait_for(lambda: redis_client.exists(store.index_key), 0, 5, "the index to expire")


def test_names_are_separate(conf, redis_server, redis_client):
    other = RedisStatStore(Conf({"name": unique_queue("djq-stats"), "redis": redis_server}))
    mine = RedisStatStore(conf)
    try:
        mine.set("djq:mine:stat:h:1", "mine", 30)
        other.set("djq:other:stat:h:1", "other", 30)
        assert mine.get_all() == ["mine"] and other.get_all() == ["other"]
    finally:
        mine.delete("djq:mine:stat:h:1")
        other.delete("djq:other:stat:h:1")


def test_stat_uses_the_redis_store_when_the_broker_is_redis(settings, redis_server):
    settings.Q_CLUSTER = {"name": unique_queue("djq-stats"), "redis": redis_server,
                          "guard_cycle": 0.5}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    conf = Conf(settings.Q_CLUSTER)
    assert isinstance(get_store(conf), RedisStatStore)
    stat = Stat(cluster_id=4242, name="c", sentinel=1, workers=[2, 3], status="Idle")
    stat.save(conf)
    try:
        (back,) = Stat.get_all(conf=conf)
        assert (back.cluster_id, back.workers, back.status) == (4242, [2, 3], "Idle")
        assert Stat.get(4242, conf=conf).sentinel == 1
    finally:
        stat.delete(conf)
    assert Stat.get_all(conf=conf) == []


def test_the_store_shares_one_client_per_setting(conf):
    assert RedisStatStore(conf).client is RedisStatStore(conf).client
