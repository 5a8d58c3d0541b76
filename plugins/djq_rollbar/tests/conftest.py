"""A local Rollbar receiver for the whole session, and helpers to hide installed plugins."""

import pytest

from djq.plugins import plugins
from tests.receivers import RollbarReceiver


@pytest.fixture(scope="session")
def rollbar_receiver():
    with RollbarReceiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(rollbar_receiver):
    rollbar_receiver.clear()
    return rollbar_receiver


@pytest.fixture
def only_core_plugins(monkeypatch):
    """Load only the core and the ORM broker, as if no reporter plugin were installed."""
    monkeypatch.setenv("DJQ_PLUGINS", "orm")
    plugins.reset()
    yield
    monkeypatch.delenv("DJQ_PLUGINS")
    plugins.reset()
