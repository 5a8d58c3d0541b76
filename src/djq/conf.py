"""``Q_CLUSTER``, read once into one :class:`Conf` and refreshed on ``setting_changed``.

Every option of both configuration chapters of the spec is here with its default.
Broker connection keys (``redis``, ``sqs``, ...) belong to broker plugins: each plugin's
:class:`~djq.registry.BrokerSpec` names its key, and :data:`WELL_KNOWN_EXTRAS` only maps
the spec's keys to the pip extra that provides them, so an error can say what to install.

Conf never raises on a bad value; the system checks (:mod:`djq.checks`) report those.
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# Options the core owns, with the spec's defaults. ``None`` for workers and queue_limit
# means "derive" (cpu count, workers ** 2).
DEFAULTS: dict[str, Any] = {
    "name": "default",
    "workers": None,
    "daemonize_workers": True,
    "recycle": 500,
    "max_rss": None,
    "timeout": None,
    "ack_failures": False,
    "max_attempts": 0,
    "retry": 60,
    "compress": False,
    "save_limit": 250,
    "guard_cycle": 0.5,
    "sync": False,
    "queue_limit": None,
    "label": "djq",
    "catch_up": True,
    "broker_class": None,
    "bulk": None,  # djq: as many as the cluster has room for (see the README)
    "poll": 0.2,
    "cache": "default",
    "cached": False,
    "scheduler": True,
    "error_reporter": {},
    "rollbar": None,
    "cpu_affinity": 0,
    "serializer": "pickle",
    "log_level": None,
    "has_replica": False,
}

# The spec's broker and reporter keys -> the pip extra that provides them. Used only to
# word error messages ("pip install "djq[sqs]""); selection goes through the registry.
WELL_KNOWN_EXTRAS: dict[str, str] = {
    "redis": "redis",
    "django_redis": "redis",
    "disque_nodes": "disque",
    "disque_auth": "disque",
    "iron_mq": "ironmq",
    "sqs": "sqs",
    "orm": "orm",
    "mongo": "mongo",
    "mongo_db": "mongo",
}
WELL_KNOWN_REPORTERS: dict[str, str] = {"rollbar": "rollbar", "sentry": "sentry"}


class Conf:
    """The effective ``Q_CLUSTER``: ``conf.name``, ``conf.workers``, ``conf.raw`` ..."""

    def __init__(self, raw: dict | None = None) -> None:
        self._explicit = raw
        self._cache: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._generation = 0
        self._loaded: tuple[str, ...] = ()

    @property
    def raw(self) -> dict[str, Any]:
        """The user's ``Q_CLUSTER`` dict, untouched (``{}`` when unset or not a dict)."""
        if self._explicit is not None:
            return self._explicit
        raw = getattr(settings, "Q_CLUSTER", None)
        return raw if isinstance(raw, dict) else {}

    def _values(self) -> dict[str, Any]:
        cache = self._cache
        if cache is None:
            with self._lock:
                cache = self._cache = self._build()
                # Options become plain instance attributes: ``conf.timeout`` is read
                # several times per task, and ``__getattr__`` costs a call each time.
                # Names the class defines (``get``, ``raw``...) keep their meaning.
                loaded = {k: v for k, v in cache.items() if isinstance(k, str)
                          and not k.startswith("_") and not hasattr(Conf, k)}
                self.__dict__.update(loaded)
                self._loaded = tuple(loaded)
        return cache

    def _build(self) -> dict[str, Any]:
        raw = self.raw
        values = {**DEFAULTS, **raw}
        if not isinstance(values["workers"], int) or values["workers"] < 1:
            values["workers"] = _cpu_count()
        if not isinstance(values["queue_limit"], int) or values["queue_limit"] < 1:
            values["queue_limit"] = values["workers"] ** 2
        if values["rollbar"] and "rollbar" not in (values["error_reporter"] or {}):
            # 0.7.18's top-level ``rollbar`` key is the same as error_reporter['rollbar'].
            values["error_reporter"] = {**(values["error_reporter"] or {}),
                                        "rollbar": values["rollbar"]}
        values["error_reporter"] = values["error_reporter"] or {}
        return values

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        values = self._values()
        if key in values:
            return values[key]
        raise AttributeError(f"Q_CLUSTER has no option {key!r}")

    def get(self, key: str, default: Any = None) -> Any:
        return self._values().get(key, default)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values())

    @property
    def cached_timeout(self) -> int | None:
        """``cached`` as a cache timeout: ``None`` keeps results until evicted."""
        return _cache_timeout(self.cached)

    @property
    def generation(self) -> int:
        """Goes up on every reload: objects built from the settings (a default broker,
        error reporters) compare it to know when to rebuild themselves."""
        return self._generation

    def reload(self) -> None:
        with self._lock:
            for key in self._loaded:
                self.__dict__.pop(key, None)
            self._loaded = ()
            self._cache = None
            self._generation += 1

    # Stable knobs the core reads often ------------------------------------------------
    @property
    def salt(self) -> str:
        """Signing salt: the cluster name, so clusters with other names cannot read a
        package (the spec's task crossover protection)."""
        return f"djq.{self.name}"


def _cache_timeout(cached: Any) -> int | None:
    if cached is True or cached is None:
        return None
    if isinstance(cached, int) and cached > 0:
        return cached
    return None


def _cpu_count() -> int:
    try:
        import psutil

        return psutil.cpu_count() or multiprocessing.cpu_count()
    except Exception:
        return multiprocessing.cpu_count()


conf = Conf()


@receiver(setting_changed)
def _reload(setting: str, **_kwargs: Any) -> None:
    if setting in ("Q_CLUSTER", "CACHES", "SECRET_KEY", "SECRET_KEY_FALLBACKS"):
        conf.reload()
