"""The pusher process: broker -> verify -> the sentinel's task channel.

Each dequeue goes to the sentinel as one channel message (a list): ``("task", parcel)``
to run, where a :class:`~djq.cluster.parcel.Parcel` is the verified, still-serialized
package (workers deserialize it), or ``("result", package)`` for a failure recorded
without running (delivery over ``max_attempts``), which the sentinel forwards to the
monitor. A package whose signature does not verify is never unpacked nor executed: it is
failed on the broker and logged with its broker id.
"""

from __future__ import annotations

import logging
import os
from multiprocessing import current_process, parent_process

from djq.cluster import failures
from djq.cluster.context import bootstrap

logger = logging.getLogger("djq")


def _split(delivery) -> tuple:
    """A :class:`djq.brokers.Delivery` or a custom broker's plain ``(ack_id, package)``."""
    if len(delivery) >= 3:
        return delivery[0], delivery[1], delivery[2]
    return delivery[0], delivery[1], None


def unpack(delivery, broker, conf) -> tuple | None:
    """One delivery -> a channel item, or ``None`` if it was dropped (bad signature)."""
    from djq import signing
    from djq.cluster.parcel import Parcel, package_of
    from djq.errors import BadSignature

    ack_id, signed, attempt = _split(delivery)
    attempt = attempt or 1
    try:
        header, body = signing.verify(signed, conf)
    except BadSignature as exc:
        logger.error("Failed to verify task package %s from the broker, discarded: %s",
                     ack_id, exc)
        try:
            broker.fail(ack_id)
        except Exception as fail_exc:
            logger.error("Could not fail package %s on the broker: %r", ack_id, fail_exc)
        return None
    parcel = Parcel(ack_id, attempt, header, body)
    if conf.max_attempts and attempt > conf.max_attempts:
        logger.error("Task %s (%s) reached max_attempts (%s); not executed again",
                     header.get("name"), header.get("id"), conf.max_attempts)
        package = package_of(parcel, conf)
        if package.get("broker_fail"):  # unreadable as well: failed, not acknowledged
            return "result", package
        return "result", failures.max_attempts_reached(package, attempt, conf.max_attempts)
    return "task", parcel


BACKOFF_CAP = 10.0


def backoff(failures: int, poll: float) -> float:
    """Seconds to wait after ``failures`` dequeue errors in a row: from ``max(poll, 0.5)``
    doubling up to :data:`BACKOFF_CAP`, so a broker outage is neither hammered nor
    noticed late once it is over."""
    return min(BACKOFF_CAP, max(poll, 0.5) * 2 ** min(failures - 1, 16))


def prefetch_limit(conf, broker) -> int:
    """Most packages one dequeue may take: ``bulk`` if set (djq's default leaves it unset:
    as many as ``queue_limit`` has room for), within the broker's ``max_bulk``."""
    most = int(conf.bulk or conf.queue_limit or 1)
    max_bulk = getattr(broker.capabilities, "max_bulk", None)
    return max(1, min(most, max_bulk) if max_bulk else most)


def pusher(channel, stop_event) -> None:
    """Process target: dequeue until ``stop_event``, then hand over what is in hand."""
    bootstrap()
    from django.db import close_old_connections

    from djq.brokers import get_broker
    from djq.conf import conf

    name = current_process().name
    parent = parent_process()
    alive = parent.is_alive if parent is not None else (lambda: True)
    broker = get_broker()
    logger.info("%s pushing tasks at %s", name, os.getpid())
    blocking = bool(getattr(broker.capabilities, "blocking", False))
    most = prefetch_limit(conf, broker)
    failed = 0  # dequeue errors in a row
    while not stop_event.is_set() and alive():
        room = channel.room(most, stop_event, alive)
        if not room:
            continue
        broker.bulk = room
        try:
            deliveries = broker.dequeue()
        except Exception as exc:
            # The broker is away (e.g. its server restarts): log, back off (capped), retry.
            # Nothing is lost: what was taken and not handed over comes back after retry.
            failed += 1
            delay = backoff(failed, float(conf.poll))
            log = logger.error if failed == 1 else logger.warning
            log("%s could not dequeue from %s (failure %s): %r; retrying in %.1fs", name,
                broker, failed, exc, delay)
            close_old_connections()
            stop_event.wait(delay)
            continue
        if failed:
            logger.info("%s dequeues from %s again after %s failure(s)", name, broker,
                        failed)
            failed = 0
        if not deliveries:
            if not blocking:
                stop_event.wait(float(conf.poll))
            continue
        items = [item for item in (unpack(d, broker, conf) for d in deliveries) if item]
        # What is not handed over stays unacknowledged: the broker redelivers it.
        if items and not channel.put_many(items, alive=alive):
            break
    broker.close()
    logger.info("%s stopped pushing tasks", name)
