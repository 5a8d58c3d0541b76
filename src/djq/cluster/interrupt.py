"""Interrupting the pusher's wait for work.

An idle pusher waits inside the broker's ``dequeue()`` (a blocking read, ``LISTEN``, an
``inotify`` watch) for up to :data:`IDLE_WAIT`, the broker's ``max_wait``
(:class:`djq.brokers.Broker`), rather than coming back every second to find nothing. It
does so only while no worker holds work: a worker that leaves mid-batch hands its unbegun
tasks back through a note that the pusher reads between dequeues, so then it waits at
most a second. Two things must cut a long wait short: the sentinel's stop, and the
sentinel's death. Both
arrive as :data:`SIGNAL`: the sentinel sends it after setting the stop event, and on
Linux the kernel sends it when the sentinel dies (``PR_SET_PDEATHSIG``).

The handler raises :class:`Interrupted` only while the pusher is in a dequeue
(:meth:`Interruptible.waiting`) and otherwise notes it, so a signal between the pusher's
last look at the stop event and the start of its wait is not lost. Raising out of a
blocking call is what ctrl-c does to any Python program; the broker drops the connection
it was waiting on (redis-py does on any exception in a read) and the pusher is stopping
anyway. A dequeue interrupted after the broker handed work out leaves that work taken:
it comes back after ``retry``, like anything a stopping cluster had in hand.

The sentinel blocks :data:`SIGNAL` before it starts anything (:func:`blocked`), so a child
inherits it blocked: a pusher cannot be killed by it before its handler is in place (the
signal's default action ends the process), and the other children never see it.
"""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager

from djq.cluster.prctl import die_with_parent

SIGNAL = signal.SIGUSR1
IDLE_WAIT = 30.0  # the longest a pusher waits for work before it looks again


class Interrupted(BaseException):
    """Raised in the pusher's dequeue by :data:`SIGNAL` (a ``BaseException``, like
    ``KeyboardInterrupt``, so broker code does not swallow it)."""


class Interruptible:
    def __init__(self) -> None:
        self.armed = False
        self.pending = False

    def install(self) -> bool:
        """In the pusher: handle :data:`SIGNAL`, unblock it, and have the kernel send it
        when the parent dies (Linux; elsewhere a dead sentinel is noticed after the
        wait). ``False`` where signals cannot do this: the pusher keeps its waits short."""
        if not hasattr(signal, "pthread_sigmask"):
            return False
        signal.signal(SIGNAL, self._handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {SIGNAL})
        die_with_parent(SIGNAL)
        return True

    def _handler(self, _signum, _frame) -> None:
        if self.armed:
            self.armed = False
            raise Interrupted()
        self.pending = True

    @contextmanager
    def waiting(self):
        """Around a dequeue: :data:`SIGNAL` now, or one that came since the last wait,
        raises :class:`Interrupted`."""
        self.armed = True
        try:
            if self.pending:
                self.pending, self.armed = False, False
                raise Interrupted()
            yield
        finally:
            self.armed = False


@contextmanager
def blocked():
    """In the sentinel, for its whole life: :data:`SIGNAL` blocked (see the module
    docstring); the previous mask is restored after."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {SIGNAL})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def interrupt(pid: int | None) -> None:
    """From the sentinel: cut the pusher's wait short (it has been told to stop)."""
    if pid:
        try:
            os.kill(pid, SIGNAL)
        except OSError:  # already gone
            pass
