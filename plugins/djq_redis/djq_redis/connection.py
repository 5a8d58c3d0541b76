"""Redis connections from ``Q_CLUSTER``: ``redis`` (redis-py keywords or a URL) or
``django_redis`` (the client of a django-redis cache, by alias).

``Q_CLUSTER['redis']`` as a dict takes any ``redis.Redis`` keyword on top of the spec's
defaults (:data:`SPEC_DEFAULTS`); the spec's ``charset``/``errors`` are redis-py 2 names,
passed on as ``encoding``/``encoding_errors``. As a string it is a connection URL
(``redis://``, ``rediss://``, ``unix://``) given to ``redis.Redis.from_url``.

Unless ``retry`` is given, clients retry a failed command only briefly
(:func:`default_retry`, about a second in all): the cluster's own loops retry for longer
with capped backoff and keep honouring stop signals meanwhile. redis-py uses the
``hiredis`` parser by itself when it is installed (``pip install "djq-redis[hiredis]"``).
"""

from __future__ import annotations

import threading
from typing import Any

from djq.conf import Conf
from djq.errors import ConfigurationError

SPEC_DEFAULTS: dict[str, Any] = {
    "host": "localhost",
    "port": 6379,
    "db": 0,
    "password": None,
    "socket_timeout": None,
    "charset": "utf-8",
    "errors": "strict",
    "unix_socket_path": None,
}
LEGACY_NAMES = {"charset": "encoding", "errors": "encoding_errors"}
URL_SCHEMES = ("redis", "rediss", "unix")

_shared: dict[str, Any] = {}
_shared_lock = threading.Lock()


def default_retry():
    """Three quick retries (10 ms doubling, at most 250 ms apart)."""
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.retry import Retry

    return Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.25), 3)


def redis_kwargs(value: dict | None) -> dict[str, Any]:
    """``redis.Redis`` keywords for a ``Q_CLUSTER['redis']`` dict."""
    merged = {**SPEC_DEFAULTS, **(value or {})}
    kwargs = {LEGACY_NAMES.get(k, k): v for k, v in merged.items()}
    kwargs.setdefault("retry", default_retry())
    return kwargs


def new_client(conf: Conf) -> tuple[Any, bool]:
    """A client for ``conf``: ``(client, owned)``; ``owned`` is ``False`` for a
    django-redis client, whose connections belong to the cache and must stay open."""
    raw = conf.raw
    if "django_redis" in raw:
        try:
            from django_redis import get_redis_connection
        except ImportError:
            raise ConfigurationError(
                "Q_CLUSTER['django_redis'] needs django-redis: pip install django-redis"
            ) from None
        return get_redis_connection(raw["django_redis"]), False
    import redis

    value = raw.get("redis")
    if isinstance(value, str):
        return redis.Redis.from_url(value, retry=default_retry()), True
    if value is not None and not isinstance(value, dict):
        raise ConfigurationError(
            f"Q_CLUSTER['redis'] must be a dict of redis-py keywords or a redis:// URL, "
            f"not {type(value).__name__}.")
    return redis.Redis(**redis_kwargs(value)), True


def shared_client(conf: Conf) -> Any:
    """One client per connection setting for this process (the stat store is rebuilt
    every guard cycle; its connections should not be). redis-py pools reset themselves
    in a forked child, so sharing across ``fork`` is safe."""
    raw = conf.raw
    key = repr(("django_redis", raw["django_redis"]) if "django_redis" in raw
               else ("redis", raw.get("redis")))
    with _shared_lock:
        client = _shared.get(key)
        if client is None:
            client = _shared[key] = new_client(conf)[0]
        return client


def socket_timeout(client: Any) -> float | None:
    """The read timeout of ``client``'s connections (redis-py 8 has a default of its own
    that its pool's keywords do not show: a connection knows)."""
    pool = client.connection_pool
    kwargs = getattr(pool, "connection_kwargs", {})
    if "socket_timeout" in kwargs:
        return kwargs["socket_timeout"]
    conn = pool.get_connection()
    try:
        return getattr(conn, "socket_timeout", None)
    finally:
        pool.release(conn)
