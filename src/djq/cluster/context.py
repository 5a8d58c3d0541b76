"""Multiprocessing start methods, and what every cluster process does first.

Two explicit contexts, never the platform default:

* ``Cluster.start()`` starts the **sentinel** with ``spawn``: a fresh interpreter that takes
  the caller's environment and ``sys.path`` *at start time*, so a cluster started from a
  long-lived process (a test run, an embedding application) sees the current settings
  module. ``manage.py qcluster`` (``Cluster.run()``) runs the sentinel in its own process
  instead: one interpreter fewer.
* The sentinel starts its **pool** (workers, pusher, monitor) with ``fork`` whenever that is
  safe: on a platform that has it, and while the sentinel runs no thread but its main one
  (``fork`` from a threaded process can copy a lock some other thread holds, which is why
  Python 3.12+ warns about it). The sentinel keeps itself thread-free for this (results
  go to the monitor through pipes, see :mod:`djq.cluster.outlet` and
  :mod:`djq.cluster.inbox`, not a queue with a feeder thread). Before each fork it closes
  its database and cache connections (a child must never share a socket with it) and
  freezes its heap (:func:`gc.freeze`), so every pool process shares Django's and the
  project's pages with the sentinel: one interpreter's worth of memory for the whole
  cluster, and a reincarnation costs no import.
* Otherwise (a project that starts threads at import, e.g. an SDK's background sender in
  the settings; a platform without ``fork``) the pool comes from a ``forkserver``
  preloaded with :mod:`djq.cluster.preload` (and named by :mod:`djq.cluster.forkserver`):
  one more interpreter, the same sharing between pool processes.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import threading
from typing import Any

from djq.cluster.prctl import name_for

PRELOAD = ["djq.cluster.forkserver", "djq.cluster.preload"]

_pool_context = None


def sentinel_context() -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context("spawn")


def pool_context() -> multiprocessing.context.BaseContext:
    """``fork`` when it is safe now, else the preloaded ``forkserver`` (see above).
    Asked before each start: the objects a process gets (pipes, shared values) must come
    from the context that starts it."""
    global _pool_context
    if forks_safely():
        return multiprocessing.get_context("fork")
    if _pool_context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _pool_context = ctx
    return _pool_context


def forks_safely() -> bool:
    return ("fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


def before_fork(ctx) -> None:
    """What the sentinel does before it forks a pool process (nothing for the forkserver).

    Connections are closed here, in the parent: a child closing an inherited PostgreSQL
    connection would send the server a goodbye for the parent's session. Each side opens
    its own again when it next needs one."""
    if ctx.get_start_method() != "fork":
        return
    from django.core.cache import caches
    from django.db import connections

    import djq.cluster.preload  # noqa: F401 (once: what every pool process imports)

    connections.close_all()
    caches.close_all()
    gc.freeze()  # a collection in a child would otherwise copy every object it touches


def bootstrap(role: str) -> None:
    """First thing in every cluster process: named after its ``role`` for the OS
    (:mod:`djq.cluster.prctl`), Django ready, logging set, SIGINT and SIGTERM ignored.

    ctrl-c sends SIGINT to the whole process group, and process managers (systemd's
    default ``KillMode``, ``timeout``) send SIGTERM to all of it. Only the main process
    and the sentinel act on them (by starting the stop procedure), so a worker is never
    interrupted mid-task and the pusher and monitor finish their part of the stop.
    """
    name_for(role)
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
