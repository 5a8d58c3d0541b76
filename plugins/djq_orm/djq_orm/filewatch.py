"""Sleep until a file is written: Linux ``inotify`` through :mod:`ctypes`, nothing else.

Used by the SQLite waiter (:mod:`djq_orm.wakeups`) so that an idle pusher costs no CPU at
all instead of checking ``PRAGMA data_version`` ten times a second. It watches the
database's *directory* for ``IN_MODIFY`` and keeps only events naming the database file or
its ``-wal`` file: the WAL file may not exist yet when the watch starts, and a commit in
WAL mode writes only to it. No new dependency for ~40 lines: the calls are three libc
functions and one struct.

Where ``inotify`` is missing (not Linux, a libc without it, a watch limit reached)
:meth:`FileWatch.of_database` returns ``None`` and the waiter keeps polling.
"""

from __future__ import annotations

import ctypes
import os
import select
import struct
import weakref

IN_MODIFY = 0x2
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


class FileWatch:
    def __init__(self, fd: int, names: set[bytes]) -> None:
        self.fd = fd
        self.names = names
        self._closer = weakref.finalize(self, _close, fd)  # with the waiter that holds it

    @classmethod
    def of_database(cls, path: str) -> FileWatch | None:
        """A watch on writes to the SQLite database ``path`` (and its WAL), or ``None``."""
        if not hasattr(os, "O_CLOEXEC"):
            return None
        try:
            # The interpreter's own symbols, libc's among them: find_library("c") would
            # run ldconfig in a subprocess (~4 ms) in every pusher that starts a watch.
            libc = ctypes.CDLL(None, use_errno=True)
            init, add = libc.inotify_init1, libc.inotify_add_watch
        except (OSError, AttributeError):
            return None
        path = os.path.abspath(path)
        directory, base = os.path.split(path)
        fd = init(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            return None
        if add(fd, os.fsencode(directory or "."), IN_MODIFY) < 0:
            os.close(fd)
            return None
        name = os.fsencode(base)
        return cls(fd, {name, name + b"-wal"})

    def wait(self, timeout: float) -> bool:
        """``True`` as soon as a watched file is written, ``False`` after ``timeout`` s."""
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        return bool(ready) and self._drain()

    def _drain(self) -> bool:
        """Read every queued event; whether one named a watched file."""
        hit = False
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return hit
            offset = 0
            while offset + _EVENT.size <= len(data):
                _wd, _mask, _cookie, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size
                name = data[offset:offset + length].rstrip(b"\0")
                offset += length
                hit = hit or name in self.names

    def close(self) -> None:
        self._closer()


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
