import pytest

from djq.plugins import plugins


@pytest.fixture
def q_cluster(settings):
    """Update ``Q_CLUSTER`` for one test: ``q_cluster(sync=True, cached=True)``."""
    base = dict(settings.Q_CLUSTER)

    def set_options(**options):
        settings.Q_CLUSTER = {**base, **options}
        return settings.Q_CLUSTER

    return set_options


@pytest.fixture
def plugin_manager():
    """The djq plugin facade; plugins registered through it are removed afterwards."""
    added = []
    original = plugins.register

    def register(plugin, name):
        added.append(name)
        original(plugin, name)

    plugins.register = register
    try:
        yield plugins
    finally:
        plugins.register = original
        for name in added:
            if plugins.manager.has_plugin(name):
                plugins.unregister(name)
