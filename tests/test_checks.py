"""Each system check, compared to the exact message ``run_checks()`` gives."""

import pytest
from django.core import checks
from django.core.checks import Error, Warning

from tests.services import only_core_plugins  # noqa: F401 - fixture

SHARED_CACHE = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                            "LOCATION": "djq_cache"}}


@pytest.fixture
def run(settings):
    settings.CACHES = SHARED_CACHE

    def run_checks(q_cluster, **more):
        for key, value in more.items():
            setattr(settings, key, value)
        settings.Q_CLUSTER = q_cluster
        return [m for m in checks.run_checks(tags=["djq"])]

    return run_checks


def test_a_good_configuration_passes(run):
    assert run({"name": "site", "workers": 2, "timeout": 30, "retry": 60}) == []


def test_q_cluster_not_a_dict(run):
    assert run(["name"]) == [Error(
        "Q_CLUSTER must be a dict, not list.",
        hint="Set Q_CLUSTER = {'name': 'myproject', ...} in your settings.", id="djq.E001")]


def test_unknown_key_suggests_the_close_one(run):
    assert run({"wokers": 2}) == [Error("Q_CLUSTER has an unknown key 'wokers'.",
                                        hint="Did you mean 'workers'?", id="djq.E002")]


def test_invalid_values(run):
    assert run({"workers": 0, "guard_cycle": 90}) == [
        Error("Q_CLUSTER['workers'] is 0; it must be an integer of at least 1.",
              hint="Fix Q_CLUSTER['workers'] in your settings.", id="djq.E003"),
        Error("Q_CLUSTER['guard_cycle'] is 90; it must be seconds above 0 and below 60.",
              hint="Fix Q_CLUSTER['guard_cycle'] in your settings.", id="djq.E003"),
    ]


def test_two_brokers(run):
    assert run({"orm": "default", "sqs": {}}) == [Error(
        "Q_CLUSTER configures more than one broker: orm, sqs.",
        hint="Keep exactly one broker key.", id="djq.E004")]


def test_broker_plugin_not_installed(run):
    assert run({"mongo": {"host": "127.0.0.1"}}) == [Error(
        "Q_CLUSTER['mongo'] selects a broker whose plugin is not installed. "
        'Install it with: pip install "djq[mongo]"',
        hint='pip install "djq[mongo]"', id="djq.E005")]


def test_retry_must_exceed_timeout(run):
    assert run({"timeout": 60, "retry": 60}) == [Error(
        "Q_CLUSTER['retry'] (60) must be greater than 'timeout' (60); otherwise a task "
        "still running is delivered again.",
        hint="Set 'retry' above 60, allowing for time spent in the queue.", id="djq.E006")]


def test_broker_class_not_importable(run):
    assert run({"broker_class": "nowhere.Broker"}) == [Error(
        "Q_CLUSTER['broker_class'] 'nowhere.Broker' cannot be imported: No module named "
        "'nowhere'", hint="Give the dotted path to a Broker subclass.", id="djq.E007")]


def test_broker_class_not_a_broker(run):
    assert run({"broker_class": "collections.OrderedDict"}) == [Error(
        "Q_CLUSTER['broker_class'] 'collections.OrderedDict' is not a subclass of "
        "djq.brokers.Broker.", hint="Subclass djq.brokers.Broker (or a plugin's broker).",
        id="djq.E007")]


def test_broker_app_missing(run, settings):
    apps = [a for a in settings.INSTALLED_APPS if a != "djq_orm"]
    assert run({}, INSTALLED_APPS=apps) == [Error(
        "The 'orm' broker (embedded default) needs the app 'djq_orm' in INSTALLED_APPS.",
        hint="Add 'djq_orm' to INSTALLED_APPS and run migrate.", id="djq.E008")]


def test_unknown_serializer(run):
    assert run({"serializer": "yaml"}) == [Error(
        "Q_CLUSTER['serializer'] is 'yaml', which is not installed.",
        hint="Use one of: json, pickle.", id="djq.E009")]


def test_error_reporter_not_installed(run, only_core_plugins):
    assert run({"error_reporter": {"sentry": {"dsn": "x"}}}) == [Error(
        "Q_CLUSTER['error_reporter'] configures 'sentry', whose plugin is not installed.",
        hint='pip install "djq[sentry]"', id="djq.E010")]


def test_old_top_level_rollbar_key_needs_the_plugin(run, only_core_plugins):
    assert [m.id for m in run({"rollbar": {"access_token": "t"}})] == ["djq.E010"]


def test_unknown_cache(run):
    assert run({"cache": "results"}) == [Error(
        "Q_CLUSTER['cache'] is 'results', which is not in CACHES.",
        hint="Use one of: default.", id="djq.E011")]


def test_bulk_over_the_broker_limit(run, plugin_manager):
    import types

    from djq.brokers import Broker
    from djq.hookspecs import hookimpl
    from djq.registry import BrokerCapabilities, BrokerSpec

    module = types.SimpleNamespace()

    @hookimpl
    def djq_register_brokers(registry):
        registry.register_broker(BrokerSpec(
            "tiny", "tiny", Broker, BrokerCapabilities(bulk=True, max_bulk=10)))

    module.djq_register_brokers = djq_register_brokers
    plugin_manager.register(module, "tiny")
    assert run({"tiny": {}, "bulk": 11}) == [Error(
        "Q_CLUSTER['bulk'] is 11; the 'tiny' broker takes at most 10.",
        hint="Set Q_CLUSTER['bulk'] to 10 or less.", id="djq.E012")]


def test_plugin_checks_run_for_the_selected_broker(run):
    assert run({"orm": "elsewhere"}) == [Error(
        "Q_CLUSTER['orm'] names database 'elsewhere', which is not in DATABASES.",
        hint=f"Use one of: {', '.join(__import__('django.conf').conf.settings.DATABASES)}.",
        id="djq_orm.E001")]


LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_process_local_cache_for_stats_and_cached_results(run):
    assert run({"cached": True}, CACHES=LOCMEM) == [
        Warning("Cluster statistics go to cache 'default', which is process-local: qmonitor "
                "and qinfo will not see running clusters.",
                hint="Use a shared cache (database, Redis, Memcached, file-based) for "
                     "Q_CLUSTER['cache'].", id="djq.W001"),
        Warning("Q_CLUSTER['cached'] sends results to cache 'default', which is "
                "process-local: the cluster's results never reach your web processes.",
                hint="Use a shared cache for Q_CLUSTER['cache'], or turn 'cached' off.",
                id="djq.W002"),
    ]


def test_sync_mode_needs_no_shared_cache(run):
    assert run({"sync": True, "cached": True}, CACHES=LOCMEM) == []
