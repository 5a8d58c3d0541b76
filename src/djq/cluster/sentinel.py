"""The sentinel: starts the pool and guards it, then runs the stop procedure.

It is not on the way of any task: the pusher hands tasks to workers and workers send
results to the monitor themselves (:mod:`djq.cluster.pool`). The sentinel's loop
(``multiprocessing.connection.wait``) watches every process's exit, the pusher's records
(failures recorded without running, forwarded to the monitor) and its wake pipe
(:mod:`djq.cluster.wake`). A process that exits is replaced at once (counted as a
reincarnation), and the pusher hears of a worker's exit with the worker's final counts,
so it can record the task that was running and hand on the rest.

While workers run tasks with a deadline it checks deadlines every ``guard_cycle`` (and
when the earliest one passes): an overdue worker is killed and its task recorded as a
timeout failure. It writes the cluster's Stat and runs the scheduler's call site; an idle
cluster has no deadline to check, so it guards only to refresh its Stat (when a third of
its life has passed) and when a schedule comes due. The stop procedure is the spec's: stop
the pusher (it hands out what it holds, waits for the workers to finish it and closes
their task pipes), let the workers leave, poison the monitor once they are gone, wait
for it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from multiprocessing import current_process, parent_process
from multiprocessing.connection import wait

from djq.cluster.context import before_fork, bootstrap, pool_context
from djq.cluster.interrupt import blocked, interrupt
from djq.cluster.outbox import unpack_results
from djq.cluster.outlet import STOP
from djq.cluster.pool import Pool, WorkerSlot
from djq.cluster.scheduling import run_scheduler
from djq.status import IDLE, STARTING, STOPPED, STOPPING, WORKING, Stat, expiry, idle_expiry

logger = logging.getLogger("djq")


def sentinel(cluster_id: int, tob: float, start_event, stop_event, force_event) -> None:
    """Process target (started with ``spawn`` by :class:`djq.cluster.Cluster`)."""
    bootstrap("sentinel")

    def on_signal(_signum, _frame) -> None:
        # SIGTERM to the sentinel alone, or to the whole group (then the main process
        # got it too: forcing is left to the main process's second signal).
        stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    Sentinel(cluster_id, tob, start_event, stop_event, force_event).run()


class Sentinel:
    def __init__(self, cluster_id, tob, start_event, stop_event, force_event,
                 announce: bool = False) -> None:
        from djq.conf import conf

        self.conf = conf
        self.cluster_id, self.tob = cluster_id, tob
        self.start_event, self.stop_event, self.force_event = start_event, stop_event, force_event
        self.name = current_process().name
        self.announce = announce  # log "running" (in the main process: nobody else does)
        self.status = STARTING
        self.reincarnations = 0
        self.next_guard = self.next_schedule = 0.0
        self.parent = parent_process()

    # -- life -----------------------------------------------------------------------------
    def run(self) -> None:
        with blocked():  # children inherit it blocked (see djq.cluster.interrupt)
            self._run()

    def _run(self) -> None:
        conf = self.conf
        pool = self.pool = Pool(pool_context(), conf.workers)
        for w in pool.workers:
            pool.start_worker(self.ctx(), w, conf.daemonize_workers)
        pool.start_monitor(self.ctx())
        logger.info("%s guarding cluster at %s", self.name, os.getpid())
        pool.start_pusher(self.ctx())
        self.status = IDLE
        self.write_stat()
        self.start_event.set()
        if self.announce:
            logger.info("Q Cluster-%s running.", self.cluster_id)
        try:
            while not self.should_stop():
                self.step()
            if not self.force_event.is_set():
                self.stop()
        finally:
            if self.force_event.is_set():
                self.force_stop()
            pool.close()
            self.start_event.clear()

    @staticmethod
    def ctx():
        """The context for the next pool process, its connections closed if it forks."""
        ctx = pool_context()
        before_fork(ctx)
        return ctx

    def should_stop(self) -> bool:
        parent_gone = self.parent is not None and not self.parent.is_alive()
        return self.stop_event.is_set() or self.force_event.is_set() or parent_gone

    # -- one turn of the loop ---------------------------------------------------------------
    def step(self, timeout: float | None = None) -> None:
        pool = self.pool
        if timeout is None:
            timeout = max(0.0, self.next_guard - time.monotonic())
        if pool.outlet.waiting and not pool.outlet.flush():
            timeout = min(timeout, 0.005)  # the monitor's pipe is full: try again soon
        pusher = pool.pusher
        objects = [w.process.sentinel for w in pool.workers if w.process is not None]
        objects += [pool.monitor.sentinel, pool.wake.reader]
        if not self.pusher_done:
            objects += [pusher.process.sentinel, pusher.records]
        ready = set(wait(objects, timeout))
        if pool.wake.reader in ready:
            pool.wake.drain()
            self.next_guard = 0.0  # a worker began a task due sooner than the next check
        if not self.pusher_done and pusher.records in ready:
            self.forward_records()
        if not self.pusher_done and pusher.process.sentinel in ready:
            self.pusher_exited()  # first: workers it leaves are announced to its successor
        for w in pool.workers:
            if w.process is not None and w.process.sentinel in ready:
                self.worker_exited(w)
        if pool.monitor.sentinel in ready:
            self.monitor_died()
        if time.monotonic() >= self.next_guard:
            self.guard()

    pusher_done = False  # the pusher left as the stop procedure asked
    last_stat: tuple | None = None  # what write_stat() last published, and when
    last_stat_at = 0.0
    last_ttl = 3.0

    def forward_records(self) -> None:
        """Failures the pusher recorded (dead workers, max_attempts) go to the monitor."""
        records = self.pool.pusher.records
        while records.poll(0):
            try:
                data = records.recv_bytes()
            except (EOFError, OSError):
                return  # the pusher is gone; its exit is handled by pusher_exited
            count, blob = unpack_results(data)
            self.pool.outlet.send(blob, count)

    # -- guarding ---------------------------------------------------------------------------
    def guard(self) -> None:
        now = time.monotonic()
        table = self.pool.table
        for w in self.pool.workers:
            deadline = table.slot(w.slot).deadline
            if deadline and now > deadline and w.process is not None and w.process.is_alive():
                self.time_out(w)
        for w in self.pool.workers:
            if w.process is not None and not w.process.is_alive():
                self.worker_exited(w)
        if self.conf.scheduler and now >= self.next_schedule and self.status != STOPPING:
            self.next_schedule = time.monotonic() + run_scheduler()  # sooner if one is due
        self.write_stat()
        cycle = float(self.conf.guard_cycle)
        if self.busy():
            self.next_guard = now + cycle
        else:
            # Idle: no deadline to watch, and every exit or message wakes the loop anyway.
            # Guard again when the Stat needs refreshing or a schedule comes due.
            refresh = now + max(cycle, self.last_ttl / 3)
            self.next_guard = max(now + cycle, min(refresh, self.next_schedule)
                                  if self.conf.scheduler else refresh)
        deadlines = [d for d in (table.slot(w.slot).deadline for w in self.pool.workers)
                     if d > now]
        if deadlines:  # check again right when the earliest deadline passes
            self.next_guard = min(self.next_guard, min(deadlines) + 0.001)
        table.wake_at = self.next_guard

    def busy(self) -> bool:
        if self.status == STOPPING:
            return True
        return any(row.deadline or row.started > row.finished
                   for row in self.pool.table.slots())

    def time_out(self, w: WorkerSlot) -> None:
        logger.error("%s passed its task's deadline; terminating it (the pusher records "
                     "the timeout)", w.process.name)
        w.process.kill()
        w.process.join(5)
        w.timed_out = True
        self.worker_exited(w)

    def worker_exited(self, w: WorkerSlot) -> None:
        if w.process is None or w.process.is_alive():
            return
        w.process.join()
        pool = self.pool
        code = w.process.exitcode
        row = pool.table.slot(w.slot)
        if not self.pusher_done:
            # The pusher sorts out what the worker held: the task it was running becomes a
            # recorded failure (or a notice), those it never began go to other workers.
            pool.to_pusher.send(("gone", w.slot, int(row.started), int(row.finished), code,
                                 w.timed_out))
        if self.status == STOPPING and code == 0 and not row.retiring and not w.timed_out:
            w.retired = True  # its task pipe ended: the pusher is done, as asked
        if w.retired:
            w.process = None  # left as the stop procedure asked
            return
        reason = ("timeout" if w.timed_out else "recycle" if code == 0 and row.retiring
                  else "the end of its task pipe" if code == 0 else "sudden death")
        pool.start_worker(self.ctx(), w, self.conf.daemonize_workers)
        self.reincarnations += 1
        self.next_guard = 0.0  # publish the new pids and count now
        # A recycle is routine; a timeout or a death is worth a warning.
        level = logging.INFO if reason == "recycle" else logging.WARNING
        logger.log(level, "reincarnated worker %s after %s", w.process.name, reason)

    def pusher_exited(self) -> None:
        pool = self.pool
        pool.pusher.process.join()
        self.forward_records()  # what it sent before it left
        if self.status == STOPPING and pool.pusher.stop.is_set():
            self.pusher_done = True  # done as asked: the workers' task pipes are closed
            for w in pool.workers:
                w.retired = True
            return
        pool.start_pusher(self.ctx())
        self.reincarnations += 1
        self.next_guard = 0.0
        logger.error("reincarnated pusher %s after sudden death", pool.pusher.process.name)

    def monitor_died(self) -> None:
        """Results still on their way to it are lost; with receipts their tasks come back.
        Each worker leaves at its next batch (its results pipe went with the monitor)."""
        pool = self.pool
        pool.monitor.join()
        pool.outlet.close()
        if self.status == STOPPED:
            return
        pool.start_monitor(self.ctx())
        self.reincarnations += 1
        self.next_guard = 0.0
        logger.error("reincarnated monitor %s after sudden death", pool.monitor.name)

    # -- stopping ---------------------------------------------------------------------------
    def stop(self) -> None:
        """The spec's stop procedure; guarding (timeouts, reincarnation) goes on meanwhile."""
        logger.info("%s stopping cluster processes", self.name)
        self.status = STOPPING
        self.write_stat()
        pool = self.pool
        pool.pusher.stop.set()
        interrupt(pool.pusher.process.pid)  # it may be waiting for work for a while
        while not self.pusher_done and not self.force_event.is_set():
            self.step()  # it hands out what it holds, then waits for the workers
        while not self.force_event.is_set() and any(
                w.process is not None for w in pool.workers):
            self.step()  # they finish and leave
        if self.force_event.is_set():
            return
        pool.outlet.send(STOP, 0)
        while pool.monitor.is_alive() and not self.force_event.is_set():
            pool.outlet.flush()
            pool.monitor.join(0.005 if pool.outlet.waiting else 0.2)
        pool.outlet.close()
        self.status = STOPPED
        self.write_stat()

    def force_stop(self) -> None:
        """A second signal: kill everything now. Unacknowledged work comes back from a
        receipt broker after ``retry``; results not yet saved are lost (and redone)."""
        logger.warning("%s forced to stop: killing cluster processes", self.name)
        pool = self.pool
        for process in [w.process for w in pool.workers] + [pool.pusher.process,
                                                             pool.monitor]:
            if process is not None and process.is_alive():
                process.kill()
        pool.outlet.close()
        self.status = STOPPED
        self.write_stat()

    # -- stats --------------------------------------------------------------------------------
    def write_stat(self) -> None:
        pool = self.pool
        status = self.status
        table = pool.table
        busy = any(row.started > row.finished for row in table.slots())
        task_q = int(table.pending)
        if status == IDLE and (busy or task_q):
            status = WORKING
        done_q = table.in_transit() + pool.outlet.in_transit()
        workers = [w.process.pid for w in pool.workers if w.process is not None]
        state = (status, pool.pusher.process.pid, pool.monitor.pid, tuple(workers),
                 self.reincarnations, task_q, done_q)
        now = time.monotonic()
        # An unchanged Stat is rewritten only when a third of its life has passed: a
        # working cluster's about once a second, an idle one's every ~3 s (idle_expiry).
        if state == self.last_stat and now - self.last_stat_at < 0.9 * self.last_ttl / 3:
            return
        ttl = idle_expiry(self.conf) if status == IDLE else expiry(self.conf)
        stat = Stat(
            cluster_id=self.cluster_id, host=socket.gethostname(), name=self.conf.name,
            sentinel=os.getpid(), pusher=pool.pusher.process.pid, monitor=pool.monitor.pid,
            workers=workers, status=status, reincarnations=self.reincarnations,
            tob=self.tob, task_q_size=task_q, done_q_size=done_q,
            queue_limit=self.conf.queue_limit)
        try:
            stat.save(self.conf, ttl)
            self.last_stat, self.last_stat_at, self.last_ttl = state, now, ttl
        except Exception as exc:  # monitoring must never take the cluster down
            logger.warning("Could not write the cluster's Stat: %r", exc)
