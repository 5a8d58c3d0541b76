"""djq-redis: the Redis broker with delivery receipts, and a Redis stat store.

The broker (:mod:`djq_redis.broker`) keeps each queue in a Redis stream read through a
consumer group, so a dequeued package stays pending until it is acknowledged and comes
back after ``retry`` seconds otherwise. The stat store (:mod:`djq_redis.stats`) lets
clusters on Redis publish their ``Stat`` without a Django cache. Both register through
the ``djq`` entry-point group (:mod:`djq_redis.plugin`).

Nothing here imports redis-py at import time, so listing plugins stays cheap.
"""

from djq.registry import BrokerCapabilities

__version__ = "0.1.0"

CAPABILITIES = BrokerCapabilities(receipts=True, bulk=True, atomic=True, blocking=True,
                                  needs_cache=False)
"""Receipts (consumer-group pending list), bulk (``COUNT``), atomic (single commands and
Lua), blocking (``XREADGROUP BLOCK``), and its own stat store (no Django cache needed)."""
