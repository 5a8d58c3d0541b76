"""The core's own plugin: serializers and the Django-cache stat store.

Registered through the same ``djq`` entry-point group as every external plugin.
"""

from __future__ import annotations

from djq.hookspecs import hookimpl
from djq.registry import Registry, SerializerSpec, StatStoreSpec
from djq.serializers import json_dumps, json_loads, pickle_dumps, pickle_loads


@hookimpl
def djq_register_serializers(registry: Registry) -> None:
    registry.register_serializer(SerializerSpec("pickle", pickle_dumps, pickle_loads))
    registry.register_serializer(SerializerSpec("json", json_dumps, json_loads))


@hookimpl
def djq_register_stat_stores(registry: Registry) -> None:
    registry.register_stat_store(StatStoreSpec("cache", "djq.stats.cache.CacheStatStore"))
