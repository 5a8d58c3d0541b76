"""The Redis stat store: each cluster's Stat under its own key with a native expiry.

Key layout (``<name>`` is ``Q_CLUSTER['name']``):

* ``djq:<name>:stat:<host>:<cluster id>`` — the Stat's JSON text, written with
  ``SET ... PX`` so it expires by itself a few guard cycles after the cluster's last write.
* ``djq:<name>:stat:index`` — a sorted set of those keys scored by their expiry time
  (server clock, ms), so :meth:`get_all` lists live clusters without ``KEYS``/``SCAN``.

Writes and listings are Lua scripts (``lua/stat_set.lua``, ``lua/stat_all.lua``) that
prune expired index entries atomically. Selected automatically for clusters on the
Redis broker (``BrokerSpec.stat_store``), so ``qmonitor``/``qinfo`` need no Django cache.
"""

from __future__ import annotations

import math

from djq.conf import Conf
from djq.stats.base import StatStore
from djq_redis.connection import shared_client
from djq_redis.lua import source


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


class RedisStatStore(StatStore):
    def __init__(self, conf: Conf) -> None:
        super().__init__(conf)
        self.client = shared_client(conf)
        self.index_key = f"djq:{conf.name}:stat:index"

    def _script(self, name: str):
        # Script objects are cheap; redis-py loads the script on first use (EVALSHA).
        return self.client.register_script(source(name))

    def set(self, key: str, value: str, expiry: float) -> None:
        ttl = max(1, math.ceil(float(expiry) * 1000))
        self._script("stat_set")(keys=[self.index_key, key], args=[value, ttl])

    def get(self, key: str) -> str | None:
        return _text(self.client.get(key))

    def get_all(self) -> list[str]:
        return [_text(v) for v in self._script("stat_all")(keys=[self.index_key])]

    def delete(self, key: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(key)
        pipe.zrem(self.index_key, key)
        pipe.execute()
