"""A worker's finished results on their way back to the sentinel.

Results of a batch go back together, one pipe message for the lot. So that a long task
does not hold back the results its batch-mates finished before it, a watcher thread sends
what is waiting once the oldest result has waited ``FLUSH_AFTER`` seconds. The thread
sleeps on an event while nothing waits: an idle worker costs no CPU.
"""

from __future__ import annotations

import pickle
import struct
import threading
import time

RETIRING = b"retiring"  # sent just before a recycling worker's last results
RESULTS = b"R"
FLUSH_AFTER = 0.01
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
    """The sentinel's side: ``(count, pickled list)``, the list left pickled."""
    return _COUNT.unpack_from(data, 1)[0], data[1 + _COUNT.size:]


class Outbox:
    def __init__(self, conn) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.waiting: list[dict] = []
        self.since = 0.0  # when the oldest waiting result finished
        self.broken = False  # the pipe is gone: the sentinel is
        self.wake = threading.Event()
        threading.Thread(target=self._watch, name="djq-outbox", daemon=True).start()

    def add(self, package: dict) -> None:
        with self.lock:
            self.waiting.append(package)
            if not self.since:
                self.since = time.monotonic()
                self.wake.set()

    def flush(self, retiring: bool = False) -> bool:
        """Send what waits (``RETIRING`` first if asked); ``False`` if the pipe broke."""
        with self.lock:
            try:
                if retiring:
                    # Before the results: the sentinel must not hand this worker more
                    # work in the moment before it exits.
                    self.conn.send_bytes(RETIRING)
                if self.waiting:
                    self.conn.send_bytes(pack_results(self.waiting))
            except (BrokenPipeError, OSError):
                self.broken = True
            self.waiting, self.since = [], 0.0
            return not self.broken

    def _watch(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            while True:
                with self.lock:
                    since = self.since
                if not since:
                    break
                left = since + FLUSH_AFTER - time.monotonic()
                if left > 0:
                    time.sleep(left)
                    continue
                with self.lock:
                    due = self.since and time.monotonic() - self.since >= FLUSH_AFTER
                if due:
                    self.flush()
