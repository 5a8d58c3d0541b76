"""The pusher process: broker -> verify -> a free worker.

It dequeues up to ``queue_limit`` packages (all it may hold), checks each signature and
hands the verified, still-serialized packages (:class:`~djq.cluster.parcel.Parcel`;
workers deserialize them) straight to free workers (:mod:`djq.cluster.dispatch`). It
holds at most ``queue_limit`` tasks that no worker has yet, and dequeues again only once
it has handed out all it holds. A package whose signature does not verify is never
unpacked nor executed: it is failed on the broker and logged with its broker id. A
delivery over ``max_attempts`` is recorded as a failure without running, and goes to the
monitor through the sentinel like the failures the pusher records for dead workers.

On stop it dequeues no more, hands out what it holds, waits until the workers finished
it all, and closes their task pipes: for a worker, the end.
"""

from __future__ import annotations

import logging
import os
import time
from multiprocessing import current_process, parent_process

from djq import signing
from djq.cluster import failures
from djq.cluster.context import bootstrap
from djq.cluster.interrupt import IDLE_WAIT, Interrupted, Interruptible
from djq.cluster.parcel import Parcel, package_of
from djq.errors import BadSignature

logger = logging.getLogger("djq")


def _split(delivery) -> tuple:
    """A :class:`djq.brokers.Delivery` or a custom broker's plain ``(ack_id, package)``."""
    if len(delivery) >= 3:
        return delivery[0], delivery[1], delivery[2]
    return delivery[0], delivery[1], None


def unpack(delivery, broker, conf, signer=None) -> tuple | None:
    """One delivery -> ``("task", parcel)`` to run, ``("result", package)`` recorded
    without running (over ``max_attempts``), or ``None`` if it was dropped (bad
    signature). ``signer``: :func:`djq.signing.signer_for`, once per batch."""
    ack_id, signed, attempt = _split(delivery)
    attempt = attempt or 1
    try:
        payload = signing.verified(signed, conf, signer)
    except BadSignature as exc:
        logger.error("Failed to verify task package %s from the broker, discarded: %s",
                     ack_id, exc)
        try:
            broker.fail(ack_id)
        except Exception as fail_exc:
            logger.error("Could not fail package %s on the broker: %r", ack_id, fail_exc)
        return None
    parcel = Parcel(ack_id, attempt, payload)
    if conf.max_attempts and attempt > conf.max_attempts:
        header = parcel.header
        logger.error("Task %s (%s) reached max_attempts (%s); not executed again",
                     header.get("name"), header.get("id"), conf.max_attempts)
        package = package_of(parcel, conf)
        if package.get("broker_fail"):  # unreadable as well: failed, not acknowledged
            return "result", package
        return "result", failures.max_attempts_reached(package, attempt, conf.max_attempts)
    return "task", parcel


BACKOFF_CAP = 10.0
LINGER = 0.001  # seconds before a dequeue that follows a partly filled one
BUSY_WAIT = 1.0  # the longest wait for work while a worker holds some
PARENT_CHECK = 0.2  # seconds between checks that the sentinel still lives


class ParentWatch:
    """A cheap ``alive()`` for a loop that runs per batch: ``parent.is_alive()`` builds a
    selector on every call, so it is asked at most every ``every`` seconds (or now, after
    :meth:`refresh`)."""

    def __init__(self, parent, every: float = PARENT_CHECK) -> None:
        self.parent, self.every = parent, every
        self.checked, self.alive = 0.0, True

    def __call__(self) -> bool:
        now = time.monotonic()
        if self.parent is not None and now - self.checked >= self.every:
            self.checked, self.alive = now, self.parent.is_alive()
        return self.alive

    def refresh(self) -> None:
        self.checked = 0.0


def backoff(failures: int, poll: float) -> float:
    """Seconds to wait after ``failures`` dequeue errors in a row: from ``max(poll, 0.5)``
    doubling up to :data:`BACKOFF_CAP`, so a broker outage is neither hammered nor
    noticed late once it is over."""
    return min(BACKOFF_CAP, max(poll, 0.5) * 2 ** min(failures - 1, 16))


def prefetch_limit(conf, broker) -> int:
    """Most packages one dequeue may take: ``bulk`` if set (djq's default leaves it unset),
    never more than ``queue_limit`` (all the pusher may hold), within the broker's
    ``max_bulk``."""
    most = min(int(conf.bulk or conf.queue_limit or 1), int(conf.queue_limit or 1))
    max_bulk = getattr(broker.capabilities, "max_bulk", None)
    return max(1, min(most, max_bulk) if max_bulk else most)


def pusher(control, records, table, stop_event, close=()) -> None:
    """Process target: ``control`` (the sentinel's notes), ``records`` (a pipe to the
    sentinel), ``table`` (:class:`~djq.cluster.slots.SlotTable`); ``close``: inherited
    descriptors of other processes."""
    for conn in close:
        conn.close()
    control.receiver()
    bootstrap("pusher")
    from django.db import close_old_connections

    from djq.brokers import get_broker
    from djq.cluster.dispatch import Dispatcher
    from djq.conf import conf

    name = current_process().name
    alive = ParentWatch(parent_process())
    broker = get_broker()
    interruptible = Interruptible()
    long_waits = interruptible.install()  # the sentinel can cut a wait short to stop
    logger.info("%s pushing tasks at %s", name, os.getpid())
    blocking = bool(getattr(broker.capabilities, "blocking", False))
    receipts = bool(getattr(broker.capabilities, "receipts", False))
    hands = Dispatcher(control, records, table, conf, receipts)
    most = broker.bulk = prefetch_limit(conf, broker)
    failed = 0  # dequeue errors in a row
    last = 0  # packages the last dequeue returned
    while alive():
        hands.notes()
        hands.dispatch()
        if stop_event.is_set():
            if hands.drained:
                break
            hands.wait(0.1)
            continue
        if hands.pending:  # nothing more until a worker is free
            hands.wait(0.5)
            continue
        if 0 < last < most:
            # Tasks are coming in, fewer than a full dequeue at a time: give the next ones
            # a moment to gather, so one dequeue, one handoff and one save carry several.
            # At a low rate the next task is far off and this costs it nothing.
            time.sleep(LINGER)
        # Wait long only while no worker holds work: a worker that leaves mid-batch hands
        # its unbegun tasks back through a note that is read between dequeues.
        broker.max_wait = IDLE_WAIT if long_waits and not hands.busy else BUSY_WAIT
        try:
            with interruptible.waiting():
                deliveries = broker.dequeue()
        except Interrupted:  # told to stop, or the sentinel died: look again
            alive.refresh()
            continue
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
        last = len(deliveries or ())
        if not deliveries:
            if not blocking:
                stop_event.wait(float(conf.poll))
            continue
        signer = signing.signer_for(conf)
        for item in (unpack(d, broker, conf, signer) for d in deliveries):
            if item is None:
                continue
            kind, value = item
            if kind == "task":
                hands.pending.append(value)
            else:  # recorded without running (max_attempts): to the monitor
                hands.record(value)
    hands.close()  # the workers' end of work
    broker.close()
    logger.info("%s stopped pushing tasks", name)
