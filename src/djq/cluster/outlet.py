"""Results on their way from the sentinel to the monitor: one pipe, no thread.

Why not ``multiprocessing.Queue`` (what this replaced): its ``put`` hands every message to
a feeder thread, which costs a thread wake-up per message on the way to the monitor, and
a thread in the sentinel makes forking the pool from it unsafe (see
:mod:`djq.cluster.context`). Here the sentinel writes the pipe itself, without ever
blocking: the write end is non-blocking and what the pipe cannot take now waits in
:attr:`Outlet.backlog` until :meth:`Outlet.flush` (the sentinel's loop calls it while
anything waits). A monitor busy saving a big batch therefore never stalls the sentinel's
guarding, exactly as with the queue's unbounded buffer.

Frames are ``multiprocessing.connection``'s own (a 4-byte big-endian length, then the
bytes), so the monitor reads them with :meth:`Connection.recv_bytes`. A message is
either a pickled list of result packages or :data:`STOP` (the poison pill). The
outlet counts what it carries in two counters, each with one writer: results sent (the
sentinel) minus results taken (the monitor); the Stat's ``done_q_size`` adds those the
workers sent straight to the monitor (:meth:`djq.cluster.slots.SlotTable.in_transit`).
"""

from __future__ import annotations

import os
import struct
from typing import Any

STOP = b""  # the poison pill: no pickled list is empty bytes
_HEADER = struct.Struct("!i")
# A pipe holds 64 KiB by default; results of a burst fit better in more. Linux lets an
# unprivileged process grow a pipe up to /proc/sys/fs/pipe-max-size (1 MiB by default).
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = 1031


class Outlet:
    def __init__(self, ctx) -> None:
        self.reader, writer = ctx.Pipe(duplex=False)
        self.writer = writer
        self.fd = writer.fileno()
        os.set_blocking(self.fd, False)
        try:
            import fcntl

            fcntl.fcntl(self.fd, _F_SETPIPE_SZ, _PIPE_SIZE)
        except (ImportError, OSError):  # not Linux, or a lower pipe-max-size: the default
            pass
        self.backlog = bytearray()
        self.sent = ctx.RawValue("Q", 0)  # results written by the sentinel
        self.taken = ctx.RawValue("Q", 0)  # results read by the monitor

    # -- the sentinel's side ----------------------------------------------------------------
    def send(self, blob: bytes, count: int) -> None:
        """Queue ``blob`` (a pickled list of ``count`` results, or :data:`STOP`)."""
        self.backlog += _HEADER.pack(len(blob))
        self.backlog += blob
        self.sent.value += count
        self.flush()

    def flush(self) -> bool:
        """Write what the pipe takes now; ``True`` when nothing is left waiting."""
        while self.backlog:
            try:
                written = os.write(self.fd, self.backlog)
            except BlockingIOError:
                return False
            except OSError:  # the monitor is gone: what it did not read is lost with it
                self.backlog.clear()
                return True
            del self.backlog[:written]
        return True

    @property
    def waiting(self) -> bool:
        return bool(self.backlog)

    def in_transit(self) -> int:
        return max(0, self.sent.value - self.taken.value)

    def close(self) -> None:
        self.backlog.clear()
        for end in (self.reader, self.writer):
            try:
                end.close()
            except OSError:
                pass

    # -- the monitor's side ----------------------------------------------------------------
    def reading_end(self) -> "Outlet":
        """In the monitor: drop the write end (a forked monitor inherits it)."""
        if self.writer is not None:
            self.writer.close()
        self.writer, self.fd, self.backlog = None, -1, bytearray()
        return self

    def took(self, count: int) -> None:
        self.taken.value += count

    def __getstate__(self) -> dict[str, Any]:
        # Only the monitor receives an Outlet (as its process argument): the reading end
        # and the counters. The backlog and the write end stay with the sentinel.
        return {"reader": self.reader, "sent": self.sent, "taken": self.taken}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.writer, self.fd, self.backlog = None, -1, bytearray()
