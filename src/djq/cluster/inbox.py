"""What the monitor reads: every worker's results pipe, and the sentinel's outlet.

Workers send their results straight to the monitor, each over a pipe of its own (no lock
shared between processes, and no hop through the sentinel). The sentinel announces each
new worker's pipe on the :class:`~djq.cluster.control.Control` socket; a worker's pipe
ends when the worker does, after everything it sent. The sentinel's outlet
(:mod:`djq.cluster.outlet`) carries the failures it records itself and, at the end of
the stop procedure (once every worker is gone), the poison pill.

One selector (epoll on Linux) stays registered with all of them, so a wait costs the
same whatever the number of workers.
"""

from __future__ import annotations

import logging
import pickle
import selectors

from djq.cluster.outbox import unpack_results
from djq.cluster.outlet import STOP

logger = logging.getLogger("djq")

BATCH_SIZE = 500


class Inbox:
    def __init__(self, outlet, control, table, parent=None) -> None:
        self.outlet, self.control, self.table = outlet, control, table
        self.selector = selectors.DefaultSelector()
        self.selector.register(outlet.reader.fileno(), selectors.EVENT_READ, "outlet")
        self.selector.register(control.fileno(), selectors.EVENT_READ, "control")
        self.parent_fd = getattr(parent, "sentinel", None)
        if self.parent_fd is not None:
            self.selector.register(self.parent_fd, selectors.EVENT_READ, "parent")
        self.workers: list = []  # results pipes still open

    def collect(self, linger: float = 0.0) -> tuple[list[dict], bool]:
        """Block for results, then take whatever else is already there; ``(batch, stop)``.

        At a low rate each result is saved at once. Under load results pile up while a
        batch is being saved, so the next batch is bigger; ``linger`` (the monitor passes
        a couple of milliseconds while batches hold more than one result, i.e. during a
        burst) waits that much once more for stragglers: fewer transactions for the same
        results. Without a parent to watch it wakes up every second; with one, only for
        results, new workers or the parent's exit.
        """
        batch: list[dict] = []
        timeout = None if self.parent_fd is not None else 1.0
        while True:
            events = self.selector.select(timeout)
            if not events:
                if batch and linger:  # once more, for stragglers
                    timeout, linger = linger, 0.0
                    continue
                return batch, False
            for key, _events in events:
                source = key.data
                if source == "control":
                    self._new_workers()
                elif source == "outlet":
                    if self._read_outlet(batch):  # the pill: every worker is gone
                        self._new_workers()
                        for conn in list(self.workers):
                            self._read_worker(conn, batch, drain=True)
                        return batch, True
                elif source == "parent":  # the sentinel is gone: take what is here
                    for conn in list(self.workers):
                        if conn.poll(0):
                            self._read_worker(conn, batch)
                    return batch, True
                else:
                    self._read_worker(source, batch)
            if len(batch) >= BATCH_SIZE:
                return batch, False
            if batch:
                timeout = 0.0

    def _new_workers(self) -> None:
        for note, conns in self.control.receive():
            for conn in conns:
                if note[0] == "worker":
                    self.workers.append(conn)
                    self.selector.register(conn.fileno(), selectors.EVENT_READ, conn)
                else:
                    conn.close()

    def _read_outlet(self, batch: list[dict]) -> bool:
        """Take what the sentinel sent; ``True`` at the poison pill (or its end)."""
        reader = self.outlet.reader
        while len(batch) < BATCH_SIZE and reader.poll(0):
            try:
                data = reader.recv_bytes()
            except (EOFError, OSError):
                return True
            if data == STOP:
                return True
            results = pickle.loads(data)
            self.outlet.took(len(results))
            batch.extend(results)
        return False

    def _read_worker(self, conn, batch: list[dict], drain: bool = False) -> None:
        """One message (or, with ``drain``, all until the worker's end); at its end the
        pipe is closed. A message cut short by the worker's death is dropped: its tasks
        were not acknowledged and come back."""
        while True:
            try:
                data = conn.recv_bytes()
            except (EOFError, OSError):
                self._close_worker(conn)
                return
            count, blob = unpack_results(data)
            self.table.taken += count
            batch.extend(pickle.loads(blob))
            if not drain:  # more is reported by the next select (cheaper than poll())
                return

    def _close_worker(self, conn) -> None:
        try:
            self.selector.unregister(conn.fileno())
        except (KeyError, ValueError, OSError):
            pass
        conn.close()
        self.workers.remove(conn)

    def close(self) -> None:
        for conn in list(self.workers):
            self._close_worker(conn)
        self.selector.close()
