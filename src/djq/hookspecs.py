"""The djq plugin contract: pluggy hook specifications.

A plugin is a module (or object) with ``@hookimpl`` functions, registered through the
``djq`` entry-point group::

    [project.entry-points.djq]
    kafka = "djq_kafka.plugin"

Every hook here is a *registration* hook: it receives a :class:`~djq.registry.Registry`
and calls ``register_*`` on it with a description (see :mod:`djq.registry`), never an
instance. The core can then list what is installed and explain what is missing without
connecting to anything. Hooks only ever gain arguments; an implementation may accept fewer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from djq.registry import Registry

PROJECT = "djq"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------------------
# Registration hooks: called once, when the plugin manager loads.
# --------------------------------------------------------------------------------------


@hookspec
def djq_register_brokers(registry: Registry) -> None:
    """Register broker descriptions with ``registry.register_broker(BrokerSpec(...))``.

    :param registry: the registry collecting this load's descriptions; it refuses a
        second broker with the same name or the same ``Q_CLUSTER`` key.

    .. versionadded:: 0.1
    """


@hookspec
def djq_register_reporters(registry: Registry) -> None:
    """Register error reporters with ``registry.register_reporter(ReporterSpec(...))``.

    The reporter's name is its key under ``Q_CLUSTER['error_reporter']``.

    .. versionadded:: 0.1
    """


@hookspec
def djq_register_serializers(registry: Registry) -> None:
    """Register package serializers with ``registry.register_serializer(SerializerSpec(...))``.

    The name is what ``Q_CLUSTER['serializer']`` selects.

    .. versionadded:: 0.1
    """


@hookspec
def djq_register_stat_stores(registry: Registry) -> None:
    """Register cluster-statistics stores with ``registry.register_stat_store(...)``.

    A broker that brings its own store names it in ``BrokerSpec.stat_store``.

    .. versionadded:: 0.1
    """
