"""The sentinel's notes to the pusher and the monitor, with pipe ends attached.

Tasks go from the pusher straight to a worker, and results from a worker straight to the
monitor, each over a pipe of that worker's own. The sentinel makes those pipes when it
starts a worker, and the pusher and monitor, already running, receive their ends here:
a Unix datagram socket pair, each note one datagram (``("worker", slot, name)`` or
``("gone", slot, ...)``, pickled) with its file descriptors passed alongside
(``SCM_RIGHTS``). Datagrams keep notes whole, and a socket *pair* has no queue-length
limit but its buffer (~270 notes here): the sentinel's sends never wait in practice,
and block for at most :data:`SEND_TIMEOUT` if the reader is stuck.
"""

from __future__ import annotations

import logging
import pickle
import socket
from multiprocessing.connection import Connection
from typing import Any

logger = logging.getLogger("djq")

SEND_TIMEOUT = 10.0
MAX_FDS = 4


class Control:
    """Both ends at first; after the reader's process starts, the sentinel keeps the
    sending end (:meth:`sender`) and the reader the receiving one (:meth:`receiver`)."""

    def __init__(self) -> None:
        self.send_end, self.recv_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.send_end.settimeout(SEND_TIMEOUT)
        self.recv_end.setblocking(False)

    def sender(self) -> Control:
        self.recv_end.close()
        return self

    def receiver(self) -> Control:
        if self.send_end is not None:
            self.send_end.close()
            self.send_end = None
        return self

    def fileno(self) -> int:
        """The receiving end, for ``select``/``wait``."""
        return self.recv_end.fileno()

    def send(self, note: tuple, conns: list[Connection] = ()) -> bool:
        """Send ``note`` with duplicates of ``conns``' descriptors; ``False`` if the
        reader is gone or stuck (the note is lost: logged)."""
        try:
            socket.send_fds(self.send_end, [pickle.dumps(note)], [c.fileno() for c in conns])
            return True
        except OSError as exc:  # the reader died, or did not read for SEND_TIMEOUT
            logger.warning("Could not pass %s on: %r", note[0], exc)
            return False

    def receive(self) -> list[tuple[tuple, list[Connection]]]:
        """Every note waiting now: ``[(note, [Connection, ...]), ...]``."""
        notes = []
        while True:
            try:
                data, fds, _flags, _addr = socket.recv_fds(self.recv_end, 65536, MAX_FDS)
            except OSError:  # nothing waiting (non-blocking), or the sentinel is gone
                return notes
            if not data:
                return notes
            notes.append((pickle.loads(data), [Connection(fd) for fd in fds]))

    def close(self) -> None:
        for end in (self.send_end, self.recv_end):
            try:
                if end is not None:
                    end.close()
            except OSError:
                pass

    def __getstate__(self) -> dict[str, Any]:
        # Only a forkserver child gets a Control pickled, as its receiving end.
        return {"recv_end": self.recv_end}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.recv_end, self.send_end = state["recv_end"], None
