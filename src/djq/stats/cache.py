"""The core's stat store: the Django cache named by ``Q_CLUSTER['cache']``.

Django caches cannot list keys, so an index entry maps each cluster key to a time after
which it is pruned (``INDEX_TTL``, well past the Stat's own expiry: :meth:`get_all` returns
only the Stats still in the cache). A writer refreshes its index entry every
``INDEX_REFRESH`` seconds, not on every write, so a cluster's steady state is one cache
write per Stat. The index is updated read-modify-write: two clusters writing at the same
instant can drop each other from it; each re-adds itself within ``INDEX_REFRESH``.
The cache must be shared between processes (the spec: local memory will not work).
"""

from __future__ import annotations

import math
import time

from django.core.cache import caches

from djq.conf import conf as settings_conf
from djq.stats.base import StatStore

INDEX_TIMEOUT = 24 * 3600
INDEX_TTL = 60.0
INDEX_REFRESH = 10.0

# (settings generation, cache alias, index key, stat key) -> when this process next
# refreshes that index entry (a CACHES change bumps the generation: a new cache, no memo)
_indexed: dict[tuple, float] = {}


class CacheStatStore(StatStore):
    @property
    def cache(self):
        return caches[self.conf.cache]

    @property
    def index_key(self) -> str:
        return f"djq:{self.conf.name}:stat:index"

    def _memo_key(self, key: str) -> tuple:
        return (settings_conf.generation, self.conf.cache, self.index_key, key)

    def _index(self) -> dict[str, float]:
        index = self.cache.get(self.index_key) or {}
        now = time.time()
        return {k: t for k, t in index.items() if t > now}

    def set(self, key: str, value: str, expiry: float) -> None:
        timeout = max(1, math.ceil(expiry))
        self.cache.set(key, value, timeout)
        now = time.time()
        mine = self._memo_key(key)
        if _indexed.get(mine, 0.0) > now:
            return
        index = self._index()
        index[key] = now + max(timeout, INDEX_TTL)
        self.cache.set(self.index_key, index, INDEX_TIMEOUT)
        _indexed[mine] = now + INDEX_REFRESH

    def get(self, key: str) -> str | None:
        return self.cache.get(key)

    def get_all(self) -> list[str]:
        keys = list(self._index())
        found = self.cache.get_many(keys) if keys else {}
        return [found[k] for k in keys if k in found]

    def delete(self, key: str) -> None:
        self.cache.delete(key)
        _indexed.pop(self._memo_key(key), None)
        index = self._index()
        if index.pop(key, None) is not None:
            self.cache.set(self.index_key, index, INDEX_TIMEOUT)
