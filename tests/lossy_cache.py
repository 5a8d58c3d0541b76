"""A local-memory cache that silently drops every third ``set`` (like Django's database
cache does on a locked database)."""

from django.core.cache.backends.locmem import LocMemCache


class LossyCache(LocMemCache):
    dropped = 0
    calls = 0

    def set(self, *args, **kwargs):
        LossyCache.calls += 1
        if LossyCache.calls % 3 == 0:
            LossyCache.dropped += 1
            return None
        return super().set(*args, **kwargs)
