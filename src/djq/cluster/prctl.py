"""Linux process controls through ``prctl(2)``: the task name and the parent-death signal.

Every cluster process is ``python`` to the OS, with one and the same command line. Each
names itself after its role (:data:`NAMES`: ``djq-sentinel``, ``djq-pusher``,
``djq-monitor``, ``djq-worker``; ``djq-forkserver`` for the pool's fork server, where
there is one, see :mod:`djq.cluster.forkserver`) with ``PR_SET_NAME``, so
``ps -o pid,comm``, ``top``, ``pgrep djq-worker`` and profilers tell them apart; the
benchmark's CPU split by process (``benchmarks/case.py``) reads the same names. The name
is the kernel's 15-byte ``comm`` of the calling thread (the main thread's is the
process's); the command line is left as it is. On other platforms these calls do
nothing and return ``False``/``None``.
"""

from __future__ import annotations

import ctypes
import sys

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
_PR_GET_NAME = 16
NAME_BYTES = 15  # TASK_COMM_LEN (16) minus the terminating NUL

NAMES = {"sentinel": "djq-sentinel", "pusher": "djq-pusher", "monitor": "djq-monitor",
         "worker": "djq-worker", "forkserver": "djq-forkserver"}

_libc = None


def _prctl(option: int, arg) -> bool:
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    try:
        if _libc is None:
            # The interpreter's own symbols, libc's among them: no library search (which
            # runs ldconfig in a subprocess, ~4 ms, in every process that asks first).
            _libc = ctypes.CDLL(None, use_errno=True)
        return _libc.prctl(option, arg, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(signum: int) -> bool:
    """Have the kernel send ``signum`` to this process when its parent dies."""
    return _prctl(_PR_SET_PDEATHSIG, int(signum))


def task_name() -> str | None:
    """This thread's kernel name (``None`` off Linux)."""
    buffer = ctypes.create_string_buffer(NAME_BYTES + 1)
    if not _prctl(_PR_GET_NAME, buffer):
        return None
    return buffer.value.decode("utf-8", "replace")


def set_task_name(name: str) -> bool:
    """Set this thread's kernel name (cut to :data:`NAME_BYTES` bytes)."""
    return _prctl(_PR_SET_NAME, name.encode()[:NAME_BYTES])


def name_for(role: str) -> bool:
    """Name this process after its cluster ``role`` (a key of :data:`NAMES`)."""
    return set_task_name(NAMES[role])
