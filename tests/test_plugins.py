"""The plugin contract: registration, duplicates, failures, selection."""

import types

import pytest

from djq.brokers import Broker, get_broker
from djq.brokers.selection import select_broker
from djq.conf import Conf
from djq.errors import ConfigurationError, PluginError
from djq.hookspecs import hookimpl
from djq.registry import BrokerCapabilities, BrokerSpec, ReporterSpec


class MemoryBroker(Broker):
    capabilities = BrokerCapabilities(bulk=True)

    def info(self):
        return "memory"


def broker_plugin(name="memory", key="memory_queue", **extra):
    module = types.SimpleNamespace()

    @hookimpl
    def djq_register_brokers(registry):
        registry.register_broker(BrokerSpec(name, key, MemoryBroker, **extra))

    module.djq_register_brokers = djq_register_brokers
    return module


def test_core_plugin_registers_serializers_and_stat_store(plugin_manager):
    assert {"pickle", "json"} <= set(plugin_manager.serializers())
    assert "cache" in plugin_manager.stat_stores()
    listing = {row["name"]: row for row in plugin_manager.listing()}
    assert listing["core"]["serializers"] == ["json", "pickle"]
    assert listing["orm"]["distribution"] == "djq-orm"
    assert listing["orm"]["brokers"] == ["orm"]


def test_registered_plugin_selects_by_its_key(plugin_manager):
    plugin_manager.register(broker_plugin(), "memory")
    assert plugin_manager.brokers()["memory"].plugin == "memory"
    conf = Conf({"memory_queue": {}})
    assert select_broker(conf).cls is MemoryBroker
    assert isinstance(get_broker(conf=conf), MemoryBroker)


def test_unregister_forgets_the_broker(plugin_manager):
    plugin_manager.register(broker_plugin(), "memory")
    plugin_manager.unregister("memory")
    assert "memory" not in plugin_manager.brokers()


def test_duplicate_names_and_keys_are_refused(plugin_manager):
    plugin_manager.register(broker_plugin(), "memory")
    plugin_manager.register(broker_plugin("other", "memory_queue"), "other")
    with pytest.raises(PluginError, match="claimed by brokers 'memory' and 'other'"):
        plugin_manager.brokers()
    plugin_manager.unregister("other")
    plugin_manager.register(broker_plugin("memory", "elsewhere"), "again")
    with pytest.raises(PluginError, match="registered twice"):
        plugin_manager.brokers()


def test_broker_class_wins(plugin_manager):
    conf = Conf({"broker_class": "tests.test_plugins.MemoryBroker", "orm": "default"})
    assert isinstance(get_broker(conf=conf), MemoryBroker)


def test_embedded_default_is_the_orm_broker():
    from djq_orm.broker import OrmBroker

    assert select_broker(Conf({})).reason == "embedded default"
    assert isinstance(get_broker(conf=Conf({})), OrmBroker)


def test_two_brokers_is_an_error():
    with pytest.raises(ConfigurationError, match="more than one broker"):
        select_broker(Conf({"orm": "default", "redis": {}}))


def test_missing_plugin_names_the_extra(monkeypatch):
    with pytest.raises(PluginError, match=r'pip install "djq\[mongo\]"'):
        select_broker(Conf({"mongo": "mongodb://localhost:27017"}))


def test_a_plugin_that_fails_to_import_is_listed_not_fatal(monkeypatch):
    from importlib import metadata

    from djq.plugins import Plugins

    class BrokenEntryPoint:
        name, group, dist = "broken", "djq", None

        def load(self):
            raise ImportError("No module named 'djq_broken'")

    real = metadata.entry_points

    def entry_points(**kw):
        found = list(real(**kw))
        return found + [BrokenEntryPoint()] if kw.get("group") == "djq" else found

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    fresh = Plugins()
    assert "orm" in fresh.brokers()
    assert "djq_broken" in fresh.failures()["broken"].error
    assert [r["error"] for r in fresh.listing() if r["name"] == "broken"]


def test_allow_list_limits_loaded_plugins(monkeypatch):
    from djq.plugins import Plugins

    monkeypatch.setenv("DJQ_PLUGINS", "nothing-else")
    fresh = Plugins()
    assert "orm" not in fresh.brokers()
    assert "pickle" in fresh.serializers()  # the core's own always load


def test_reporter_registration(plugin_manager):
    module = types.SimpleNamespace()

    @hookimpl
    def djq_register_reporters(registry):
        registry.register_reporter(ReporterSpec("memory", object))

    module.djq_register_reporters = djq_register_reporters
    plugin_manager.register(module, "memory-reporter")
    assert plugin_manager.reporters()["memory"].plugin == "memory-reporter"


def test_every_hook_is_documented():
    from djq import hookspecs

    hooks = [n for n in dir(hookspecs) if n.startswith("djq_")]
    assert len(hooks) == 4
    for name in hooks:
        doc = getattr(hookspecs, name).__doc__
        assert doc and "versionadded" in doc, name
