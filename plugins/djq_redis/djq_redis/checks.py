"""System checks for the Redis broker's settings (``djq_redis.E001`` ...).

Run by djq's checks when ``Q_CLUSTER['redis']`` or ``Q_CLUSTER['django_redis']`` selects
this broker. Nothing here connects to Redis.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

from django.core import checks

from djq_redis.connection import LEGACY_NAMES, URL_SCHEMES

URL_HINT = ("Give a URL such as 'redis://localhost:6379/0', or a dict of redis-py "
            "connection keywords.")


def _error(msg: str, hint: str, n: int) -> checks.Error:
    return checks.Error(msg, hint=hint, id=f"djq_redis.E{n:03d}")


def check_redis(conf: Any) -> list[checks.CheckMessage]:
    raw = conf.raw
    if "django_redis" in raw:
        return check_django_redis(raw["django_redis"])
    return check_redis_value(raw.get("redis"))


def check_redis_value(value: Any) -> list[checks.CheckMessage]:
    if value is None:
        return []
    if isinstance(value, str):
        return _check_url(value)
    if not isinstance(value, dict):
        return [_error(f"Q_CLUSTER['redis'] is a {type(value).__name__}; it must be a dict "
                       "of redis-py connection keywords or a connection URL.", URL_HINT, 1)]
    return _check_keywords(value)


def _check_url(url: str) -> list[checks.CheckMessage]:
    from redis import ConnectionPool

    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in URL_SCHEMES:
        return [_error(f"Q_CLUSTER['redis'] is {url!r}, which is not a redis://, rediss:// "
                       "or unix:// URL.", URL_HINT, 1)]
    try:
        ConnectionPool.from_url(url)
    except (ValueError, TypeError) as exc:
        return [_error(f"Q_CLUSTER['redis'] is not a valid connection URL: {exc}",
                       URL_HINT, 1)]
    return []


def redis_keywords() -> set[str]:
    from redis import Redis

    params = inspect.signature(Redis.__init__).parameters
    return {p for p in params if p != "self"} | set(LEGACY_NAMES)


def _check_keywords(value: dict) -> list[checks.CheckMessage]:
    known = redis_keywords()
    messages = []
    for key in value:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = (f"Did you mean {close[0]!r}? " if close else "") + \
                "Use keywords of redis.Redis()."
            messages.append(_error(f"Q_CLUSTER['redis'] has an unknown redis-py keyword "
                                   f"{key!r}.", hint, 2))
    for key, ok, want in (
        ("host", lambda v: isinstance(v, str) and v, "a host name"),
        ("port", lambda v: _int(v) and 0 < v < 65536, "an integer from 1 to 65535"),
        ("db", lambda v: _int(v) and v >= 0, "an integer of 0 or more"),
        ("socket_timeout", lambda v: v is None or _number(v) and v > 0,
         "None or a number of seconds above 0"),
    ):
        if key in value and not ok(value[key]):
            messages.append(_error(f"Q_CLUSTER['redis'][{key!r}] is {value[key]!r}; it must "
                                   f"be {want}.", f"Fix or remove {key!r}.", 3))
    return messages


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_django_redis(alias: Any) -> list[checks.CheckMessage]:
    from django.conf import settings

    caches = getattr(settings, "CACHES", {})
    if not isinstance(alias, str) or alias not in caches:
        return [_error(f"Q_CLUSTER['django_redis'] is {alias!r}, which is not a cache in "
                       "CACHES.", f"Name a django-redis cache: one of "
                       f"{', '.join(caches) or '(none configured)'}.", 5)]
    backend = str(caches[alias].get("BACKEND", ""))
    if not backend.startswith("django_redis."):
        return [_error(f"Q_CLUSTER['django_redis'] names cache {alias!r}, whose BACKEND "
                       f"{backend!r} is not django-redis.",
                       "Use 'django_redis.cache.RedisCache' for that cache, or configure "
                       "Q_CLUSTER['redis'] instead.", 6)]
    try:
        import django_redis  # noqa: F401
    except ImportError:
        return [_error("Q_CLUSTER['django_redis'] needs the django-redis package, which is "
                       "not installed.", "pip install django-redis", 4)]
    return []
