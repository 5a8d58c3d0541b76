"""Descriptions that plugins register, and the registry that collects them.

Descriptions are plain frozen dataclasses: what a plugin offers, which settings key
selects it and what it can do. Classes are given as objects or dotted paths; nothing is
instantiated at registration time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from djq.errors import PluginError


@dataclass(frozen=True)
class BrokerCapabilities:
    """What a broker can do; the core and the conformance kit read this.

    :param receipts: unacknowledged packages come back after ``retry`` seconds.
    :param bulk: ``dequeue`` honours ``Q_CLUSTER['bulk']`` (returns up to that many).
    :param max_bulk: the largest ``bulk`` the broker accepts (``None``: no limit).
    :param atomic: enqueue/dequeue are atomic on the server.
    :param blocking: ``dequeue`` blocks for new work instead of polling.
    :param max_message_size: largest signed package in bytes (``None``: no limit).
    :param needs_cache: monitoring needs a shared Django cache (no own stat store).
    """

    receipts: bool = False
    bulk: bool = False
    max_bulk: int | None = None
    atomic: bool = False
    blocking: bool = False
    max_message_size: int | None = None
    needs_cache: bool = True


@dataclass(frozen=True)
class BrokerSpec:
    """A broker a plugin offers.

    :param name: short name, also the pip extra (``djq[<name>]``).
    :param settings_key: the ``Q_CLUSTER`` key whose presence selects this broker.
    :param broker_class: the :class:`djq.brokers.Broker` subclass or its dotted path.
    :param extra_keys: further ``Q_CLUSTER`` keys this broker reads (accepted by the
        unknown-key check), e.g. ``mongo_db``.
    :param django_app: an app that must be in ``INSTALLED_APPS`` when this broker is
        selected (for brokers that keep models).
    :param stat_store: name of the stat store this broker brings, if any.
    :param default: this broker is the embedded default when no key is configured.
    :param check: optional callable ``check(conf) -> list[CheckMessage]`` run by the
        system checks when this broker is selected.
    """

    name: str
    settings_key: str
    broker_class: type | str
    capabilities: BrokerCapabilities = field(default_factory=BrokerCapabilities)
    extra_keys: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    django_app: str | None = None
    stat_store: str | None = None
    default: bool = False
    check: Callable[[Any], list] | None = None
    plugin: str = ""


@dataclass(frozen=True)
class ReporterSpec:
    """An error reporter; ``name`` is its key under ``Q_CLUSTER['error_reporter']``.

    The reporter contract (driven by :mod:`djq.cluster.reporting`):

    * ``reporter_class(**options)`` is built once per process from that key's dict: in the
      cluster's monitor, or lazily in the calling process for ``sync`` tasks. Raising here
      is logged and leaves that reporter out.
    * ``report(exc_info, context)`` is called for every failure after its result is saved:
      the task's own exception, a timeout, a worker that died (brokers without receipts),
      a delivery over ``max_attempts`` and an unreadable package. ``exc_info`` is ``None``
      (the exception happened in another process); ``context`` is a dict:

      - the task: ``id``, ``name``, ``func`` (dotted path), ``group``, ``args``,
        ``kwargs``, ``attempt`` (the broker's delivery count), ``started``/``stopped``
        (ISO 8601 strings);
      - where: ``cluster`` (``Q_CLUSTER['name']``), ``host``;
      - what: ``kind`` (``"exception"``, ``"timeout"``, ``"worker_died"``,
        ``"max_attempts"`` or ``"unreadable"``), ``error`` (the text saved as the
        ``Failure``'s result), ``error_type``, ``error_module`` (``None`` for built-in
        exceptions and the cluster's own kinds), ``error_message``, ``traceback`` (text,
        ``None`` when the cluster recorded the failure itself) and ``exceptions``: the
        chain, first cause first, each ``{"type", "module", "message", "frames"}`` with
        frames ``{"filename", "lineno", "function", "line"}``, most recent call last.

      ``report`` runs in the monitor between batches: it must hand network I/O to a
      background thread (or bound it with a short timeout), never block. What it raises
      is logged; the result is saved either way.
    * ``close(timeout)`` (optional) is called when the monitor stops (and at exit after
      ``sync`` reporting): deliver what is queued within ``timeout`` seconds.

    :param check: optional ``check(options) -> list[CheckMessage]`` run by the system
        checks when this reporter is configured (use the plugin's own ID prefix).
    """

    name: str
    reporter_class: type | str
    extra: str = ""
    plugin: str = ""
    check: Callable[[Any], list] | None = None


@dataclass(frozen=True)
class SerializerSpec:
    """A package serializer: ``dumps(obj) -> bytes`` and ``loads(bytes) -> obj``."""

    name: str
    dumps: Callable[[Any], bytes]
    loads: Callable[[bytes], Any]
    plugin: str = ""


@dataclass(frozen=True)
class StatStoreSpec:
    """A store for cluster statistics; ``store_class(conf)`` is built lazily."""

    name: str
    store_class: type | str
    plugin: str = ""


class Registry:
    """Collects descriptions during one plugin load; refuses duplicates.

    ``current_plugin`` is set by the manager around each plugin's hook call so that
    every description records who registered it.
    """

    def __init__(self) -> None:
        self.brokers: dict[str, BrokerSpec] = {}
        self.reporters: dict[str, ReporterSpec] = {}
        self.serializers: dict[str, SerializerSpec] = {}
        self.stat_stores: dict[str, StatStoreSpec] = {}
        self.current_plugin = ""

    def _add(self, table: dict, kind: str, spec: Any) -> None:
        if spec.name in table:
            other = table[spec.name].plugin or "?"
            raise PluginError(
                f"{kind} {spec.name!r} is registered twice (by {other!r} and "
                f"{self.current_plugin or '?'!r}); uninstall one of them."
            )
        if not spec.plugin and self.current_plugin:
            spec = _with_plugin(spec, self.current_plugin)
        table[spec.name] = spec

    def register_broker(self, spec: BrokerSpec) -> None:
        for other in self.brokers.values():
            if other.settings_key == spec.settings_key:
                raise PluginError(
                    f"Q_CLUSTER[{spec.settings_key!r}] is claimed by brokers "
                    f"{other.name!r} and {spec.name!r}; uninstall one of them."
                )
        self._add(self.brokers, "broker", spec)

    def register_reporter(self, spec: ReporterSpec) -> None:
        self._add(self.reporters, "error reporter", spec)

    def register_serializer(self, spec: SerializerSpec) -> None:
        self._add(self.serializers, "serializer", spec)

    def register_stat_store(self, spec: StatStoreSpec) -> None:
        self._add(self.stat_stores, "stat store", spec)


def _with_plugin(spec: Any, plugin: str) -> Any:
    from dataclasses import replace

    return replace(spec, plugin=plugin)
