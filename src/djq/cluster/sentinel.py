"""The sentinel: spawns the pool and guards it, then runs the stop procedure.

One event loop (``multiprocessing.connection.wait``) over the worker pipes, the pusher's
channel and every process's exit: results are forwarded to the monitor as they come, tasks
go to idle workers, a process that exits is replaced at once (counted as a
reincarnation). Every ``guard_cycle`` while work is in hand it checks deadlines (an overdue
worker is killed, its task recorded as a timeout failure), writes the cluster's Stat, and
runs the scheduler's call site; an idle cluster has no deadline to check, so it guards only
to refresh its Stat (when a third of its life has passed) and when a schedule comes due. The stop procedure is the spec's: stop the pusher, let the workers
empty the task queue, poison them, poison the monitor once they are gone, wait for it.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import time
from multiprocessing import current_process, parent_process
from multiprocessing.connection import wait

from djq.cluster import failures
from djq.cluster.context import before_fork, bootstrap, pool_context
from djq.cluster.parcel import package_of
from djq.cluster.pool import WorkerSlot, start_monitor, start_pusher, start_worker
from djq.cluster.scheduling import run_scheduler
from djq.cluster.outbox import RETIRING, unpack_results
from djq.cluster.outlet import STOP
from djq.cluster.worker import PILL
from djq.status import IDLE, STARTING, STOPPED, STOPPING, WORKING, Stat, expiry, idle_expiry

logger = logging.getLogger("djq")

MAX_BATCH = 64  # tasks handed to one worker at once


def sentinel(cluster_id: int, tob: float, start_event, stop_event, force_event) -> None:
    """Process target (started with ``spawn`` by :class:`djq.cluster.Cluster`)."""
    bootstrap()

    def on_signal(_signum, _frame) -> None:
        # SIGTERM to the sentinel alone, or to the whole group (then the main process
        # got it too: forcing is left to the main process's second signal).
        stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    Sentinel(cluster_id, tob, start_event, stop_event, force_event).run()


class Sentinel:
    def __init__(self, cluster_id, tob, start_event, stop_event, force_event,
                 announce: bool = False) -> None:
        from djq.brokers import broker_class
        from djq.conf import conf

        self.conf = conf
        self.cluster_id, self.tob = cluster_id, tob
        self.start_event, self.stop_event, self.force_event = start_event, stop_event, force_event
        self.name = current_process().name
        self.announce = announce  # log "running" (in the main process: nobody else does)
        self.receipts = bool(broker_class(conf).capabilities.receipts)
        self.status = STARTING
        self.reincarnations = 0
        self.next_guard = self.next_schedule = 0.0
        self.parent = parent_process()

    # -- life -----------------------------------------------------------------------------
    def run(self) -> None:
        conf = self.conf
        self.workers = [start_worker(self.ctx(), i + 1, conf.daemonize_workers)
                        for i in range(conf.workers)]
        self.monitor, self.outlet = start_monitor(self.ctx())
        logger.info("%s guarding cluster at %s", self.name, os.getpid())
        self.feed = start_pusher(self.ctx(), conf.queue_limit)
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
        now = time.monotonic()
        if timeout is None:
            timeout = max(0.0, self.next_guard - now)
        if self.outlet.waiting and not self.outlet.flush():
            timeout = min(timeout, 0.005)  # the monitor's pipe is full: try again soon
        feed = self.feed
        objects = [w.conn for w in self.workers if w.conn is not None]
        objects += [w.process.sentinel for w in self.workers if w.process is not None]
        objects.append(self.monitor.sentinel)
        if not self.stopping_pusher:
            objects.append(feed.process.sentinel)
        # The pusher's channel is read only when a worker can take work: meanwhile its
        # messages pile up in the pipe (bounded by queue_limit) and go out as one batch.
        if not feed.exhausted and any(w.idle for w in self.workers):
            objects.append(feed.channel.reader)
        ready = set(wait(objects, timeout))
        for w in self.workers:
            if w.conn is not None and w.conn in ready:
                self.receive(w, drain=False)
        self.dispatch()
        for w in self.workers:
            if w.process is not None and w.process.sentinel in ready:
                self.worker_exited(w)
        if feed.process.sentinel in ready and not self.stopping_pusher:
            self.pusher_died()
        if self.monitor.sentinel in ready:
            self.monitor_died()
        if time.monotonic() >= self.next_guard:
            self.guard()

    stopping_pusher = False
    last_stat: tuple | None = None  # what write_stat() last published, and when
    last_stat_at = 0.0
    last_ttl = 3.0

    def receive(self, w: WorkerSlot, drain: bool = True) -> None:
        """Forward finished packages (still pickled, as the worker sent them) to the
        monitor, and drop them from the worker's batch. ``drain=False``: the one message
        ``wait()`` saw (anything after it wakes the next ``wait()``: fewer system calls)."""
        first = not drain
        while w.conn is not None and (first or (drain and w.conn.poll(0))):
            first = False
            try:
                data = w.conn.recv_bytes()
            except (EOFError, OSError):
                w.conn.close()
                w.conn = None
                return
            if data == RETIRING:
                w.retiring = True
                continue
            count, blob = unpack_results(data)
            for _ in range(min(count, len(w.batch))):
                w.batch.popleft()
            w.reported += count
            self.outlet.send(blob, count)

    def dispatch(self) -> None:
        """Take what the pusher sent; hand it to idle workers, a fair share each."""
        feed = self.feed
        idle = [w for w in self.workers if w.idle]
        if not idle:
            return
        while not feed.exhausted and feed.channel.poll(0):
            try:
                items = feed.channel.get()
            except (EOFError, OSError):
                feed.exhausted = True  # the pusher is gone (maybe mid-message)
                break
            results = [item for kind, item in items if kind == "result"]
            if results:  # recorded by the pusher (max_attempts): straight to the monitor
                self.to_monitor(results)
                feed.channel.release(len(results))
            feed.pending.extend(item for kind, item in items if kind == "task")
            feed.held += len(items) - len(results)
        for n, w in enumerate(idle):
            if not feed.pending:
                return
            share = min(MAX_BATCH, -(-len(feed.pending) // (len(idle) - n)))
            batch = [feed.pending.popleft() for _ in range(min(share, len(feed.pending)))]
            try:
                w.conn.send_bytes(pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))
            except (BrokenPipeError, OSError):
                feed.pending.extendleft(reversed(batch))
                w.conn.close()
                w.conn = None  # its exit is handled by worker_exited
                continue
            w.batch.extend(batch)
            # Deadlines matter again: guard within a cycle (an idle cluster guards seldom).
            self.next_guard = min(self.next_guard, time.monotonic() + float(self.conf.guard_cycle))
            released = min(len(batch), feed.held)
            feed.channel.release(released)
            feed.held -= released

    def to_monitor(self, packages: list[dict]) -> None:
        """Results the sentinel recorded itself (timeouts, deaths, max_attempts)."""
        self.outlet.send(pickle.dumps(packages, pickle.HIGHEST_PROTOCOL), len(packages))

    # -- guarding ---------------------------------------------------------------------------
    def guard(self) -> None:
        now = time.monotonic()
        cycle = float(self.conf.guard_cycle)
        for w in self.workers:
            deadline = w.deadline.value if w.deadline is not None else 0.0
            if w.batch and deadline and now > deadline and w.process.is_alive():
                self.time_out(w)
        for w in self.workers:
            if w.process is not None and not w.process.is_alive():
                self.worker_exited(w)
        if self.conf.scheduler and now >= self.next_schedule and self.status != STOPPING:
            self.next_schedule = time.monotonic() + run_scheduler()  # sooner if one is due
        self.write_stat()
        self.next_guard = now + cycle
        if not self.busy():
            # Idle: no deadline to watch, and every exit or message wakes the loop anyway.
            # Guard again when the Stat needs refreshing or a schedule comes due.
            refresh = max(cycle, self.last_ttl / 3)
            self.next_guard = max(now + cycle, min(now + refresh, self.next_schedule
                                                   if self.conf.scheduler else now + refresh))

    def busy(self) -> bool:
        return (self.status == STOPPING or bool(self.feed.pending)
                or any(w.batch or w.pill or w.retiring for w in self.workers))

    def time_out(self, w: WorkerSlot) -> None:
        index = w.running()
        package = package_of(w.batch[index], self.conf) if index is not None else {}
        logger.error("%s timed out running task %s (%s) after %s seconds; terminating it",
                     w.process.name, package.get("name"), package.get("id"),
                     package.get("timeout") or self.conf.timeout)
        w.process.kill()
        w.process.join(5)
        w.timed_out = True
        self.worker_exited(w)

    def worker_exited(self, w: WorkerSlot) -> None:
        if w.process is None or w.process.is_alive():
            return
        self.receive(w)  # results sent before it left (a recycled worker's last ones win)
        w.process.join()
        code, name = w.process.exitcode, w.process.name
        index = w.running()
        if index is not None:
            package = package_of(w.batch[index], self.conf)
            del w.batch[index]
            if w.timed_out:
                timeout = package.get("timeout") or self.conf.timeout
                self.to_monitor([failures.timed_out(package, timeout)])
            else:
                logger.error("%s died (exit code %s) while running task %s (%s)%s", name,
                             code, package.get("name"), package.get("id"),
                             "; the broker will deliver it again" if self.receipts else "")
                if self.receipts:
                    self.to_monitor([failures.worker_died_notice(package, code)])
                else:
                    self.to_monitor([failures.worker_died(package, code)])
        if w.batch:
            # Not begun, or run with results that never came back (at-least-once: they
            # run again): to the front of the line, for the other workers.
            self.feed.pending.extendleft(reversed(w.batch))
            w.batch.clear()
        if w.conn is not None:
            w.conn.close()
        if w.pill:
            w.process = w.conn = None  # stopped as asked
            return
        reason = ("timeout" if w.timed_out else "recycle" if code == 0 else "sudden death")
        self.workers[self.workers.index(w)] = new = start_worker(
            self.ctx(), w.slot, self.conf.daemonize_workers)
        self.reincarnations += 1
        # A recycle is routine; a timeout or a death is worth a warning.
        level = logging.INFO if reason == "recycle" else logging.WARNING
        logger.log(level, "reincarnated worker %s after %s", new.process.name, reason)

    def pusher_died(self) -> None:
        old = self.feed
        old.process.join()
        old.channel.close()  # may hold half a message; its tasks come back from the broker
        self.feed = start_pusher(self.ctx(), self.conf.queue_limit)
        self.feed.pending = old.pending  # they hold no slot of the new channel
        self.reincarnations += 1
        logger.error("reincarnated pusher %s after sudden death", self.feed.process.name)

    def monitor_died(self) -> None:
        """Results still on their way to it are lost; with receipts their tasks come back."""
        self.monitor.join()
        self.outlet.close()
        if self.status == STOPPED:
            return
        self.monitor, self.outlet = start_monitor(self.ctx())
        self.reincarnations += 1
        logger.error("reincarnated monitor %s after sudden death", self.monitor.name)

    # -- stopping ---------------------------------------------------------------------------
    def stop(self) -> None:
        """The spec's stop procedure; guarding (timeouts, reincarnation) goes on meanwhile."""
        logger.info("%s stopping cluster processes", self.name)
        self.status = STOPPING
        self.write_stat()
        self.stopping_pusher = True
        self.feed.stop.set()
        while self.feed.process.is_alive() and not self.force_event.is_set():
            self.step()  # keep dispatching: the pusher may be waiting for a free slot
        self.feed.process.join()
        while not self.force_event.is_set():
            self.step()
            if not self.feed.pending and (self.feed.exhausted or not self.feed.channel.poll(0)):
                for w in self.workers:
                    if w.idle:
                        w.pill = True
                        try:
                            w.conn.send_bytes(PILL)
                        except OSError:
                            pass
            if all(w.process is None for w in self.workers):
                break
        if self.force_event.is_set():
            return
        self.outlet.send(STOP, 0)
        while self.monitor.is_alive() and not self.force_event.is_set():
            self.outlet.flush()
            self.monitor.join(0.005 if self.outlet.waiting else 0.2)
        self.outlet.close()
        self.status = STOPPED
        self.write_stat()

    def force_stop(self) -> None:
        """A second signal: kill everything now. Unacknowledged work comes back from a
        receipt broker after ``retry``; results not yet saved are lost (and redone)."""
        logger.warning("%s forced to stop: killing cluster processes", self.name)
        for process in [w.process for w in self.workers] + [self.feed.process, self.monitor]:
            if process is not None and process.is_alive():
                process.kill()
        self.outlet.close()
        self.status = STOPPED
        self.write_stat()

    # -- stats --------------------------------------------------------------------------------
    def write_stat(self) -> None:
        status = self.status
        busy = any(w.batch for w in self.workers)
        # qsize() counts the slots taken: the channel's items and pending ones holding one.
        task_q = self.feed.channel.qsize() + len(self.feed.pending) - self.feed.held
        if status == IDLE and (busy or task_q):
            status = WORKING
        done_q = self.outlet.in_transit()
        workers = [w.process.pid for w in self.workers if w.process is not None]
        state = (status, self.feed.process.pid, self.monitor.pid, tuple(workers),
                 self.reincarnations, task_q, done_q)
        now = time.monotonic()
        # An unchanged Stat is rewritten only when a third of its life has passed: a
        # working cluster's about once a second, an idle one's every ~3 s (idle_expiry).
        if state == self.last_stat and now - self.last_stat_at < 0.9 * self.last_ttl / 3:
            return
        ttl = idle_expiry(self.conf) if status == IDLE else expiry(self.conf)
        stat = Stat(
            cluster_id=self.cluster_id, host=socket.gethostname(), name=self.conf.name,
            sentinel=os.getpid(), pusher=self.feed.process.pid, monitor=self.monitor.pid,
            workers=workers, status=status, reincarnations=self.reincarnations,
            tob=self.tob, task_q_size=task_q, done_q_size=done_q,
            queue_limit=self.conf.queue_limit)
        try:
            stat.save(self.conf, ttl)
            self.last_stat, self.last_stat_at, self.last_ttl = state, now, ttl
        except Exception as exc:  # monitoring must never take the cluster down
            logger.warning("Could not write the cluster's Stat: %r", exc)
