"""The sentinel's handles on its processes: starting workers, pusher and monitor, each
with its private channel (see :mod:`djq.cluster.channel` for why nothing is shared)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from djq.cluster.channel import Channel
from djq.cluster.context import name_process
from djq.cluster.outlet import Outlet
from djq.cluster.pusher import pusher
from djq.cluster.saver import saver
from djq.cluster.worker import worker


@dataclass
class WorkerSlot:
    """Worker ``slot`` (1-based, fixes its CPUs) and what the sentinel knows of it."""

    slot: int
    process: Any = None
    conn: Any = None  # the sentinel's end of the worker's pipe
    deadline: Any = None  # shared double: time.monotonic() deadline, 0 when none
    started: Any = None  # shared counter: tasks it has begun since it was born
    batch: deque = field(default_factory=deque)  # parcels handed over, results not back
    reported: int = 0  # results received from it
    pill: bool = False  # poison pill sent: its exit is expected
    timed_out: bool = False
    retiring: bool = False  # said it leaves after its current results (recycle)

    @property
    def idle(self) -> bool:
        return not self.batch and not self.pill and not self.retiring and self.conn is not None

    def running(self) -> int | None:
        """Index in ``batch`` of the task it is running now (begun, result not back)."""
        index = self.started.value - self.reported - 1
        return index if 0 <= index < len(self.batch) else None


def start_worker(ctx, slot: int, daemon: bool) -> WorkerSlot:
    mine, theirs = ctx.Pipe(duplex=True)
    deadline = ctx.RawValue("d", 0.0)
    started = ctx.RawValue("Q", 0)
    process = name_process(ctx.Process(target=worker, args=(theirs, deadline, started, slot)))
    process.daemon = daemon
    process.start()
    theirs.close()  # so the worker's death reads as EOF here
    return WorkerSlot(slot, process, mine, deadline, started)


@dataclass
class Feed:
    """The pusher, its stop event and its channel (replaced together when it dies)."""

    process: Any
    channel: Channel
    stop: Any
    pending: deque = field(default_factory=deque)  # parcels to hand to workers
    held: int = 0  # how many of ``pending`` still hold a slot of ``channel``
    exhausted: bool = False  # the channel reached its end (the pusher is gone)


def start_pusher(ctx, queue_limit: int) -> Feed:
    channel = Channel(ctx, queue_limit)
    stop = ctx.Event()
    process = name_process(ctx.Process(target=pusher, args=(channel, stop), daemon=True))
    process.start()
    channel.writer.close()  # a pusher dying mid-message reads as EOF, never as a hang
    return Feed(process, channel, stop)


def start_monitor(ctx) -> tuple[Any, Outlet]:
    """The monitor and the outlet that carries results to it from the sentinel."""
    outlet = Outlet(ctx)
    process = name_process(ctx.Process(target=saver, args=(outlet,), daemon=True))
    process.start()
    outlet.reader.close()  # the monitor's end; its death reads as a broken pipe here
    return process, outlet
