"""The ``Broker`` base class: the spec's reference API.

Brokers move opaque signed packages (``str``); serialization and signing stay in the core.
Subclass it (or a plugin's broker) and point ``Q_CLUSTER['broker_class']`` at it, or
publish it as a plugin (see :mod:`djq.hookspecs`).
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

from djq.conf import Conf, conf as default_conf
from djq.registry import BrokerCapabilities


class Delivery(NamedTuple):
    """One dequeued package. ``ack_id`` is what :meth:`Broker.acknowledge` takes;
    ``attempt`` is the delivery count when the broker tracks it (``None`` otherwise).
    Custom brokers may return plain ``(ack_id, package)`` tuples, as in the spec."""

    ack_id: Any
    package: str
    attempt: int | None = None


class Broker:
    """Base broker: a queue named ``list_key`` (the cluster name by default).

    Methods a subclass implements: ``enqueue``, ``dequeue``, ``acknowledge``, ``fail``,
    ``delete``, ``purge_queue``, ``delete_queue``, ``queue_size``; optionally
    ``lock_size``, ``ping``, ``info``, ``get_connection``, ``close``.
    """

    capabilities = BrokerCapabilities()

    #: How long a blocking :meth:`dequeue` may wait for work (seconds) before it returns
    #: empty-handed. 1 s by default and outside a cluster. The cluster's pusher raises it
    #: while it has nothing to do: the sentinel interrupts a waiting dequeue with a signal
    #: when the cluster stops (the kernel does, should the sentinel die), so an idle
    #: cluster need not wake up every second for nothing.
    #: A broker that also redelivers expired work from inside ``dequeue`` should still
    #: come back in time for that (e.g. every quarter of ``retry``).
    max_wait: float = 1.0

    def __init__(self, list_key: str | None = None, conf: Conf | None = None) -> None:
        self.conf = conf or default_conf
        self.list_key = list_key or self.conf.name
        self.connection = self.get_connection(self.list_key)

    # -- the spec's reference ---------------------------------------------------------------
    def enqueue(self, task: str) -> Any:
        """Put a signed package on the queue; return a tracking id if available."""
        raise NotImplementedError(f"{type(self).__name__} does not implement enqueue()")

    def enqueue_many(self, tasks: Iterable[str]) -> list[Any]:
        """Enqueue several packages; brokers override this with one round trip."""
        return [self.enqueue(t) for t in tasks]

    @property
    def bulk(self) -> int:
        """How many packages one :meth:`dequeue` takes at most: ``Q_CLUSTER['bulk']``
        (1 when unset). The cluster's pusher sets it once to all it may hold (``queue_limit``,
        within ``bulk`` if set); it dequeues only once it has handed out what it held, so a
        broker that honours it fills the cluster in one round trip."""
        return getattr(self, "_bulk", None) or max(int(self.conf.bulk or 1), 1)

    @bulk.setter
    def bulk(self, value: int | None) -> None:
        self._bulk = value

    def dequeue(self) -> list[Delivery] | None:
        """Take up to :attr:`bulk` packages; a list of ``(ack_id, package)`` or ``None``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement dequeue()")

    def acknowledge(self, task_id: Any) -> None:
        """The package was processed and its result saved; forget it."""

    def acknowledge_many(self, task_ids: Iterable[Any]) -> None:
        for task_id in task_ids:
            self.acknowledge(task_id)

    def acknowledges_in(self, using: str) -> bool:
        """Whether :meth:`acknowledge_many` and :meth:`fail` may run inside a Django
        transaction on database ``using`` and take effect only with its commit. The
        monitor then saves a batch's results and acknowledges them in one transaction
        (the ORM broker on the results' own database)."""
        return False

    def fail(self, task_id: Any) -> None:
        """The package could not be processed by this cluster (e.g. it did not unpack)."""
        self.delete(task_id)

    def delete(self, task_id: Any) -> None:
        """Remove this package from the queue."""

    def purge_queue(self) -> None:
        """Empty the queue."""

    def delete_queue(self) -> None:
        """Remove the queue itself from the broker."""

    def queue_size(self) -> int:
        """Packages waiting in the queue (not those being processed)."""
        return 0

    def lock_size(self) -> int | None:
        """Packages taken but not yet acknowledged (``None`` if not tracked)."""
        return None

    def ping(self) -> bool:
        """``True`` if the broker can be reached."""
        return True

    def info(self) -> str:
        """Name and version of the broker."""
        return type(self).__name__

    # -- connection handling ------------------------------------------------------------------
    def get_connection(self, list_key: str | None = None) -> Any:
        return None

    def close(self) -> None:
        """Release the connection; the broker may be used again after (it reconnects)."""

    def __enter__(self) -> Broker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} queue={self.list_key!r}>"
