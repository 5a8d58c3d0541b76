"""System checks for ``Q_CLUSTER`` (IDs documented in the README).

====== ==========================================================================
ID     Problem
====== ==========================================================================
E001   ``Q_CLUSTER`` is not a dict
E002   unknown key
E003   invalid value for a key
E004   more than one broker configured
E005   a broker key whose plugin is not installed (or failed to load)
E006   ``retry`` not greater than ``timeout``
E007   ``broker_class`` cannot be imported or is not a ``Broker``
E008   the selected broker needs an app that is not in ``INSTALLED_APPS``
E009   unknown ``serializer``
E010   an ``error_reporter`` whose plugin is not installed
E011   ``cache`` names a cache that is not in ``CACHES``
E012   ``bulk`` over the selected broker's limit
W001   statistics need a shared cache, but ``cache`` is process-local
W002   ``cached`` results with a process-local cache cannot reach other processes
====== ==========================================================================

Broker plugins add their own checks (``djq_orm.E001`` ...) through ``BrokerSpec.check``,
reporter plugins (``djq_sentry.E001`` ...) through ``ReporterSpec.check``.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

from django.core import checks
from django.utils.module_loading import import_string

from djq.conf import DEFAULTS, WELL_KNOWN_EXTRAS, WELL_KNOWN_REPORTERS, Conf, conf
from djq.errors import ConfigurationError

LOCAL_CACHES = ("django.core.cache.backends.locmem.LocMemCache",
                "django.core.cache.backends.dummy.DummyCache")


def _int(minimum: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def _number(minimum: float, exclusive: bool = False) -> Callable[[Any], bool]:
    def ok(v: Any) -> bool:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return False
        return v > minimum if exclusive else v >= minimum
    return ok


def _optional(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or test(v)


_bool = lambda v: isinstance(v, bool)  # noqa: E731
_str = lambda v: isinstance(v, str) and bool(v)  # noqa: E731

# key -> (test, what a valid value is)
VALIDATORS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (_str, "a non-empty string"),
    "workers": (_optional(_int(1)), "an integer of at least 1"),
    "daemonize_workers": (_bool, "True or False"),
    "recycle": (_int(1), "an integer of at least 1"),
    "max_rss": (_optional(_int(1)), "None or a size in kilobytes"),
    "timeout": (_optional(_number(0, exclusive=True)), "None or seconds above 0"),
    "ack_failures": (_bool, "True or False"),
    "max_attempts": (_int(0), "an integer of at least 0 (0: unlimited)"),
    "retry": (_number(0, exclusive=True), "seconds above 0"),
    "compress": (_bool, "True or False"),
    "save_limit": (_int(-1), "-1 (no successes), 0 (unlimited) or a positive integer"),
    "guard_cycle": (lambda v: _number(0, True)(v) and v < 60, "seconds above 0 and below 60"),
    "sync": (_bool, "True or False"),
    "queue_limit": (_optional(_int(1)), "an integer of at least 1"),
    "label": (_str, "a non-empty string"),
    "catch_up": (_bool, "True or False"),
    "broker_class": (_optional(_str), "a dotted path to a Broker subclass"),
    "bulk": (_optional(_int(1)), "an integer of at least 1"),
    "poll": (_number(0, exclusive=True), "seconds above 0"),
    "cache": (_str, "the alias of a cache in CACHES"),
    "cached": (lambda v: isinstance(v, bool) or _int(1)(v), "True, False or seconds"),
    "scheduler": (_bool, "True or False"),
    "error_reporter": (lambda v: isinstance(v, dict), "a dict of reporter name -> options"),
    "rollbar": (_optional(lambda v: isinstance(v, dict)), "a dict of pyrollbar options"),
    "cpu_affinity": (_int(0), "an integer of at least 0 (0: all processors)"),
    "serializer": (_str, "the name of an installed serializer"),
    "log_level": (_optional(lambda v: isinstance(v, (str, int))), "a logging level name"),
    "has_replica": (_bool, "True or False"),
}


def _err(msg: str, hint: str, n: int) -> checks.Error:
    return checks.Error(msg, hint=hint, id=f"djq.E{n:03d}")


@checks.register("djq")
def check_q_cluster(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from django.conf import settings

    raw = getattr(settings, "Q_CLUSTER", {})
    if not isinstance(raw, dict):
        return [_err(f"Q_CLUSTER must be a dict, not {type(raw).__name__}.",
                     "Set Q_CLUSTER = {'name': 'myproject', ...} in your settings.", 1)]
    messages: list[checks.CheckMessage] = []
    messages += _check_keys(conf)
    messages += _check_values(conf)
    messages += _check_broker(conf)
    messages += _check_timing(conf)
    messages += _check_serializer(conf)
    messages += _check_reporters(conf)
    messages += _check_cache(conf)
    return messages


def _known_keys() -> set[str]:
    from djq.plugins import plugins

    keys = set(DEFAULTS) | set(WELL_KNOWN_EXTRAS)
    for spec in plugins.brokers().values():
        keys |= {spec.settings_key, *spec.extra_keys, *spec.aliases}
    return keys


def _check_keys(conf: Conf) -> list[checks.CheckMessage]:
    known = _known_keys()
    messages = []
    for key in conf.raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"Did you mean {close[0]!r}?" if close else (
                "Remove it, or install the plugin that provides it.")
            messages.append(_err(f"Q_CLUSTER has an unknown key {key!r}.", hint, 2))
    return messages


def _check_values(conf: Conf) -> list[checks.CheckMessage]:
    messages = []
    for key, value in conf.raw.items():
        if key in VALIDATORS:
            test, wanted = VALIDATORS[key]
            if not test(value):
                messages.append(_err(f"Q_CLUSTER[{key!r}] is {value!r}; it must be {wanted}.",
                                     f"Fix Q_CLUSTER[{key!r}] in your settings.", 3))
    return messages


def _check_broker(conf: Conf) -> list[checks.CheckMessage]:
    from django.apps import apps

    from djq.brokers.selection import (configured_broker_keys, missing_plugin_message,
                                       select_broker, spec_for_key)

    keys = configured_broker_keys(conf)
    if len(keys) > 1 and not conf.broker_class:
        return [_err(f"Q_CLUSTER configures more than one broker: {', '.join(keys)}.",
                     "Keep exactly one broker key.", 4)]
    messages = []
    for key in keys:
        if spec_for_key(key) is None:
            extra = WELL_KNOWN_EXTRAS.get(key, key)
            messages.append(_err(missing_plugin_message(key),
                                 f'pip install "djq[{extra}]"', 5))
    if messages:
        return messages
    try:
        choice = select_broker(conf)
    except ConfigurationError as exc:
        return [_err(str(exc), 'pip install "djq[orm]"', 5)]
    if choice.spec is None:
        try:
            cls = import_string(conf.broker_class)
        except ImportError as exc:
            return [_err(f"Q_CLUSTER['broker_class'] {conf.broker_class!r} cannot be "
                         f"imported: {exc}", "Give the dotted path to a Broker subclass.", 7)]
        from djq.brokers import Broker

        if not (isinstance(cls, type) and issubclass(cls, Broker)):
            return [_err(f"Q_CLUSTER['broker_class'] {conf.broker_class!r} is not a "
                         "subclass of djq.brokers.Broker.",
                         "Subclass djq.brokers.Broker (or a plugin's broker).", 7)]
    else:
        spec = choice.spec
        if spec.django_app and not apps.is_installed(spec.django_app):
            messages.append(_err(
                f"The {spec.name!r} broker ({choice.reason}) needs the app "
                f"{spec.django_app!r} in INSTALLED_APPS.",
                f"Add {spec.django_app!r} to INSTALLED_APPS and run migrate.", 8))
        if spec.capabilities.max_bulk and (conf.bulk or 0) > spec.capabilities.max_bulk:
            messages.append(_err(
                f"Q_CLUSTER['bulk'] is {conf.bulk}; the {spec.name!r} broker takes at most "
                f"{spec.capabilities.max_bulk}.",
                f"Set Q_CLUSTER['bulk'] to {spec.capabilities.max_bulk} or less.", 12))
        if spec.check:
            messages += spec.check(conf)
    return messages


def _check_timing(conf: Conf) -> list[checks.CheckMessage]:
    timeout, retry = conf.raw.get("timeout"), conf.retry
    if (isinstance(timeout, (int, float)) and isinstance(retry, (int, float))
            and not isinstance(timeout, bool) and retry <= timeout):
        return [_err(
            f"Q_CLUSTER['retry'] ({retry}) must be greater than 'timeout' ({timeout}); "
            "otherwise a task still running is delivered again.",
            f"Set 'retry' above {timeout}, allowing for time spent in the queue.", 6)]
    return []


def _check_serializer(conf: Conf) -> list[checks.CheckMessage]:
    from djq.plugins import plugins

    name = conf.serializer
    if isinstance(name, str) and name not in plugins.serializers():
        return [_err(f"Q_CLUSTER['serializer'] is {name!r}, which is not installed.",
                     f"Use one of: {', '.join(sorted(plugins.serializers()))}.", 9)]
    return []


def _check_reporters(conf: Conf) -> list[checks.CheckMessage]:
    from djq.plugins import plugins

    messages = []
    reporters = conf.error_reporter if isinstance(conf.error_reporter, dict) else {}
    for name, options in reporters.items():
        spec = plugins.reporters().get(name)
        if spec is None:
            extra = WELL_KNOWN_REPORTERS.get(name, name)
            messages.append(_err(
                f"Q_CLUSTER['error_reporter'] configures {name!r}, whose plugin is not "
                "installed.", f'pip install "djq[{extra}]"', 10))
        elif spec.check is not None:  # the plugin's own checks (djq_sentry.E001 ...)
            messages += spec.check(options)
    return messages


def _check_cache(conf: Conf) -> list[checks.CheckMessage]:
    from django.conf import settings

    alias = conf.cache
    if not isinstance(alias, str):
        return []
    caches = getattr(settings, "CACHES", {})
    if alias not in caches:
        return [_err(f"Q_CLUSTER['cache'] is {alias!r}, which is not in CACHES.",
                     f"Use one of: {', '.join(caches) or '(none configured)'}.", 11)]
    if caches[alias].get("BACKEND") not in LOCAL_CACHES or conf.sync:
        return []
    messages = []
    if _stats_need_cache(conf):
        messages.append(checks.Warning(
            f"Cluster statistics go to cache {alias!r}, which is process-local: qmonitor "
            "and qinfo will not see running clusters.",
            hint="Use a shared cache (database, Redis, Memcached, file-based) for "
                 "Q_CLUSTER['cache'].", id="djq.W001"))
    if conf.cached:
        messages.append(checks.Warning(
            f"Q_CLUSTER['cached'] sends results to cache {alias!r}, which is process-local: "
            "the cluster's results never reach your web processes.",
            hint="Use a shared cache for Q_CLUSTER['cache'], or turn 'cached' off.",
            id="djq.W002"))
    return messages


def _stats_need_cache(conf: Conf) -> bool:
    from djq.brokers.selection import select_broker

    try:
        choice = select_broker(conf)
    except (ConfigurationError, ImportError):
        return False
    spec = choice.spec
    return not (spec and spec.stat_store)
