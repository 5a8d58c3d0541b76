"""Stat stores: where clusters publish their :class:`~djq.status.Stat` (JSON text).

:func:`get_store` picks the store: the selected broker's own (``BrokerSpec.stat_store``,
e.g. Redis), else ``"cache"`` (the Django cache named by ``Q_CLUSTER['cache']``).
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from djq.conf import Conf, conf as default_conf
from djq.stats.base import StatStore

__all__ = ["StatStore", "get_store", "store_name"]


def store_name(conf: Conf) -> str:
    from djq.brokers.selection import select_broker

    try:
        spec = select_broker(conf).spec
    except Exception:  # a broken broker configuration still lets qinfo/qmonitor run
        spec = None
    return (spec.stat_store if spec is not None and spec.stat_store else "cache")


def get_store(conf: Conf | None = None) -> StatStore:
    from djq.errors import PluginError
    from djq.plugins import plugins

    conf = conf or default_conf
    name = store_name(conf)
    try:
        spec = plugins.stat_stores()[name]
    except KeyError:
        raise PluginError(f"Stat store {name!r} is not installed; installed: "
                          f"{', '.join(sorted(plugins.stat_stores()))}.") from None
    cls = spec.store_class
    if isinstance(cls, str):
        cls = import_string(cls)
    return cls(conf)
