"""The monitor's acknowledgements, sent from a thread of their own.

Profiled under load, the broker's round trip for a batch's acknowledgement (one Lua call
on Redis, one request on SQS) took 40 % of the monitor's time, waiting. On this thread
the monitor saves the next batch meanwhile, and what piles up during one round trip goes
out in the next, as one call. Only saved packages are ever submitted, so a result is
still saved before its task is acknowledged. (A broker that acknowledges inside the
results' transaction, the ORM broker on its own database, does not use it.)
"""

from __future__ import annotations

import queue
import threading
from typing import Callable

Ack = Callable[[list, list], None]


class Acknowledger:
    def __init__(self, ack: Ack) -> None:
        self.ack = ack
        self.pending: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="djq-acknowledger",
                                       daemon=True)
        self.thread.start()

    def submit(self, acks: list, fails: list) -> None:
        if acks or fails:
            self.pending.put((acks, fails))

    def close(self, timeout: float | None = None) -> None:
        """Send what is pending, then stop the thread."""
        self.pending.put(None)
        self.thread.join(timeout)

    def _run(self) -> None:
        try:
            stop = False
            while not stop:
                acks, fails = [], []
                item = self.pending.get()
                while True:
                    if item is None:
                        stop = True
                        break
                    acks += item[0]
                    fails += item[1]
                    try:
                        item = self.pending.get_nowait()
                    except queue.Empty:
                        break
                if acks or fails:
                    self.ack(acks, fails)
        finally:
            from django.db import connections

            connections.close_all()  # this thread's own, if the broker opened any
