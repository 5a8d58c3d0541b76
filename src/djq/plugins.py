"""The plugin manager behind a typed facade.

One module-level :data:`plugins` object loads the ``djq`` entry-point group once, lazily
(never at import time). A plugin that fails to import is logged and kept in
:attr:`Plugins.failures`; it becomes an error only when the configuration needs it (the
system checks and :func:`djq.brokers.get_broker` say so). ``DJQ_PLUGINS``, a comma-separated
allow-list of entry-point names, limits which plugins load.

Tests register plugin objects directly with :meth:`Plugins.register` and remove them with
:meth:`Plugins.unregister`; nothing depends on import order.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from importlib import import_module, metadata
from typing import Any

import pluggy

from djq import hookspecs
from djq.errors import PluginError
from djq.registry import BrokerSpec, Registry, ReporterSpec, SerializerSpec, StatStoreSpec

logger = logging.getLogger("djq")

BUILTINS = "core"  # entry-point name of djq's own serializers and stat store
_HOOKS = (
    "djq_register_brokers",
    "djq_register_reporters",
    "djq_register_serializers",
    "djq_register_stat_stores",
)


@dataclass(frozen=True)
class PluginInfo:
    """One loaded (or failed) plugin, for listings."""

    name: str
    distribution: str | None
    version: str | None
    error: str | None = None


class Plugins:
    """Facade over the pluggy manager; core code never calls ``pm.hook`` itself."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._pm: pluggy.PluginManager | None = None
        self._registry: Registry | None = None
        self._registry_error: PluginError | None = None
        self.info: dict[str, PluginInfo] = {}

    # -- loading ------------------------------------------------------------------------
    @property
    def manager(self) -> pluggy.PluginManager:
        with self._lock:
            if self._pm is None:
                pm = pluggy.PluginManager(hookspecs.PROJECT)
                pm.add_hookspecs(hookspecs)
                self._pm = pm
                self._load_entry_points(pm)
                pm.check_pending()
            return self._pm

    def _load_entry_points(self, pm: pluggy.PluginManager) -> None:
        allow = os.environ.get("DJQ_PLUGINS")
        allowed = {n.strip() for n in allow.split(",")} | {BUILTINS} if allow else None
        for ep in metadata.entry_points(group=hookspecs.PROJECT):
            if allowed is not None and ep.name not in allowed:
                continue
            if pm.has_plugin(ep.name):
                continue
            dist = getattr(ep, "dist", None)
            dname, version = (dist.metadata["Name"], dist.version) if dist else (None, None)
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must not take the project down
                logger.warning("djq plugin %r (%s) failed to load: %r", ep.name, dname, exc)
                self.info[ep.name] = PluginInfo(ep.name, dname, version, error=repr(exc))
                continue
            pm.register(plugin, name=ep.name)
            self.info[ep.name] = PluginInfo(ep.name, dname, version)
        if not pm.has_plugin(BUILTINS):
            # Running from a source tree without installed metadata: the builtins still
            # register through the same manager, just not via the entry point.
            pm.register(import_module("djq.builtins"), name=BUILTINS)
            self.info[BUILTINS] = PluginInfo(BUILTINS, "djq", _version("djq"))

    def register(self, plugin: Any, name: str) -> None:
        """Register a plugin object by hand (tests, embedding applications)."""
        with self._lock:
            self.manager.register(plugin, name=name)
            self.info[name] = PluginInfo(name, None, None)
            self._registry = None

    def unregister(self, name: str) -> None:
        with self._lock:
            self.manager.unregister(name=name)
            self.info.pop(name, None)
            self._registry = None

    def reset(self) -> None:
        """Forget everything; the next access loads the entry points again."""
        with self._lock:
            self._pm = None
            self._registry = None
            self.info = {}

    # -- the registry ---------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        with self._lock:
            if self._registry is None:
                self._registry = self._collect()
            return self._registry

    def _collect(self) -> Registry:
        registry = Registry()
        pm = self.manager
        for hook_name in _HOOKS:
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                registry.current_plugin = impl.plugin_name
                try:
                    impl.function(**({"registry": registry} if impl.argnames else {}))
                except PluginError:
                    raise
                except Exception as exc:
                    logger.warning("djq plugin %r failed in %s: %r", impl.plugin_name,
                                   hook_name, exc)
                    old = self.info.get(impl.plugin_name)
                    self.info[impl.plugin_name] = PluginInfo(
                        impl.plugin_name, old and old.distribution, old and old.version,
                        error=f"{hook_name}: {exc!r}")
        registry.current_plugin = ""
        return registry

    # -- typed accessors ------------------------------------------------------------------
    def brokers(self) -> dict[str, BrokerSpec]:
        return self.registry.brokers

    def reporters(self) -> dict[str, ReporterSpec]:
        return self.registry.reporters

    def serializers(self) -> dict[str, SerializerSpec]:
        return self.registry.serializers

    def stat_stores(self) -> dict[str, StatStoreSpec]:
        return self.registry.stat_stores

    def failures(self) -> dict[str, PluginInfo]:
        self.manager
        return {n: i for n, i in self.info.items() if i.error}

    def serializer(self, name: str) -> SerializerSpec:
        try:
            return self.serializers()[name]
        except KeyError:
            raise PluginError(
                f"Unknown serializer {name!r} in Q_CLUSTER['serializer']; installed: "
                f"{', '.join(sorted(self.serializers()))}."
            ) from None

    def listing(self) -> list[dict[str, Any]]:
        """Installed plugins with distribution, version and what each registers."""
        registry = self.registry
        rows = []
        for name, info in sorted(self.info.items()):
            rows.append({
                "name": name,
                "distribution": info.distribution,
                "version": info.version,
                "error": info.error,
                "brokers": sorted(b.name for b in registry.brokers.values() if b.plugin == name),
                "reporters": sorted(r.name for r in registry.reporters.values()
                                    if r.plugin == name),
                "serializers": sorted(s.name for s in registry.serializers.values()
                                      if s.plugin == name),
                "stat_stores": sorted(s.name for s in registry.stat_stores.values()
                                      if s.plugin == name),
            })
        return rows


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


plugins = Plugins()
