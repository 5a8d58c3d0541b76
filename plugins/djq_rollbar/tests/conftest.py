"""A local Rollbar receiver for the whole session (hiding installed plugins: tests.services)."""

import pytest

from tests.receivers import RollbarReceiver
from tests.services import only_core_plugins  # noqa: F401 - fixture


@pytest.fixture(scope="session")
def rollbar_receiver():
    with RollbarReceiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(rollbar_receiver):
    rollbar_receiver.clear()
    return rollbar_receiver
