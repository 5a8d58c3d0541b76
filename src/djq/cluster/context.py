"""Multiprocessing start methods, and what every cluster process does first.

Two explicit contexts, never the platform default (``fork`` from a process that may run
threads is unsafe and warns on Python 3.12+):

* ``Cluster.start()`` starts the **sentinel** with ``spawn``: a fresh interpreter that takes
  the caller's environment and ``sys.path`` *at start time*, so a cluster started from a
  long-lived process (a test run, an embedding application) sees the current settings
  module. ``manage.py qcluster`` (``Cluster.run()``) runs the sentinel in its own process
  instead: one interpreter fewer.
* The sentinel starts its **pool** (workers, pusher, monitor) with ``forkserver``,
  preloading :mod:`djq.cluster.preload`, which runs ``django.setup()`` once in the fork
  server. Every worker forks from that warmed-up, single-threaded process: reincarnation
  is fast and Django's and the project's modules share memory pages between workers.
  The fork server is the sentinel's own child, started from the sentinel's environment.
"""

from __future__ import annotations

import multiprocessing
import signal
from typing import Any

PRELOAD = ["djq.cluster.preload"]

_pool_context = None


def sentinel_context() -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context("spawn")


def pool_context() -> multiprocessing.context.BaseContext:
    global _pool_context
    if _pool_context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _pool_context = ctx
    return _pool_context


def bootstrap() -> None:
    """First thing in every cluster process: Django ready, logging set, SIGINT and
    SIGTERM ignored.

    ctrl-c sends SIGINT to the whole process group, and process managers (systemd's
    default ``KillMode``, ``timeout``) send SIGTERM to all of it. Only the main process
    and the sentinel act on them (by starting the stop procedure), so a worker is never
    interrupted mid-task and the pusher and monitor finish their part of the stop.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    import django

    django.setup()
    from djq.logs import configure_logging

    configure_logging()


def name_process(process: Any) -> Any:
    """The spec's process names (``Process-1``, ``Process-1:3``) whatever the context's
    class calls them (``SpawnProcess-1``, ``ForkServerProcess-1:3``)."""
    process.name = "Process-" + process.name.rsplit("-", 1)[-1]
    return process
