"""The worker process: run the tasks the sentinel hands it, in batches, one at a time.

Protocol over the worker's private duplex pipe (no lock shared with any other worker):

* sentinel -> worker: a pickled list of :class:`~djq.cluster.parcel.Parcel` to run in
  order, or pickled ``None`` (the poison pill: stop).
* worker -> sentinel: executed packages (``success``, ``result``, ``stopped`` set), in the
  order they ran, several to a message, or ``RETIRING`` (see :mod:`djq.cluster.outbox`).

Results go back when the batch is done, and sooner when a finished result has waited
``FLUSH_AFTER`` seconds (a long task does not hold back its batch-mates' results).
Before running each task the worker counts it in ``started`` and publishes its deadline
(``time.monotonic()`` seconds, ``0`` for none) in shared memory: the sentinel kills it
when the deadline passes and, from ``started``, knows which task of the batch was running.
It leaves by itself after ``recycle`` tasks or when its RSS passes ``max_rss`` (KiB); the
sentinel then starts a fresh one in its place and hands the rest of its batch to others.
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

logger = logging.getLogger("djq")

PILL = pickle.dumps(None)  # the poison pill: stop


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


def run_parcel(parcel, conf, deadline) -> dict:
    """Deserialize and run one parcel; an unreadable body is a recorded failure."""
    from djq.cluster.parcel import open_parcel, unreadable
    from djq.execution import run_package
    from djq.signing import UnreadablePackage

    try:
        package = open_parcel(parcel, conf)
    except UnreadablePackage as exc:
        return unreadable(parcel, exc)
    timeout = package.get("timeout") or conf.timeout
    deadline.value = time.monotonic() + timeout if timeout else 0.0
    run_package(package)
    deadline.value = 0.0
    return package


def worker(conn, deadline, started, slot: int) -> None:
    """Process target. ``deadline`` is a shared double, ``started`` a shared counter of
    tasks begun; ``slot`` the 1-based pool index."""
    bootstrap()
    from django.db import close_old_connections

    from djq.conf import conf

    name = current_process().name
    apply_affinity(slot, conf.cpu_affinity)
    logger.info("%s ready for work at %s", name, os.getpid())
    done = 0
    outbox = Outbox(conn)
    while True:
        try:
            batch = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            break  # the sentinel is gone
        if batch is None:
            break
        for index, parcel in enumerate(batch):
            started.value += 1
            outbox.add(run_parcel(parcel, conf, deadline))
            close_old_connections()
            done += 1
            leaving = retire_reason(done, conf, name)
            if (leaving or index == len(batch) - 1) and not outbox.flush(bool(leaving)):
                return
            if leaving:
                return  # the sentinel hands the rest of the batch to other workers
    logger.info("%s stopped doing work", name)
