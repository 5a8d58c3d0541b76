"""The core's stat store: the Django cache named by ``Q_CLUSTER['cache']``.

Django caches cannot list keys, so an index entry maps each cluster key to its expiry
time. The index is updated read-modify-write: two clusters writing at the same instant
can drop each other from it, but every cluster re-adds itself on its next guard cycle.
The cache must be shared between processes (the spec: local memory will not work).
"""

from __future__ import annotations

import math
import time

from django.core.cache import caches

from djq.stats.base import StatStore

INDEX_TIMEOUT = 24 * 3600


class CacheStatStore(StatStore):
    @property
    def cache(self):
        return caches[self.conf.cache]

    @property
    def index_key(self) -> str:
        return f"djq:{self.conf.name}:stat:index"

    def _index(self) -> dict[str, float]:
        index = self.cache.get(self.index_key) or {}
        now = time.time()
        return {k: t for k, t in index.items() if t > now}

    def set(self, key: str, value: str, expiry: float) -> None:
        timeout = max(1, math.ceil(expiry))
        self.cache.set(key, value, timeout)
        index = self._index()
        index[key] = time.time() + timeout
        self.cache.set(self.index_key, index, INDEX_TIMEOUT)

    def get(self, key: str) -> str | None:
        return self.cache.get(key)

    def get_all(self) -> list[str]:
        keys = list(self._index())
        found = self.cache.get_many(keys) if keys else {}
        return [found[k] for k in keys if k in found]

    def delete(self, key: str) -> None:
        self.cache.delete(key)
        index = self._index()
        if index.pop(key, None) is not None:
            self.cache.set(self.index_key, index, INDEX_TIMEOUT)
