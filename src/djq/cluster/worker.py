"""The worker process: run the tasks the sentinel hands it, one at a time.

Protocol over the worker's private duplex pipe (no lock shared with any other worker):

* sentinel -> worker: a package dict to run, or ``None`` (the poison pill: stop).
* worker -> sentinel: the executed package (``success``, ``result``, ``stopped`` set).

Before running a task the worker publishes its deadline (``time.monotonic()`` seconds,
``0`` for none) in shared memory; the sentinel kills it when the deadline passes.
It leaves by itself after ``recycle`` tasks or when its RSS passes ``max_rss`` (KiB);
the sentinel then starts a fresh one in its place.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from multiprocessing import current_process

from djq.cluster.affinity import apply_affinity
from djq.cluster.context import bootstrap

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


RETIRING = b"retiring"  # sent just before a recycling worker's last result


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


def worker(conn, deadline, slot: int) -> None:
    """Process target. ``deadline`` is a shared double; ``slot`` the 1-based pool index."""
    bootstrap()
    from django.db import close_old_connections

    from djq.conf import conf
    from djq.execution import format_error, run_package

    name = current_process().name
    apply_affinity(slot, conf.cpu_affinity)
    logger.info("%s ready for work at %s", name, os.getpid())
    done = 0
    while True:
        try:
            package = conn.recv()
        except (EOFError, OSError):
            break  # the sentinel is gone
        if package is None:
            break
        timeout = package.get("timeout") or conf.timeout
        deadline.value = time.monotonic() + timeout if timeout else 0.0
        run_package(package)
        deadline.value = 0.0
        close_old_connections()
        try:
            data = pickle.dumps(package, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a result that cannot travel becomes a failure
            package["result"] = f"The task's result cannot be pickled: {format_error(exc)}"
            package["success"] = False
            data = pickle.dumps(package, pickle.HIGHEST_PROTOCOL)
        done += 1
        leaving = retire_reason(done, conf, name)
        try:
            if leaving:
                # Say so before the result: the sentinel must not hand this worker
                # another task in the moment between its last result and its exit.
                conn.send_bytes(RETIRING)
            conn.send_bytes(data)
        except (BrokenPipeError, OSError):
            break
        if leaving:
            return
    logger.info("%s stopped doing work", name)
