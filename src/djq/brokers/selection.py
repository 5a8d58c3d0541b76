"""Which broker ``Q_CLUSTER`` selects, with errors that say how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

from djq.conf import WELL_KNOWN_EXTRAS, Conf
from djq.errors import ConfigurationError, PluginError
from djq.plugins import plugins
from djq.registry import BrokerCapabilities, BrokerSpec


@dataclass(frozen=True)
class BrokerChoice:
    """The outcome of selection: the class (or dotted path) and, for a plugin broker,
    its registered description."""

    cls: type | str
    spec: BrokerSpec | None
    reason: str

    @property
    def capabilities(self) -> BrokerCapabilities:
        if self.spec is not None:
            return self.spec.capabilities
        cls = self.cls
        if isinstance(cls, str):
            from django.utils.module_loading import import_string

            cls = import_string(cls)
        return getattr(cls, "capabilities", BrokerCapabilities())


def configured_broker_keys(conf: Conf) -> list[str]:
    """Broker-selecting keys present in ``Q_CLUSTER`` (installed or not)."""
    installed = {s.settings_key for s in plugins.brokers().values()}
    aliases = {a for s in plugins.brokers().values() for a in s.aliases}
    keys = [k for k in conf.raw if k in installed or k in aliases]
    keys += [k for k in conf.raw
             if k in WELL_KNOWN_EXTRAS and k not in keys and k not in _secondary_keys()]
    return keys


def _secondary_keys() -> set[str]:
    """Keys that configure a broker but do not select it (``mongo_db``, ``disque_auth``)."""
    extra = {k for s in plugins.brokers().values() for k in s.extra_keys}
    return extra | {"mongo_db", "disque_auth"}


def spec_for_key(key: str) -> BrokerSpec | None:
    for spec in plugins.brokers().values():
        if spec.settings_key == key or key in spec.aliases:
            return spec
    return None


def missing_plugin_message(key: str) -> str:
    extra = WELL_KNOWN_EXTRAS.get(key, key)
    failed = plugins.failures().get(extra)
    detail = f" (the plugin is installed but failed to load: {failed.error})" if failed else ""
    return (f"Q_CLUSTER[{key!r}] selects a broker whose plugin is not installed{detail}. "
            f'Install it with: pip install "djq[{extra}]"')


def select_broker(conf: Conf) -> BrokerChoice:
    if conf.broker_class:
        return BrokerChoice(conf.broker_class, None, "Q_CLUSTER['broker_class']")
    keys = configured_broker_keys(conf)
    if len(keys) > 1:
        raise ConfigurationError(
            f"Q_CLUSTER configures more than one broker ({', '.join(keys)}); keep one.")
    if keys:
        spec = spec_for_key(keys[0])
        if spec is None:
            raise PluginError(missing_plugin_message(keys[0]))
        return BrokerChoice(spec.broker_class, spec, f"Q_CLUSTER[{keys[0]!r}]")
    for spec in plugins.brokers().values():
        if spec.default:
            return BrokerChoice(spec.broker_class, spec, "embedded default")
    raise PluginError(
        "No broker is configured and no default broker is installed. "
        'Install the embedded default with: pip install "djq[orm]"')
