"""A one-writer, one-reader message pipe between two cluster processes.

Why not ``multiprocessing.Queue`` shared by all workers (django-q2 issue #23): its
readers hold a cross-process lock while they *wait* for data, and its writers hold one
while they write. A worker killed inside ``get()`` or ``put()`` keeps that lock forever
and every other process stalls on it. Here no lock is shared: each channel has exactly one
writer and one reader, and whoever reads a channel (the sentinel, for the pusher's
channel) simply replaces it when the writer dies; a message cut in half dies with it.
Work lost that way is only in memory: a receipt broker hands it out again after ``retry``.

Messages are sent in batches (one pipe write for everything a dequeue returned), and
``maxsize`` bounds the *items* in flight (the spec's ``queue_limit``) with a semaphore:
the writer takes one slot per item, the reader gives slots back with :meth:`release`
when it has handed the items on (the sentinel: to a worker), so what the channel and its
reader hold together never passes ``maxsize``.
"""

from __future__ import annotations

import time
from typing import Any


class Channel:
    def __init__(self, ctx, maxsize: int = 0) -> None:
        self.reader, self.writer = ctx.Pipe(duplex=False)
        self.maxsize = maxsize
        self.slots = ctx.BoundedSemaphore(maxsize) if maxsize else None

    # -- writer side ---------------------------------------------------------------------
    def put_many(self, items: list, timeout: float | None = None, alive=None) -> bool:
        """Send ``items``, as few messages as the free slots allow (waiting for one when
        none is free). With ``alive`` (a callable), give up and return ``False`` as soon
        as it returns false (the reader is gone); items not sent stay with the caller."""
        deadline = None if timeout is None else time.monotonic() + timeout
        start = 0
        while start < len(items):
            taken = self._take(len(items) - start, deadline, alive)
            if not taken:
                return False
            self.writer.send(items[start:start + taken])
            start += taken
        return True

    def put(self, item: Any, timeout: float | None = None, alive=None) -> bool:
        return self.put_many([item], timeout, alive)

    def room(self, most: int, stop=None, alive=None) -> int:
        """Wait until at least one item fits, then how many do (at most ``most``): what
        the writer should fetch next. 0 when ``stop`` is set or ``alive()`` turns false."""
        if self.slots is None:
            return most
        while not self.slots.acquire(timeout=0.5):
            if (stop is not None and stop.is_set()) or (alive is not None and not alive()):
                return 0
        free = 1
        while free < most and self.slots.acquire(False):
            free += 1
        for _ in range(free):  # only counted: put_many takes them for real
            self.slots.release()
        return free

    def _take(self, wanted: int, deadline: float | None, alive) -> int:
        """Wait for one slot, then take up to ``wanted`` without waiting."""
        if self.slots is None:
            return wanted
        while not self.slots.acquire(timeout=0.5):
            if (alive is not None and not alive()) or (
                    deadline is not None and time.monotonic() > deadline):
                return 0
        taken = 1
        while taken < wanted and self.slots.acquire(False):
            taken += 1
        return taken

    # -- reader side ---------------------------------------------------------------------
    def poll(self, timeout: float = 0) -> bool:
        return self.reader.poll(timeout)

    def get(self) -> list:
        """Receive one message: a list of items (blocks); raises ``EOFError`` when the
        writer is gone. Their slots stay taken until :meth:`release`."""
        return self.reader.recv()

    def release(self, count: int) -> None:
        """Give back ``count`` slots: that many items were handed on."""
        if self.slots is None:
            return
        for _ in range(count):
            try:
                self.slots.release()
            except ValueError:  # more releases than acquires: a replaced writer
                return

    def qsize(self) -> int:
        """Items sent and not yet released (0 when unbounded: not tracked)."""
        if self.slots is None:
            return 0
        try:
            return self.maxsize - self.slots.get_value()
        except NotImplementedError:  # macOS
            return 0

    def close(self) -> None:
        for end in (self.reader, self.writer):
            try:
                end.close()
            except OSError:
                pass
