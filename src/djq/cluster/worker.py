"""The worker process: run the tasks the pusher hands it, in batches, one at a time.

Its pipes are its own (no lock shared with any other process):

* tasks, from the pusher: a pickled list of :class:`~djq.cluster.parcel.Parcel` to run
  in order. End of file means stop: the pusher closes the pipe once it is done (the stop
  procedure) or when it dies; either way the worker finishes its batch first.
* results, to the monitor: executed packages (``success``, ``result``, ``stopped`` set),
  in the order they ran, several to a message (see :mod:`djq.cluster.outbox`).
* ready, to the pusher: a byte after each batch, a wake-up for a pusher waiting for a
  free worker.

The worker counts what it does in its slot row (:mod:`djq.cluster.slots`), which the
sentinel and the pusher read: before each task ``started`` and the task's ``deadline``
(``time.monotonic()`` seconds, 0 for none; the sentinel kills it when that passes), after
sending results ``finished``. From those two the pusher knows, should the worker die,
which task of the batch was running and which never began. A deadline sooner than the
sentinel's next check wakes the sentinel (one byte into its wake pipe).

It leaves by itself after ``recycle`` tasks or when its RSS passes ``max_rss`` (KiB),
marking itself ``retiring`` first so the pusher hands it nothing more; the sentinel
starts a fresh one in its place and the pusher hands the rest of its batch to others.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from multiprocessing import current_process

from djq.cluster.affinity import apply_affinity
from djq.cluster.context import bootstrap
from djq.cluster.outbox import Outbox
from djq.cluster.parcel import open_parcel, unreadable
from djq.execution import run_package
from djq.signing import UnreadablePackage

logger = logging.getLogger("djq")


def rss_kib() -> int | None:
    try:
        import psutil

        return psutil.Process().memory_info().rss // 1024
    except Exception:
        try:
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        except Exception:
            return None


def retire_reason(done: int, conf, name: str) -> str | None:
    """Why this worker should leave now (``recycle`` reached, RSS over ``max_rss``)."""
    if conf.recycle and done >= conf.recycle:
        logger.info("%s recycling after %s tasks", name, done)
        return "recycle"
    rss = rss_kib() if conf.max_rss else None
    if rss is not None and rss > conf.max_rss:
        logger.info("%s recycling: rss %s KiB over max_rss %s", name, rss, conf.max_rss)
        return "max_rss"
    return None


def run_parcel(parcel, conf, slot, wake) -> dict:
    """Deserialize and run one parcel; an unreadable body is a recorded failure."""
    try:
        package = open_parcel(parcel, conf)
    except UnreadablePackage as exc:
        return unreadable(parcel, exc)
    timeout = package.get("timeout") or conf.timeout
    if timeout:
        deadline = slot.deadline = time.monotonic() + timeout
        if deadline < wake.due():
            wake.ring()  # the sentinel would check too late: have it look now
    else:
        slot.deadline = 0.0
    run_package(package)
    slot.deadline = 0.0
    return package


def worker(tasks, ready, results, wake, table, slot_number: int, close=()) -> None:
    """Process target: ``tasks`` / ``ready`` / ``results`` are this worker's pipe ends
    (see the module docstring), ``wake`` the sentinel's wake-up
    (:class:`~djq.cluster.wake.Wake`), ``table`` the :class:`~djq.cluster.slots.SlotTable`
    and ``slot_number`` its 1-based row; ``close``: inherited pipe ends of other processes
    (a fork copies every descriptor of the sentinel)."""
    for conn in close:
        conn.close()
    bootstrap("worker")
    from django.db import close_old_connections

    from djq.conf import conf

    name = current_process().name
    slot = table.slot(slot_number)
    apply_affinity(slot_number, conf.cpu_affinity)
    logger.info("%s ready for work at %s", name, os.getpid())
    done = 0
    outbox = Outbox(results, ready, slot)
    while True:
        try:
            batch = pickle.loads(tasks.recv_bytes())
        except (EOFError, OSError):
            break  # the pusher is done (the stop procedure) or gone
        if outbox.monitor_gone():
            logger.error("%s lost the monitor; leaving for a fresh start", name)
            return  # the pusher hands the batch to the next worker
        last = len(batch) - 1
        for index, parcel in enumerate(batch):
            slot.started += 1
            outbox.add(run_parcel(parcel, conf, slot, wake))
            close_old_connections()
            done += 1
            leaving = retire_reason(done, conf, name)
            if leaving:
                slot.retiring = 1  # before the results: the pusher must not send more
            if leaving or index == last:
                if not outbox.flush():
                    logger.error("%s lost the monitor; leaving for a fresh start", name)
                    return
            else:
                outbox.hold()
            if leaving:
                return  # the pusher hands the rest of the batch to other workers
    logger.info("%s stopped doing work", name)
