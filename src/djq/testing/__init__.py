"""djq's broker conformance kit: one pytest suite every broker passes.

Enable it as a pytest plugin and subclass :class:`BrokerConformance` with a
``broker_factory`` fixture. The factory returns ``make(list_key=None, **conf_overrides)``,
which builds a *new* broker instance on queue ``list_key`` with ``conf_overrides``
(``retry``, ``bulk``, ...) applied to your base ``Q_CLUSTER``::

    # tests/test_conformance.py of djq-kafka
    import pytest
    from djq.testing import BrokerConformance, make_conf
    from djq_kafka.broker import KafkaBroker

    pytest_plugins = ["djq.testing"]

    class TestKafkaBroker(BrokerConformance):
        fifo = True                      # opt in to the ordering tests

        @pytest.fixture
        def broker_factory(self):
            def make(list_key=None, **overrides):
                return KafkaBroker(list_key, make_conf(kafka="localhost:9092", **overrides))
            return make

``pytest_plugins = ["djq.testing"]`` may also sit in your rootdir ``conftest.py``, which
lets pytest rewrite the kit's asserts; in a test module pytest warns that it cannot
(harmless: the kit's assertions carry their own messages).

What applies is read from ``broker.capabilities``: ``receipts`` enables the redelivery
tests (an unacknowledged package comes back after ``retry``, never before, and
``lock_size()`` counts taken packages), ``bulk`` the bulk tests (``dequeue()`` returns up
to ``bulk``, never more), ``max_message_size`` caps the large-package test. Every test
works on its own unique queue and deletes it afterwards (``delete_queue()``); brokers the
kit builds are closed. Brokers that keep their queue in Django's database need the
``django_db(transaction=True)`` mark on the subclass (consumers run in threads, each with
its own connection). Class attributes (``retry``, ``redelivery_grace``, ``timeout``,
``concurrent_consumers``, ``concurrent_packages``, ``package_sizes``) tune the suite.

The kit checks: round trip of the exact package string and the ``Delivery`` shape, empty
dequeues, ``enqueue_many``, FIFO (if claimed), bulk limits, ``acknowledge`` /
``acknowledge_many`` (never back, even after ``retry``), redelivery after ``retry`` with
attempt counts (when the broker reports ``Delivery.attempt``), ``fail``, ``delete``,
``purge_queue``, ``delete_queue``, ``queue_size`` / ``lock_size``, ``ping`` / ``info``,
``close()`` and reuse, queue isolation, large packages, and concurrent consumers (threads,
each with its own broker) that never receive the same package inside ``retry``.
"""

from __future__ import annotations

import pytest

from djq.testing.conformance import BrokerConformance
from djq.testing.helpers import (BrokerFactory, BrokerHarness, deliveries, drain, make_conf,
                                 package_of_size, poll, signed_package, signed_packages,
                                 unique_queue, wait_for)

__all__ = ["BrokerConformance", "BrokerFactory", "BrokerHarness", "broker_factory",
           "broker_harness", "deliveries", "drain", "make_conf", "package_of_size", "poll",
           "signed_package", "signed_packages", "unique_queue", "wait_for"]


@pytest.fixture
def broker_factory() -> BrokerFactory:
    """Override this (in the ``BrokerConformance`` subclass or a conftest)."""
    raise pytest.UsageError(
        "djq.testing needs a `broker_factory` fixture returning "
        "make(list_key=None, **conf_overrides) -> Broker; see the djq.testing docstring.")


@pytest.fixture
def broker_harness(broker_factory: BrokerFactory):
    """Builds brokers on this test's unique queue; deletes its queues and closes its
    brokers afterwards. ``broker_harness(retry=1, bulk=5)`` -> a new broker."""
    harness = BrokerHarness(broker_factory)
    yield harness
    harness.cleanup()
