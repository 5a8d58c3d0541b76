"""The broker conformance kit catches broken brokers (and passes a correct one).

The kit runs the way a third-party plugin runs it: a test module with
``pytest_plugins = ["djq.testing"]`` and ``BrokerConformance`` subclasses, here in a
separate pytest process, over small in-memory brokers with one deliberate bug each.
"""

import os
import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent

KIT_MODULE = '''
import threading
import time
from collections import defaultdict

import pytest

from djq.brokers import Broker, Delivery
from djq.registry import BrokerCapabilities
from djq.testing import BrokerConformance, make_conf

pytest_plugins = ["djq.testing"]

_lock = threading.Lock()
_queues = defaultdict(list)     # list_key -> [[id, package, locked_until, attempts], ...]
_ids = iter(range(1, 10**9))


class MemoryBroker(Broker):
    """A correct in-memory broker with receipts, bulk and FIFO order."""

    capabilities = BrokerCapabilities(receipts=True, bulk=True, atomic=True,
                                      needs_cache=False)

    def _key(self):
        return self.list_key

    def enqueue(self, task):
        with _lock:
            row = [next(_ids), task, 0.0, 0]
            _queues[self._key()].append(row)
            return row[0]

    def _claimable(self, row, now):
        return row[2] <= now

    def dequeue(self):
        now = time.monotonic()
        out = []
        with _lock:
            for row in _queues[self._key()]:
                if len(out) == self.bulk:
                    break
                if self._claimable(row, now):
                    self._claim(row, now)
                    out.append(Delivery(row[0], row[1], row[3]))
        return out or None

    def _claim(self, row, now):
        row[2], row[3] = now + self.conf.retry, row[3] + 1

    def acknowledge(self, task_id):
        self.delete(task_id)

    def delete(self, task_id):
        with _lock:
            q = _queues[self._key()]
            q[:] = [r for r in q if r[0] != task_id]

    def purge_queue(self):
        with _lock:
            _queues[self._key()].clear()

    def delete_queue(self):
        with _lock:
            _queues.pop(self._key(), None)

    def queue_size(self):
        now = time.monotonic()
        with _lock:
            return sum(1 for r in _queues[self._key()] if r[2] <= now)

    def lock_size(self):
        now = time.monotonic()
        with _lock:
            return sum(1 for r in _queues[self._key()] if r[2] > now)


class DoubleDelivery(MemoryBroker):
    """Hands a package out without claiming it: two consumers get the same one."""

    def _claim(self, row, now):
        row[3] += 1


class NeverRedelivers(MemoryBroker):
    """Declares receipts but an unacknowledged package never comes back."""

    def _claim(self, row, now):
        row[2], row[3] = float("inf"), row[3] + 1


class EarlyRedelivery(MemoryBroker):
    """Redelivers after a tenth of ``retry``."""

    def _claim(self, row, now):
        row[2], row[3] = now + self.conf.retry / 10, row[3] + 1


class OverBulk(MemoryBroker):
    """Returns one package more than ``bulk``."""

    def dequeue(self):
        bulk = self.bulk
        self.bulk = bulk + 1
        try:
            return super().dequeue()
        finally:
            self.bulk = bulk


class SharedQueue(MemoryBroker):
    """Ignores ``list_key``: every queue is one queue."""

    def _key(self):
        return "shared"


class Mangles(MemoryBroker):
    """Strips the package on the way out."""

    def dequeue(self):
        got = super().dequeue()
        return got and [Delivery(d.ack_id, d.package.rstrip("=") + " ", d.attempt)
                        for d in got]


class KitSettings(BrokerConformance):
    fifo = True
    retry = 0.4
    redelivery_grace = 1.5
    timeout = 2.0
    concurrent_packages = 200
    concurrent_timeout = 20.0
    broker_class = MemoryBroker

    @pytest.fixture
    def broker_factory(self):
        def make(list_key=None, **overrides):
            return self.broker_class(list_key, make_conf(**overrides))
        return make


class TestMemoryBroker(KitSettings):
    pass


class TestDoubleDelivery(KitSettings):
    broker_class = DoubleDelivery


class TestNeverRedelivers(KitSettings):
    broker_class = NeverRedelivers


class TestEarlyRedelivery(KitSettings):
    broker_class = EarlyRedelivery


class TestOverBulk(KitSettings):
    broker_class = OverBulk


class TestSharedQueue(KitSettings):
    broker_class = SharedQueue


class TestMangles(KitSettings):
    broker_class = Mangles
'''


CLASSES = ["TestMemoryBroker", "TestDoubleDelivery", "TestNeverRedelivers",
           "TestEarlyRedelivery", "TestOverBulk", "TestSharedQueue", "TestMangles"]


@pytest.fixture(scope="module")
def kit_outcomes(tmp_path_factory):
    """Run the kit over the in-memory brokers (one pytest process per broker, in
    parallel); {(class, test): outcome}."""
    import subprocess
    import sys

    path = tmp_path_factory.mktemp("kit") / "test_kit.py"
    path.write_text(KIT_MODULE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    env.pop("CI", None)
    procs = [subprocess.Popen(
        [sys.executable, "-m", "pytest", f"{path}::{cls}", "-v", "-p", "no:cacheprovider",
         "--ds=tests.settings", "--rootdir", str(path.parent), "-c", os.devnull,
         "-W", "ignore::pytest.PytestAssertRewriteWarning"],
        cwd=path.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True) for cls in CLASSES]
    outcomes, output = {}, ""
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        output += out
        for line in out.splitlines():
            m = re.match(r"\S*test_kit\.py::(\w+)::(\S+) (PASSED|FAILED|SKIPPED|ERROR)", line)
            if m:
                outcomes[(m[1], m[2])] = m[3]
    assert {c for c, _ in outcomes} == set(CLASSES), output[-5000:]
    return outcomes


def outcomes_of(outcomes, cls):
    return {test: outcome for (c, test), outcome in outcomes.items() if c == cls}


def failed(outcomes, cls):
    return {t for t, o in outcomes_of(outcomes, cls).items() if o in ("FAILED", "ERROR")}


def test_a_correct_broker_passes(kit_outcomes):
    results = outcomes_of(kit_outcomes, "TestMemoryBroker")
    assert len(results) >= 20
    assert not failed(kit_outcomes, "TestMemoryBroker"), results
    # max_bulk is None, so only the "max" bulk case has nothing to test
    assert {t for t, o in results.items() if o == "SKIPPED"} == {"test_bulk[max]"}


@pytest.mark.parametrize("cls, must_fail", [
    ("TestDoubleDelivery", {"test_redelivery_after_retry", "test_concurrent_consumers[1]",
                            "test_concurrent_consumers[10]"}),
    ("TestNeverRedelivers", {"test_redelivery_after_retry", "test_acknowledge",
                             "test_acknowledge_many", "test_fail", "test_delete"}),
    ("TestEarlyRedelivery", {"test_redelivery_after_retry"}),
    ("TestOverBulk", {"test_bulk[5]", "test_bulk_one_takes_one",
                      "test_concurrent_consumers[1]", "test_concurrent_consumers[10]"}),
    ("TestSharedQueue", {"test_queue_isolation", "test_purge_queue", "test_delete_queue"}),
    ("TestMangles", {"test_round_trip", "test_fifo", "test_large_packages"}),
])
def test_a_broken_broker_fails(kit_outcomes, cls, must_fail):
    assert outcomes_of(kit_outcomes, cls), f"{cls} did not run"
    missed = must_fail - failed(kit_outcomes, cls)
    assert not missed, f"the kit did not catch {cls} in {sorted(missed)}"
