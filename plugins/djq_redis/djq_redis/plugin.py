"""Registers the Redis broker and the Redis stat store with djq (entry point ``redis``)."""

from __future__ import annotations

from djq.hookspecs import hookimpl
from djq.registry import BrokerSpec, Registry, StatStoreSpec
from djq_redis import CAPABILITIES


def _check(conf):
    from djq_redis.checks import check_redis

    return check_redis(conf)


@hookimpl
def djq_register_brokers(registry: Registry) -> None:
    registry.register_broker(BrokerSpec(
        name="redis",
        settings_key="redis",
        aliases=("django_redis",),
        broker_class="djq_redis.broker.RedisBroker",
        capabilities=CAPABILITIES,
        stat_store="redis",
        check=_check,
    ))


@hookimpl
def djq_register_stat_stores(registry: Registry) -> None:
    registry.register_stat_store(StatStoreSpec(
        name="redis", store_class="djq_redis.stats.RedisStatStore"))
