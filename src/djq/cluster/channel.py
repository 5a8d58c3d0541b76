"""A one-writer, one-reader message pipe between two cluster processes.

Why not ``multiprocessing.Queue`` shared by all workers (django-q2 issue #23): its
readers hold a cross-process lock while they *wait* for data, and its writers hold one
while they write. A worker killed inside ``get()`` or ``put()`` keeps that lock forever
and every other process stalls on it. Here no lock is shared: each channel has exactly one
writer and one reader, and whoever reads a channel (the sentinel, for the pusher's
channel) simply replaces it when the writer dies; a message cut in half dies with it.
Work lost that way is only in memory: a receipt broker hands it out again after ``retry``.

``maxsize`` bounds the number of messages in flight (the spec's ``queue_limit``) with a
semaphore the writer takes and the reader gives back.
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
    def put(self, message: Any, timeout: float | None = None, alive=None) -> bool:
        """Send ``message``, waiting for a free slot. With ``alive`` (a callable), give
        up and return ``False`` as soon as it returns false (the reader is gone)."""
        if self.slots is not None:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self.slots.acquire(timeout=0.5):
                if (alive is not None and not alive()) or (
                        deadline is not None and time.monotonic() > deadline):
                    return False
        self.writer.send(message)
        return True

    # -- reader side ---------------------------------------------------------------------
    def poll(self, timeout: float = 0) -> bool:
        return self.reader.poll(timeout)

    def get(self) -> Any:
        """Receive one message (blocks); raises ``EOFError`` when the writer is gone."""
        message = self.reader.recv()
        if self.slots is not None:
            try:
                self.slots.release()
            except ValueError:  # more releases than acquires: a replaced writer
                pass
        return message

    def qsize(self) -> int:
        """Messages sent and not yet received (0 when unbounded: not tracked)."""
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
