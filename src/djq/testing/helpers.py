"""Building blocks of the conformance kit: the broker harness, signed packages, polling.

Plugin authors rarely need these directly; :class:`~djq.testing.BrokerConformance` uses
them, and they are public so a plugin's own tests can speak the same language.
"""

from __future__ import annotations

import random
import string
import time
import uuid
from typing import Any, Callable, Iterable

from djq.brokers import Broker, Delivery
from djq.conf import Conf

BrokerFactory = Callable[..., Broker]
"""``make(list_key=None, **conf_overrides) -> Broker``: a new broker instance on queue
``list_key`` whose ``conf`` is the plugin's base configuration with ``conf_overrides``
applied (the kit passes ``retry``, ``bulk`` and ``poll``)."""


def make_conf(base: dict | None = None, **overrides: Any) -> Conf:
    """An explicit :class:`~djq.conf.Conf`: ``settings.Q_CLUSTER`` (or ``base``) with
    ``overrides`` on top. The usual body of a ``broker_factory``."""
    if base is None:
        from django.conf import settings

        base = getattr(settings, "Q_CLUSTER", None) or {}
    return Conf({**base, **overrides})


def unique_queue(prefix: str = "djq-kit") -> str:
    """A queue name no other test (or earlier run) uses; short enough for any broker."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class BrokerHarness:
    """Builds brokers for one test and cleans up after it.

    ``harness(**overrides)`` is a broker on this test's queue; ``harness(list_key=...)``
    one on another queue (see :meth:`new_queue`). At teardown every queue the test
    touched is deleted with ``delete_queue()`` and every broker built here is closed.
    Brokers meant for other threads are built with ``track=False`` and closed by the
    thread that used them (database connections are per thread).
    """

    def __init__(self, factory: BrokerFactory, prefix: str = "djq-kit") -> None:
        self.factory = factory
        self.prefix = prefix
        self.queue = unique_queue(prefix)
        self._brokers: list[Broker] = []
        self._queues: set[str] = set()

    def __call__(self, list_key: str | None = None, *, track: bool = True,
                 **overrides: Any) -> Broker:
        key = list_key or self.queue
        self._queues.add(key)
        broker = self.factory(list_key=key, **overrides)
        assert isinstance(broker, Broker), (
            f"broker_factory returned {broker!r}, not a djq.brokers.Broker")
        assert broker.list_key == key, (
            f"broker_factory(list_key={key!r}) built a broker on queue {broker.list_key!r}")
        for option, value in overrides.items():
            assert broker.conf.get(option) == value, (
                f"broker_factory ignored the conf override {option}={value!r} "
                f"(broker.conf.{option} is {broker.conf.get(option)!r}); build the broker "
                "with conf=make_conf(**overrides)")
        if track:
            self._brokers.append(broker)
        return broker

    def new_queue(self) -> str:
        """Another unique queue name, deleted at teardown like the main one."""
        key = unique_queue(self.prefix)
        self._queues.add(key)
        return key

    def cleanup(self) -> None:
        errors = []
        for key in sorted(self._queues):
            try:
                broker = self.factory(list_key=key)
                try:
                    broker.delete_queue()
                finally:
                    broker.close()
            except Exception as exc:  # report every failure, not just the first
                errors.append(f"delete_queue() of {key!r}: {exc!r}")
        for broker in self._brokers:
            try:
                broker.close()
            except Exception as exc:
                errors.append(f"close() of {broker!r}: {exc!r}")
        self._brokers.clear()
        self._queues.clear()
        assert not errors, "cleanup failed: " + "; ".join(errors)


# -- packages ---------------------------------------------------------------------------
def signing_conf(broker: Broker) -> Conf:
    """The broker's conf without compression, so package sizes are predictable."""
    return Conf({**broker.conf.raw, "compress": False})


def signed_package(broker: Broker, n: int = 0, pad: int = 0) -> tuple[dict, str]:
    """A real signed task package (JSON-safe values only, so every serializer works)."""
    from djq import signing

    package = {
        "id": uuid.uuid4().hex,
        "name": f"kit-{n}",
        "func": "math.floor",
        "args": [n],
        "kwargs": {},
        "group": None,
    }
    if pad:
        rng = random.Random(n)
        package["kwargs"] = {"pad": "".join(rng.choices(string.ascii_letters, k=pad))}
    return package, signing.dumps(package, signing_conf(broker))


def signed_packages(broker: Broker, count: int, start: int = 0) -> list[str]:
    return [signed_package(broker, start + i)[1] for i in range(count)]


def package_of_size(broker: Broker, size: int, slack: int = 64) -> tuple[dict, str]:
    """A signed package of ``size - slack`` to ``size`` bytes."""
    pad = max(size * 3 // 4 - 300, 0)
    for _ in range(30):
        package, signed = signed_package(broker, size, pad)
        length = len(signed.encode())
        if size - slack <= length <= size:
            return package, signed
        if length > size:
            pad = max(pad - (length - size), 0)
        else:
            pad += max((size - length) * 3 // 4, 1)
        if pad == 0 and length > size:
            break
    raise AssertionError(f"cannot build a signed package of {size} bytes (got {length})")


# -- dequeueing -------------------------------------------------------------------------
def deliveries(result: Any) -> list[Delivery]:
    """Normalize and check what ``dequeue()`` returned: ``None`` or a list of
    :class:`~djq.brokers.Delivery` / ``(ack_id, package)`` tuples with ``str`` packages."""
    if result is None:
        return []
    assert isinstance(result, (list, tuple)) and not isinstance(result, Delivery), (
        f"dequeue() must return None or a list of (ack_id, package), not {result!r:.200}")
    out = []
    for item in result:
        if not isinstance(item, Delivery):
            assert isinstance(item, tuple) and len(item) == 2, (
                f"dequeue() item must be a Delivery or an (ack_id, package) tuple, "
                f"not {item!r:.200}")
            item = Delivery(item[0], item[1])
        assert isinstance(item.package, str), (
            f"dequeue() returned a package of type {type(item.package).__name__}; "
            "packages are opaque str")
        assert item.attempt is None or isinstance(item.attempt, int), item
        out.append(item)
    return out


def poll(broker: Broker, want: int = 1, timeout: float = 5.0,
         interval: float = 0.02) -> list[Delivery]:
    """Dequeue until ``want`` deliveries arrived or ``timeout`` seconds passed."""
    got: list[Delivery] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        batch = deliveries(broker.dequeue())
        got += batch
        if not batch:
            time.sleep(interval)
    return got


def drain(broker: Broker, quiet: float = 0.3, timeout: float = 10.0,
          interval: float = 0.02) -> list[list[Delivery]]:
    """Dequeue batches until nothing came for ``quiet`` seconds; return the batches."""
    batches: list[list[Delivery]] = []
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - last < quiet:
        batch = deliveries(broker.dequeue())
        if batch:
            batches.append(batch)
            last = time.monotonic()
        else:
            time.sleep(interval)
    return batches


def wait_for(probe: Callable[[], Any], expected: Any, timeout: float = 5.0,
             what: str = "value") -> None:
    """Assert that ``probe()`` becomes ``expected`` within ``timeout`` seconds (sizes on
    brokers whose counters are eventually consistent)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value == expected:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} is {value!r}, expected {expected!r} "
                                 f"(waited {timeout}s)")
        time.sleep(0.05)


def packages_of(items: Iterable[Delivery]) -> list[str]:
    return [d.package for d in items]
