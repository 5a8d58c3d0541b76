"""Brokers: the base class, and :func:`get_broker` for the configured one.

Selection (``DESIGN.md``): ``Q_CLUSTER['broker_class']`` (a dotted path) wins; else the one
registered broker whose settings key is in ``Q_CLUSTER``; else the broker registered as the
embedded default (the ORM broker on the ``default`` database). Two keys, or a key whose
plugin is not installed, is a :class:`~djq.errors.ConfigurationError` naming the extra.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from djq.brokers.base import Broker, Delivery
from djq.brokers.selection import BrokerChoice, select_broker
from djq.conf import Conf, conf as default_conf

__all__ = ["Broker", "Delivery", "BrokerChoice", "get_broker", "select_broker",
           "broker_class"]


def broker_class(conf: Conf | None = None) -> type[Broker]:
    choice = select_broker(conf or default_conf)
    cls = choice.cls
    if isinstance(cls, str):
        cls = import_string(cls)
    return cls


def get_broker(list_key: str | None = None, conf: Conf | None = None) -> Broker:
    """A new broker instance for the current configuration (queue ``list_key``)."""
    conf = conf or default_conf
    return broker_class(conf)(list_key=list_key, conf=conf)
