"""``Cluster``: the spec's API over a sentinel process.

``start()`` spawns the sentinel (which starts everything else) and returns once it is
running; ``stop()`` runs the stop procedure and waits for it. :meth:`Cluster.run` is what
``manage.py qcluster`` does: the sentinel in the calling process, until SIGTERM or SIGINT;
a second signal forces the exit.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from contextlib import contextmanager

from djq.cluster.context import name_process, sentinel_context
from djq.cluster.prctl import name_for, set_task_name, task_name
from djq.cluster.sentinel import Sentinel, sentinel
from djq.status import STARTING, STOPPED, STOPPING, Stat

logger = logging.getLogger("djq")


@contextmanager
def _named_as_sentinel():
    """The spec's names in the logs whichever process runs the sentinel: it is
    ``Process-1`` and its children ``Process-1:N``. multiprocessing derives a child's name
    from its parent's ``_identity`` (a private attribute, stable since Python 2.6). For
    the OS it is ``djq-sentinel`` meanwhile (:mod:`djq.cluster.prctl`)."""
    process = multiprocessing.current_process()
    saved = process.name, process._identity
    process.name, process._identity = "Process-1", (1,)
    os_name = task_name()
    name_for("sentinel")
    try:
        yield
    finally:
        process.name, process._identity = saved
        if os_name is not None:
            set_task_name(os_name)


class Cluster:
    def __init__(self, broker=None) -> None:
        """``broker`` is accepted for the spec's signature; the processes build their own
        broker connections from ``Q_CLUSTER``."""
        from djq.conf import conf

        self.conf = conf
        self.broker = broker
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self.timeout = conf.timeout
        # Events for a sentinel in this process (run()); start() replaces them with
        # events a spawned sentinel can share. A fork context's events need no
        # multiprocessing resource tracker (one more process, ~7 MB) to clean up after them.
        local = multiprocessing.get_context(
            "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        self.start_event, self.stop_event, self.force_event = (local.Event() for _ in "sfx")
        self.sentinel = None
        self.tob: float | None = None
        self._ctx = sentinel_context()

    # -- the spec's API -------------------------------------------------------------------
    def start(self, wait: float | None = 60.0) -> int:
        """Spawn the cluster; return its id once the sentinel reports it running."""
        self.tob = time.time()
        logger.info("Q Cluster-%s starting.", self.pid)
        self.start_event, self.stop_event, self.force_event = (
            self._ctx.Event() for _ in "sfx")
        self.sentinel = name_process(self._ctx.Process(
            target=sentinel, name=None, daemon=False,
            args=(self.pid, self.tob, self.start_event, self.stop_event, self.force_event)))
        self.sentinel.start()
        deadline = None if wait is None else time.monotonic() + wait
        while not self.start_event.wait(0.1):
            if not self.sentinel.is_alive():
                raise RuntimeError(f"Q Cluster-{self.pid} failed to start (sentinel exit "
                                   f"code {self.sentinel.exitcode}); see the log above.")
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"Q Cluster-{self.pid} did not start within {wait} s")
        logger.info("Q Cluster-%s running.", self.pid)
        return self.pid

    def stop(self) -> bool:
        """Run the stop procedure and wait for it; ``False`` if it was not running."""
        if self.sentinel is None or not self.sentinel.is_alive():
            return False
        if not self.stop_event.is_set():
            logger.info("Q Cluster-%s stopping.", self.pid)
            self.stop_event.set()
        self.sentinel.join()
        logger.info("Q Cluster-%s has stopped.", self.pid)
        return True

    def stat(self) -> Stat:
        """The cluster's current :class:`~djq.status.Stat` (a local one when the stat
        store has none, e.g. before the first guard cycle or after the stop)."""
        if self.sentinel is not None and self.sentinel.is_alive():
            stat = Stat.get(self.pid, conf=self.conf)
            if stat is not None:
                return stat
        status = (STOPPED if self.has_stopped else STOPPING if self.is_stopping
                  else STARTING)
        return Stat(cluster_id=self.pid, host=self.host, name=self.conf.name,
                    sentinel=self.sentinel.pid if self.sentinel else None, status=status,
                    tob=self.tob or time.time(), queue_limit=self.conf.queue_limit)

    @property
    def is_starting(self) -> bool:
        return (self.sentinel is not None and self.sentinel.is_alive()
                and not self.start_event.is_set() and not self.stop_event.is_set())

    @property
    def is_running(self) -> bool:
        return self.start_event.is_set() and not self.stop_event.is_set()

    @property
    def is_stopping(self) -> bool:
        return (self.stop_event.is_set() and self.sentinel is not None
                and self.sentinel.is_alive())

    @property
    def has_stopped(self) -> bool:
        return self.sentinel is not None and not self.sentinel.is_alive() and (
            self.stop_event.is_set() or not self.start_event.is_set())

    # -- the qcluster command ---------------------------------------------------------------
    def run(self) -> int:
        """Run until SIGTERM/SIGINT, then stop; a second signal forces the exit. Returns
        the exit code (0, or 1 if the sentinel failed).

        Unlike :meth:`start`, the sentinel runs in *this* process: ``manage.py qcluster``
        has nothing else to do meanwhile, and a spawned sentinel would be one more Python
        interpreter with Django imported (~55 MB). The pool forks from this process while
        it runs no other thread, and comes from a fork server otherwise
        (:func:`djq.cluster.context.pool_context`)."""
        signals = (signal.SIGTERM, signal.SIGINT)
        previous = {s: signal.getsignal(s) for s in signals}
        for sig in signals:
            signal.signal(sig, self._on_signal)
        self.tob = time.time()
        logger.info("Q Cluster-%s starting.", self.pid)
        try:
            with _named_as_sentinel():
                Sentinel(self.pid, self.tob, self.start_event, self.stop_event,
                         self.force_event, announce=True).run()
        except Exception:
            logger.exception("Q Cluster-%s sentinel failed", self.pid)
            return 1
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("Q Cluster-%s has stopped.", self.pid)
        return 0

    def _on_signal(self, signum, _frame) -> None:
        if not self.stop_event.is_set():
            logger.info("Q Cluster-%s stopping.", self.pid)
            self.stop_event.set()
        elif not self.force_event.is_set():
            logger.warning("Q Cluster-%s received %s again: forcing the stop.", self.pid,
                           signal.Signals(signum).name)
            self.force_event.set()
