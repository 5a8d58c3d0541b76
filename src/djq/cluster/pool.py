"""The sentinel's processes and the pipes between them.

::

    broker -> pusher --tasks--> worker --results--> monitor -> database, broker (ack)
                ^                  |
                +------ready-------+        sentinel: starts, guards, replaces them all

Every pipe has one writer and one reader (a process killed mid-read or mid-write takes
no lock with it, django-q2 #23), and each worker has its own three: tasks from the
pusher, results to the monitor, and a ready byte back to the pusher. The sentinel makes a
worker's pipes when it starts the worker and passes the other ends on
(:mod:`djq.cluster.control`), so the pusher and the monitor keep running when workers
come and go. When the pusher is replaced, the workers' task pipes end with it: they
finish their batch and are replaced in turn (tasks cut off on the way come back from
the broker); when the monitor is replaced, each worker leaves at its next batch, since
its results would have nowhere to go.

A fork copies every descriptor the sentinel holds into the child; each child closes the
ones that are not its own (``close``), or a pipe would never report its other end gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from djq.cluster.context import name_process
from djq.cluster.control import Control
from djq.cluster.outlet import Outlet
from djq.cluster.pusher import pusher
from djq.cluster.saver import saver
from djq.cluster.slots import SlotTable
from djq.cluster.wake import Wake
from djq.cluster.worker import worker


@dataclass
class WorkerSlot:
    """Worker ``slot`` (1-based, fixes its CPUs and its row in the slot table)."""

    slot: int
    process: Any = None
    timed_out: bool = False
    retired: bool = False  # stopped as the stop procedure asked: not replaced


@dataclass
class Pusher:
    process: Any
    stop: Any  # an Event
    records: Any  # the sentinel's end of the pipe the pusher sends records on


class Pool:
    def __init__(self, ctx, workers: int) -> None:
        """``ctx``: the context shared memory is made with (before any process starts,
        so every process sees it)."""
        self.table = SlotTable(ctx, workers)
        self.wake = Wake(ctx, self.table)
        self.workers = [WorkerSlot(n) for n in range(1, workers + 1)]
        self.pusher: Pusher | None = None
        self.monitor: Any = None
        self.outlet: Outlet | None = None
        # Made now, so workers started before the pusher and the monitor can be announced
        # to them: the notes wait in the socket until their reader starts.
        self.to_pusher = Control()
        self.to_monitor = Control()

    # -- descriptors ---------------------------------------------------------------------------
    def _mine(self) -> list:
        """What the sentinel holds for itself (or for a reader not started yet)."""
        held = [self.wake.reader, self.to_pusher.send_end, self.to_monitor.send_end]
        held += [c.recv_end for c in (self.to_pusher, self.to_monitor)
                 if c.recv_end is not None]
        if self.pusher is not None:
            held.append(self.pusher.records)
        if self.outlet is not None:
            held.append(self.outlet.writer)
        return [h for h in held if h is not None]

    @staticmethod
    def _to_close(ctx, held: list) -> list:
        # Only a fork inherits anything; a forkserver child gets just its arguments.
        return held if ctx.get_start_method() == "fork" else []

    # -- starting -------------------------------------------------------------------------------
    def start_worker(self, ctx, w: WorkerSlot, daemon: bool) -> WorkerSlot:
        self.table.slot(w.slot).reset()
        tasks_r, tasks_w = ctx.Pipe(duplex=False)
        ready_r, ready_w = ctx.Pipe(duplex=False)
        results_r, results_w = ctx.Pipe(duplex=False)
        theirs = [tasks_w, ready_r, results_r]
        process = name_process(ctx.Process(
            target=worker,
            args=(tasks_r, ready_w, results_w, self.wake, self.table, w.slot,
                  self._to_close(ctx, self._mine() + theirs))))
        process.daemon = daemon
        process.start()
        for end in (tasks_r, ready_w, results_w):
            end.close()
        self.to_pusher.send(("worker", w.slot, process.name), [tasks_w, ready_r])
        self.to_monitor.send(("worker", w.slot, process.name), [results_r])
        for end in theirs:
            end.close()
        w.process, w.timed_out, w.retired = process, False, False
        return w

    def start_monitor(self, ctx) -> None:
        if self.monitor is not None:  # a replacement: a fresh socket, a fresh outlet
            self.to_monitor.close()
            self.to_monitor = Control()
        self.outlet = Outlet(ctx)
        control = self.to_monitor
        close = [h for h in self._mine() if h is not control.recv_end]
        self.monitor = name_process(ctx.Process(
            target=saver, args=(self.outlet, control, self.table, self._to_close(ctx, close)),
            daemon=True))
        self.monitor.start()
        self.outlet.reader.close()  # the monitor's end; its death reads as a broken pipe here
        control.sender()

    def start_pusher(self, ctx) -> None:
        if self.pusher is not None:
            self.pusher.records.close()
            self.to_pusher.close()
            self.to_pusher = Control()
        records, records_w = ctx.Pipe(duplex=False)
        stop = ctx.Event()
        control = self.to_pusher
        close = [h for h in self._mine() if h is not control.recv_end] + [records]
        process = name_process(ctx.Process(
            target=pusher, args=(control, records_w, self.table, stop,
                                 self._to_close(ctx, close)), daemon=True))
        process.start()
        records_w.close()  # a pusher dying mid-message reads as end of file, not a hang
        control.sender()
        self.pusher = Pusher(process, stop, records)

    def close(self) -> None:
        for control in (self.to_pusher, self.to_monitor):
            control.close()
        if self.outlet is not None:
            self.outlet.close()
        if self.pusher is not None:
            self.pusher.records.close()
