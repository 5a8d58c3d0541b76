"""The pusher's hands on the workers: who is free, what each holds, who gets what.

The pusher hands tasks to workers itself, each over the worker's own pipe, so a task
goes from the broker to a worker in one hop (the sentinel only supervises). The sentinel
announces each worker it starts (a ``("worker", ...)`` note on the
:class:`~djq.cluster.control.Control` socket, with the worker's task and ready pipe
ends) and each that exits (``("gone", ...)`` with the worker's final counts).

A worker is free when everything handed to it is finished (its slot row's ``finished``
caught up, see :mod:`djq.cluster.slots`) and it is not retiring. Free workers share what
is pending fairly, at most :data:`MAX_BATCH` each. What a worker held when it died is
sorted out from its final counts: the task it was running becomes a recorded failure
(timeout, or a death on a broker without receipts; on one with receipts only a notice
for the error reporters, the broker delivers it again), and the tasks it never began go
back to the front of the line for the others.
"""

from __future__ import annotations

import logging
import os
import pickle
import selectors
from collections import deque

from djq.cluster import failures
from djq.cluster.outbox import pack_results

logger = logging.getLogger("djq")

MAX_BATCH = 64  # tasks handed to one worker at once


class Hand:
    """One worker (one incarnation of a slot), as the pusher sees it."""

    def __init__(self, name: str, tasks, ready, slot) -> None:
        self.name = name
        self.tasks, self.ready, self.slot = tasks, ready, slot
        os.set_blocking(ready.fileno(), False)
        self.batch: deque = deque()  # parcels handed over, not finished
        self.finished = 0  # the slot's ``finished`` already taken into account
        self.lost = False  # its pipe broke: it is gone, its "gone" note is on the way

    def sync(self, finished: int | None = None) -> None:
        """Drop what the worker finished since last time."""
        finished = int(self.slot.finished) if finished is None else finished
        if finished > self.finished:
            for _ in range(min(finished - self.finished, len(self.batch))):
                self.batch.popleft()
            self.finished = finished

    @property
    def busy(self) -> bool:
        """Something handed to it is not finished."""
        if self.batch:
            self.sync()
        return bool(self.batch)

    @property
    def free(self) -> bool:
        return not self.lost and not self.busy and not self.slot.retiring

    def close(self) -> None:
        for conn in (self.tasks, self.ready):
            try:
                conn.close()
            except OSError:
                pass


class Dispatcher:
    def __init__(self, control, records, table, conf, receipts: bool) -> None:
        self.control, self.records, self.table = control, records, table
        self.conf, self.receipts = conf, receipts
        self.pending: deque = deque()  # verified parcels waiting for a free worker
        self.hands: dict[int, Hand] = {}
        self.selector = selectors.DefaultSelector()
        self.selector.register(control.fileno(), selectors.EVENT_READ, None)

    # -- the sentinel's notes -------------------------------------------------------------
    def notes(self) -> None:
        for note, conns in self.control.receive():
            if note[0] == "worker":
                self.joined(note[1], note[2], *conns)
            elif note[0] == "gone":
                self.gone(*note[1:])

    def joined(self, number: int, name: str, tasks, ready) -> None:
        old = self.hands.pop(number, None)
        if old is not None:  # its "gone" note was lost: its work comes back from the broker
            self._forget(old)
        hand = self.hands[number] = Hand(name, tasks, ready, self.table.slot(number))
        self.selector.register(ready.fileno(), selectors.EVENT_READ, hand)

    def gone(self, number: int, started: int, finished: int, exitcode, timed_out: bool
             ) -> None:
        """Worker ``number`` exited after beginning ``started`` and finishing
        ``finished`` tasks: record the one it was running, requeue the ones it never
        began (or finished without its results getting out: at least once, they run
        again)."""
        hand = self.hands.pop(number, None)
        if hand is None:  # a worker of a pusher before this one: nothing of ours
            return
        self._forget(hand)
        hand.sync(finished)
        index = started - finished - 1
        if 0 <= index < len(hand.batch):
            parcel = hand.batch[index]
            del hand.batch[index]
            self.record(self.ended(parcel, hand.name, exitcode, timed_out))
        if hand.batch:
            self.pending.extendleft(reversed(hand.batch))

    def ended(self, parcel, name: str, exitcode, timed_out: bool) -> dict:
        from djq.cluster.parcel import package_of

        package = package_of(parcel, self.conf)
        if timed_out:
            timeout = package.get("timeout") or self.conf.timeout
            logger.error("Task %s (%s) timed out after %s seconds; %s was terminated",
                         package.get("name"), package.get("id"), timeout, name)
            return failures.timed_out(package, timeout)
        logger.error("%s died (exit code %s) while running task %s (%s)%s", name, exitcode,
                     package.get("name"), package.get("id"),
                     "; the broker will deliver it again" if self.receipts else "")
        if self.receipts:
            return failures.worker_died_notice(package, exitcode)
        return failures.worker_died(package, exitcode)

    def _forget(self, hand: Hand) -> None:
        self._unwatch(hand)
        hand.close()

    # -- handing out --------------------------------------------------------------------------
    def dispatch(self) -> None:
        """Hand what is pending to the free workers, a fair share each."""
        if self.pending:
            free = [hand for hand in self.hands.values() if hand.free]
            for n, hand in enumerate(free):
                if not self.pending:
                    break
                share = min(MAX_BATCH, -(-len(self.pending) // (len(free) - n)))
                batch = [self.pending.popleft() for _ in range(share)]
                try:
                    hand.tasks.send_bytes(pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))
                except OSError:  # it died: its "gone" note follows
                    self.pending.extendleft(reversed(batch))
                    hand.lost = True
                    continue
                hand.batch.extend(batch)
        self.table.pending = len(self.pending)

    def record(self, package: dict) -> None:
        """A result recorded without running the task, on its way to the monitor (through
        the sentinel)."""
        self.records.send_bytes(pack_results([package]))

    def wait(self, timeout: float) -> None:
        """Until a worker is free (its ready byte), a note arrives (read by the caller's
        next :meth:`notes`), or ``timeout``."""
        for key, _events in self.selector.select(timeout):
            hand = key.data
            if hand is None:
                continue  # the control socket: read by notes()
            try:
                gone = not os.read(hand.ready.fileno(), 4096)  # end of file: it is gone
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                hand.lost = True
                self._unwatch(hand)

    def _unwatch(self, hand: Hand) -> None:
        try:
            self.selector.unregister(hand.ready.fileno())
        except (KeyError, ValueError, OSError):
            pass

    @property
    def busy(self) -> bool:
        """Some worker holds work it has not finished."""
        return any(hand.busy for hand in self.hands.values())

    @property
    def drained(self) -> bool:
        """Nothing pending and nothing in any worker's hands: the stop can go on."""
        return not self.pending and not self.busy

    def close(self) -> None:
        """Close every task pipe: to the workers that is the end (they finish and exit)."""
        for hand in list(self.hands.values()):
            self._forget(hand)
        self.hands.clear()
        self.selector.close()
