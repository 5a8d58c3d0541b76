"""The sentinel's wake-up pipe.

The sentinel sleeps until its next check (``guard_cycle`` while workers run tasks with a
deadline, longer while the cluster idles), unless a process exits or the pusher sends it
something. A worker that starts a task due to time out before that check rings this
pipe (one byte, never blocking) so the sentinel guards it in time; the time of the next
check is in the slot table (``wake_at``), so a worker rings only when it must, not per
task.
"""

from __future__ import annotations

import os
from typing import Any


class Wake:
    def __init__(self, ctx, table) -> None:
        self.reader, self.writer = ctx.Pipe(duplex=False)
        os.set_blocking(self.reader.fileno(), False)  # drain() reads until it is empty
        os.set_blocking(self.writer.fileno(), False)
        self.table = table

    def due(self) -> float:
        """``time.monotonic()`` of the sentinel's next check."""
        return self.table.wake_at

    def ring(self) -> None:
        try:
            os.write(self.writer.fileno(), b"w")
        except OSError:  # full: the sentinel has a wake-up pending anyway
            pass

    def drain(self) -> None:
        """The sentinel's side: take the bytes that woke it."""
        fd = self.reader.fileno()
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass

    def __getstate__(self) -> dict[str, Any]:
        # A forkserver child (a worker) gets the ringing end only.
        return {"writer": self.writer, "table": self.table}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.reader = None
