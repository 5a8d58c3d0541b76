"""A local Sentry receiver for the whole session (hiding installed plugins: tests.services)."""

import pytest

from tests.receivers import SentryReceiver
from tests.services import only_core_plugins  # noqa: F401 - fixture


@pytest.fixture(scope="session")
def sentry_receiver():
    with SentryReceiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(sentry_receiver):
    sentry_receiver.clear()
    return sentry_receiver
