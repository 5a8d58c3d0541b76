"""A worker's finished results on their way to the monitor.

Results of a batch go to the monitor together, one pipe message for the lot; then the
worker counts them as ``finished`` in its slot row (:mod:`djq.cluster.slots`) and drops a
byte into its ready pipe, which wakes the pusher if it is waiting for a free worker.

So that a long task does not hold back the results its batch-mates finished before it,
a watcher thread sends what is waiting once the oldest result has waited
``FLUSH_AFTER`` seconds. It is only involved while a batch of several tasks is under way
(:meth:`Outbox.hold`), and then it checks every ``FLUSH_AFTER`` by itself rather than
being woken per batch: waking a thread costs more CPU than a no-op task (measured). It
parks after ``PARK_AFTER`` seconds with nothing waiting, so an idle worker costs nothing.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import threading
import time

RESULTS = b"R"
FLUSH_AFTER = 0.01
PARK_AFTER = 0.5
_COUNT = struct.Struct("!I")


def pack_results(packages: list[dict]) -> bytes:
    """``RESULTS`` + count + pickled list; a result that cannot be pickled becomes a
    failure saying so (its batch-mates travel unharmed)."""
    try:
        blob = pickle.dumps(packages, pickle.HIGHEST_PROTOCOL)
    except Exception:
        from djq.execution import format_error

        for package in packages:
            try:
                pickle.dumps(package, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                package["result"] = ("The task's result cannot be pickled: "
                                     f"{format_error(exc)}")
                package["success"] = False
        blob = pickle.dumps(packages, pickle.HIGHEST_PROTOCOL)
    return RESULTS + _COUNT.pack(len(packages)) + blob


def unpack_results(data: bytes) -> tuple[int, bytes]:
    """``(count, pickled list)``."""
    return _COUNT.unpack_from(data, 1)[0], data[1 + _COUNT.size:]


class Outbox:
    def __init__(self, results, ready, slot) -> None:
        """``results``: the pipe to the monitor; ``ready``: the write end of the pusher's
        wake-up pipe (or ``None``); ``slot``: the worker's row."""
        self.results, self.slot = results, slot
        self.ready = ready.fileno() if ready is not None else None
        if self.ready is not None:
            os.set_blocking(self.ready, False)
        self.lock = threading.Lock()
        self._poller = None  # for monitor_gone(), made on first use
        self.waiting: list[dict] = []
        self.since = 0.0  # when the oldest waiting result finished
        self.broken = False  # the monitor is gone
        self.watching = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, package: dict) -> None:
        with self.lock:
            self.waiting.append(package)
            if not self.since:
                self.since = time.monotonic()

    def hold(self) -> None:
        """Results wait while the next task runs: have the watcher keep an eye on them."""
        if self.thread is None:
            self.thread = threading.Thread(target=self._watch, name="djq-outbox",
                                           daemon=True)
            self.thread.start()
        if not self.watching.is_set():
            self.watching.set()

    def flush(self) -> bool:
        """Send what waits, count it finished, tell the pusher; ``False`` if the
        monitor is gone."""
        with self.lock:
            if self.waiting and not self.broken:
                try:
                    self.results.send_bytes(pack_results(self.waiting))
                except (BrokenPipeError, OSError):
                    self.broken = True
                else:
                    count = len(self.waiting)
                    self.slot.sent += count
                    self.slot.finished += count  # before the wake-up: the pusher reads it
                    self.wake_pusher()
            self.waiting, self.since = [], 0.0
            return not self.broken

    def wake_pusher(self) -> None:
        if self.ready is None:
            return
        try:
            os.write(self.ready, b"r")
        except OSError:  # full (the pusher has not looked for a while) or gone: either way
            pass

    def monitor_gone(self) -> bool:
        """Whether the monitor closed its end (checked before taking on a batch)."""
        if self.broken:
            return True
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(self.results.fileno(), select.POLLOUT)
        for _fd, events in self._poller.poll(0):
            if events & (select.POLLERR | select.POLLHUP):
                self.broken = True
        return self.broken

    def _watch(self) -> None:
        idle_since = time.monotonic()
        while True:
            self.watching.wait()
            time.sleep(FLUSH_AFTER)
            with self.lock:
                since = self.since
            now = time.monotonic()
            if since:
                idle_since = now
                if now - since >= FLUSH_AFTER:
                    self.flush()
            elif now - idle_since >= PARK_AFTER:
                self.watching.clear()
                with self.lock:  # hold() may have run between the check and the clear
                    if self.since:
                        self.watching.set()
                idle_since = time.monotonic()
