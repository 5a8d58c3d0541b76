"""``BrokerConformance``: the contract every djq broker passes (see :mod:`djq.testing`)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from djq.brokers import Broker
from djq.registry import BrokerCapabilities
from djq.testing.helpers import (deliveries, drain, package_of_size,
                                 packages_of, poll, signed_package, signed_packages,
                                 signing_conf, wait_for)

LONG_RETRY = 600
"""``retry`` for tests that must see no redelivery at all while they run."""


class BrokerConformance:
    """Contract tests for a :class:`djq.brokers.Broker`. Subclass as ``Test...`` and
    provide a ``broker_factory`` fixture; override the knobs below where your broker
    needs it. Tests that a broker's :class:`~djq.registry.BrokerCapabilities` rule out
    are skipped with the reason.
    """

    #: dequeue hands packages out in enqueue order (not a capability flag: opt in).
    fifo: bool = False
    #: ``retry`` (seconds) for the redelivery tests; raise it for coarse brokers.
    retry: float = 1
    #: how long past ``retry`` a redelivery may take to show up.
    redelivery_grace: float = 5.0
    #: deadline for eventually-consistent sizes and for plain dequeues.
    timeout: float = 5.0
    #: consumers and packages of the concurrency test; its overall deadline.
    concurrent_consumers: int = 4
    concurrent_packages: int = 500
    concurrent_timeout: float = 120.0
    #: package sizes tried, capped at ``capabilities.max_message_size`` (which is tried too).
    package_sizes: tuple[int, ...] = (1024, 64 * 1024, 1024 * 1024)

    # -- helpers ------------------------------------------------------------------------
    @staticmethod
    def caps(broker: Broker) -> BrokerCapabilities:
        caps = broker.capabilities
        assert isinstance(caps, BrokerCapabilities), (
            f"{type(broker).__name__}.capabilities must be a djq.registry.BrokerCapabilities")
        return caps

    def require(self, broker: Broker, capability: str, why: str) -> None:
        if not getattr(self.caps(broker), capability):
            pytest.skip(f"{type(broker).__name__} declares capabilities.{capability}=False: "
                        f"{why}")

    def claim(self, broker: Broker, count: int) -> list:
        got = poll(broker, count, self.timeout)
        assert len(got) == count, f"dequeued {len(got)} of {count} packages"
        return got

    def assert_never_back(self, broker: Broker, gone: set[str], control: str) -> None:
        """``control`` was claimed and not acknowledged: wait for its redelivery (so
        ``retry`` has passed), then drain; nothing in ``gone`` may show up."""
        seen = []
        back = poll_until(broker, control, self.retry + self.redelivery_grace, seen)
        assert back, (f"the unacknowledged control package was not redelivered within "
                      f"retry + {self.redelivery_grace}s")
        seen += packages_of(d for b in drain(broker, quiet=0.3, timeout=1.0) for d in b)
        returned = gone & set(seen)
        assert not returned, f"{len(returned)} removed package(s) came back after retry"

    # -- basics -------------------------------------------------------------------------
    def test_capabilities(self, broker_harness):
        caps = self.caps(broker_harness())
        if caps.max_bulk is not None:
            assert caps.bulk and caps.max_bulk >= 1
        if caps.max_message_size is not None:
            assert caps.max_message_size >= 1024

    def test_ping_and_info(self, broker_harness):
        broker = broker_harness()
        assert broker.ping() is True
        info = broker.info()
        assert isinstance(info, str) and info.strip(), f"info() returned {info!r}"

    def test_dequeue_empty(self, broker_harness):
        broker = broker_harness()
        result = broker.dequeue()
        assert result is None or result == [], f"empty queue dequeued {result!r:.200}"

    def test_round_trip(self, broker_harness):
        from djq import signing

        broker = broker_harness(retry=LONG_RETRY)
        package, signed = signed_package(broker)
        broker.enqueue(signed)
        wait_for(broker.queue_size, 1, self.timeout, "queue_size()")
        (delivery,) = self.claim(broker, 1)
        assert delivery.package == signed
        assert signing.loads(delivery.package, signing_conf(broker)) == package
        assert len(delivery) in (2, 3) and delivery[1] == signed
        broker.acknowledge(delivery.ack_id)
        wait_for(broker.queue_size, 0, self.timeout, "queue_size() after acknowledge")
        assert not deliveries(broker.dequeue())

    def test_enqueue_many(self, broker_harness):
        broker = broker_harness(retry=LONG_RETRY)
        signed = signed_packages(broker, 7)
        ids = broker.enqueue_many(signed)
        assert len(ids) == 7
        wait_for(broker.queue_size, 7, self.timeout, "queue_size()")
        got = poll(broker, 7, self.timeout)
        assert sorted(packages_of(got)) == sorted(signed)

    def test_fifo(self, broker_harness):
        if not self.fifo:
            pytest.skip("the broker does not claim FIFO order (set fifo = True if it does)")
        broker = broker_harness(retry=LONG_RETRY, bulk=1)
        signed = signed_packages(broker, 10)
        for s in signed[:5]:
            broker.enqueue(s)
        broker.enqueue_many(signed[5:])
        assert packages_of(poll(broker, 10, self.timeout)) == signed

    def test_fifo_in_bulk(self, broker_harness):
        if not self.fifo:
            pytest.skip("the broker does not claim FIFO order (set fifo = True if it does)")
        self.require(broker_harness(), "bulk", "dequeue takes one package at a time")
        broker = broker_harness(retry=LONG_RETRY, bulk=4)
        signed = signed_packages(broker, 10)
        broker.enqueue_many(signed)
        assert packages_of(poll(broker, 10, self.timeout)) == signed

    def test_close_and_reuse(self, broker_harness):
        broker = broker_harness(retry=LONG_RETRY)
        broker.enqueue(signed_package(broker)[1])
        broker.close()
        wait_for(broker.queue_size, 1, self.timeout, "queue_size() after close()")
        assert len(poll(broker, 1, self.timeout)) == 1

    # -- bulk -----------------------------------------------------------------------------
    def test_bulk_one_takes_one(self, broker_harness):
        broker = broker_harness(retry=LONG_RETRY, bulk=1)
        broker.enqueue_many(signed_packages(broker, 5))
        batches = drain(broker, timeout=self.timeout * 2)
        assert all(len(b) == 1 for b in batches), [len(b) for b in batches]
        assert sum(map(len, batches)) == 5

    @pytest.mark.parametrize("bulk", [5, "max"])
    def test_bulk(self, broker_harness, bulk):
        caps = self.caps(broker_harness())
        self.require(broker_harness(), "bulk", "dequeue takes one package at a time")
        if bulk == "max":
            if not caps.max_bulk:
                pytest.skip("capabilities.max_bulk is None (no limit to test)")
            bulk = caps.max_bulk
        broker = broker_harness(retry=LONG_RETRY, bulk=bulk)
        signed = signed_packages(broker, bulk * 2 + 2)
        broker.enqueue_many(signed)
        wait_for(broker.queue_size, len(signed), self.timeout, "queue_size()")
        batches = drain(broker, timeout=self.timeout * 2)
        sizes = [len(b) for b in batches]
        assert all(1 <= n <= bulk for n in sizes), f"bulk={bulk} but batches of {sizes}"
        assert max(sizes) > 1, f"bulk={bulk} but every dequeue returned one package"
        got = packages_of(d for b in batches for d in b)
        assert sorted(got) == sorted(signed)

    # -- receipts -------------------------------------------------------------------------
    def test_acknowledge(self, broker_harness):
        broker = broker_harness(retry=self.retry, bulk=1)
        target, control = signed_packages(broker, 2)
        broker.enqueue(target)
        broker.enqueue(control)
        got = {d.package: d for d in self.claim(broker, 2)}
        broker.acknowledge(got[target].ack_id)
        if not self.caps(broker).receipts:
            assert not deliveries(broker.dequeue())
            return
        self.assert_never_back(broker_harness(retry=self.retry, bulk=1), {target}, control)

    def test_acknowledge_many(self, broker_harness):
        broker = broker_harness(retry=self.retry, bulk=1)
        signed = signed_packages(broker, 4)
        broker.enqueue_many(signed)
        got = {d.package: d for d in self.claim(broker, 4)}
        broker.acknowledge_many([got[s].ack_id for s in signed[:3]])
        if self.caps(broker).receipts and broker.lock_size() is not None:
            wait_for(broker.lock_size, 1, self.timeout, "lock_size() after acknowledge_many")
        if not self.caps(broker).receipts:
            return
        self.assert_never_back(broker, set(signed[:3]), signed[3])

    def test_redelivery_after_retry(self, broker_harness):
        self.require(broker_harness(), "receipts",
                     "unacknowledged packages are not redelivered")
        first_consumer = broker_harness(retry=self.retry, bulk=1)
        other_consumer = broker_harness(retry=self.retry, bulk=1)
        signed = signed_package(first_consumer)[1]
        first_consumer.enqueue(signed)
        started = time.monotonic()
        (first,) = self.claim(first_consumer, 1)
        assert not deliveries(other_consumer.dequeue()), "redelivered inside retry"
        assert not deliveries(first_consumer.dequeue()), "redelivered inside retry"
        back = poll(other_consumer, 1, self.retry + self.redelivery_grace)
        elapsed = time.monotonic() - started
        assert back, f"not redelivered within retry + {self.redelivery_grace}s"
        assert back[0].package == signed
        assert elapsed >= self.retry * 0.9, (
            f"redelivered after {elapsed:.2f}s, before retry={self.retry}s")
        if first.attempt is not None:
            assert (first.attempt, back[0].attempt) == (1, 2), (
                f"attempts reported {first.attempt}, {back[0].attempt}; expected 1, 2")
        other_consumer.acknowledge(back[0].ack_id)
        wait_for(other_consumer.queue_size, 0, self.timeout, "queue_size() after ack")

    def test_fail(self, broker_harness):
        broker = broker_harness(retry=self.retry, bulk=1)
        target, control = signed_packages(broker, 2)
        broker.enqueue(target)
        broker.enqueue(control)
        got = {d.package: d for d in self.claim(broker, 2)}
        broker.fail(got[target].ack_id)
        if self.caps(broker).receipts:
            self.assert_never_back(broker, {target}, control)

    def test_delete(self, broker_harness):
        broker = broker_harness(retry=self.retry, bulk=1)
        target, control = signed_packages(broker, 2)
        broker.enqueue(target)
        broker.enqueue(control)
        got = {d.package: d for d in self.claim(broker, 2)}
        broker.delete(got[target].ack_id)
        if self.caps(broker).receipts:
            self.assert_never_back(broker, {target}, control)

    # -- queue management -----------------------------------------------------------------
    def test_sizes(self, broker_harness):
        broker = broker_harness(retry=LONG_RETRY, bulk=1)
        broker.enqueue_many(signed_packages(broker, 3))
        wait_for(broker.queue_size, 3, self.timeout, "queue_size()")
        receipts = self.caps(broker).receipts
        if receipts:
            assert isinstance(broker.lock_size(), int), (
                "lock_size() must count taken-but-unacknowledged packages on a broker "
                "with receipts")
        if broker.lock_size() is not None:
            wait_for(broker.lock_size, 0, self.timeout, "lock_size()")
        (taken,) = self.claim(broker, 1)
        wait_for(broker.queue_size, 2, self.timeout, "queue_size() with one taken")
        if receipts:
            wait_for(broker.lock_size, 1, self.timeout, "lock_size() with one taken")
        broker.acknowledge(taken.ack_id)
        if receipts:
            wait_for(broker.lock_size, 0, self.timeout, "lock_size() after acknowledge")
        wait_for(broker.queue_size, 2, self.timeout, "queue_size() after acknowledge")

    def test_purge_queue(self, broker_harness):
        broker = broker_harness(retry=LONG_RETRY)
        other = broker_harness(broker_harness.new_queue(), retry=LONG_RETRY)
        broker.enqueue_many(signed_packages(broker, 4))
        other.enqueue_many(signed_packages(other, 2))
        wait_for(broker.queue_size, 4, self.timeout, "queue_size()")
        broker.purge_queue()
        wait_for(broker.queue_size, 0, self.timeout, "queue_size() after purge_queue()")
        assert not deliveries(broker.dequeue())
        wait_for(other.queue_size, 2, self.timeout, "another queue's size after purge")
        broker.enqueue(signed_package(broker)[1])
        wait_for(broker.queue_size, 1, self.timeout, "queue_size() after purge + enqueue")

    def test_delete_queue(self, broker_harness):
        broker = broker_harness(retry=LONG_RETRY)
        other = broker_harness(broker_harness.new_queue(), retry=LONG_RETRY)
        broker.enqueue_many(signed_packages(broker, 3))
        other.enqueue(signed_package(other)[1])
        wait_for(broker.queue_size, 3, self.timeout, "queue_size()")
        broker.delete_queue()
        broker.close()
        fresh = broker_harness(retry=LONG_RETRY)
        wait_for(fresh.queue_size, 0, self.timeout, "queue_size() after delete_queue()")
        assert not deliveries(fresh.dequeue())
        wait_for(other.queue_size, 1, self.timeout, "another queue's size after delete")

    def test_queue_isolation(self, broker_harness):
        one = broker_harness(retry=LONG_RETRY, bulk=1)
        two = broker_harness(broker_harness.new_queue(), retry=LONG_RETRY, bulk=1)
        mine, theirs = signed_packages(one, 3), signed_packages(two, 2, start=10)
        one.enqueue_many(mine)
        two.enqueue_many(theirs)
        wait_for(two.queue_size, 2, self.timeout, "queue_size()")
        got = packages_of(d for b in drain(two, timeout=self.timeout) for d in b)
        assert sorted(got) == sorted(theirs), "a queue saw another queue's packages"
        wait_for(one.queue_size, 3, self.timeout, "the other queue's size")

    def test_large_packages(self, broker_harness):
        broker = broker_harness(retry=LONG_RETRY, bulk=1)
        limit = self.caps(broker).max_message_size
        sizes = [s for s in self.package_sizes if not limit or s < limit]
        if limit:
            sizes.append(limit)
        for size in sizes:
            _, signed = package_of_size(broker, size)
            broker.enqueue(signed)
            (delivery,) = self.claim(broker, 1)
            assert delivery.package == signed, f"a {len(signed)}-byte package changed"
            broker.acknowledge(delivery.ack_id)

    # -- concurrency ----------------------------------------------------------------------
    @pytest.mark.parametrize("bulk", [1, 10])
    def test_concurrent_consumers(self, broker_harness, bulk):
        """Several consumers, each with its own broker (and connection), drain the queue
        without acknowledging: every package arrives exactly once inside ``retry``."""
        if bulk > 1:
            self.require(broker_harness(), "bulk", "dequeue takes one package at a time")
        total, workers = self.concurrent_packages, self.concurrent_consumers
        producer = broker_harness(retry=LONG_RETRY, bulk=bulk)
        signed = signed_packages(producer, total)
        for start in range(0, total, 100):
            producer.enqueue_many(signed[start:start + 100])
        wait_for(producer.queue_size, total, self.timeout, "queue_size()")

        received: list[list] = [[] for _ in range(workers)]
        errors: list[BaseException] = []
        lock, done = threading.Lock(), threading.Event()
        seen = [0]
        barrier = threading.Barrier(workers)
        deadline = time.monotonic() + self.concurrent_timeout

        def consume(index: int) -> None:
            try:
                broker = broker_harness(track=False, retry=LONG_RETRY, bulk=bulk)
            except BaseException as exc:
                errors.append(exc)
                barrier.abort()
                return
            try:
                barrier.wait()
                while not done.is_set() and time.monotonic() < deadline:
                    batch = deliveries(broker.dequeue())
                    if not batch:
                        time.sleep(0.005)
                        continue
                    assert len(batch) <= bulk, f"bulk={bulk}, dequeued {len(batch)}"
                    received[index].extend(batch)
                    with lock:
                        seen[0] += len(batch)
                        if seen[0] >= total:
                            done.set()
            except BaseException as exc:
                errors.append(exc)
                done.set()
            finally:
                broker.close()

        threads = [threading.Thread(target=consume, args=(i,), daemon=True)
                   for i in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(self.concurrent_timeout + 10)
        assert not any(t.is_alive() for t in threads), "a consumer thread hung"
        if errors:
            raise errors[0]

        got = [d.package for per in received for d in per]
        duplicates = [p for p, n in Counter(got).items() if n > 1]
        assert not duplicates, (f"{len(duplicates)} package(s) went to more than one "
                                f"consumer inside retry; per consumer: "
                                f"{[len(r) for r in received]}")
        missing = set(signed) - set(got)
        assert not missing, f"{len(missing)} of {total} packages never arrived"
        assert len(got) == total
        producer.acknowledge_many([d.ack_id for per in received for d in per])
        wait_for(producer.queue_size, 0, self.timeout, "queue_size() after acknowledging")
        if producer.lock_size() is not None:
            wait_for(producer.lock_size, 0, self.timeout, "lock_size() after acknowledging")


def poll_until(broker: Broker, package: str, timeout: float, seen: list[str]) -> bool:
    """Dequeue until ``package`` shows up (recording everything seen) or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = deliveries(broker.dequeue())
        seen += packages_of(batch)
        if package in seen:
            return True
        if not batch:
            time.sleep(0.02)
    return False
