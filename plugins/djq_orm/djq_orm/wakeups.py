"""Waiting for new work without polling the queue table.

The pusher would otherwise sleep ``poll`` seconds (0.2 by default) whenever the queue is
empty, so a task enqueued into an idle cluster waited 100 ms on average. A waiter returns
as soon as work may have arrived, and otherwise after ``timeout(poll, retry, max_wait)``
s: ``poll`` for the sleeping fallback; for the two that are woken by the database, the
broker's ``max_wait`` (1 s; the cluster's pusher raises it while idle and interrupts the
wait to stop), a quarter of ``retry`` if that is shorter: the claim after a timeout only
picks up leases that ran out, and those are ``retry`` seconds long.

* PostgreSQL: ``LISTEN`` on a channel per queue; enqueueing sends ``pg_notify`` in the
  same statement as the ``INSERT`` (delivered at commit, when the row becomes visible).
* SQLite: ``PRAGMA data_version`` changes when another connection commits; reading it is a
  few microseconds and touches no table: every 2 ms while busy, backing off to 100 ms when
  idle. On Linux an idle waiter stops polling altogether: it sleeps on an ``inotify``
  watch (:mod:`djq_orm.filewatch`) of the database's files and polls fast again as soon
  as one is written.
* Other databases: sleep ``poll`` (the spec's behaviour).
"""

from __future__ import annotations

import hashlib
import select
import time

from djq_orm.filewatch import FileWatch


def channel_name(list_key: str) -> str:
    """A valid, short PostgreSQL identifier for a queue's channel."""
    return "djq_" + hashlib.sha1(list_key.encode()).hexdigest()[:20]


def idle_wait(poll: float, retry: float, max_wait: float) -> float:
    """How long a woken-by-the-database wait lasts: the broker's ``max_wait`` (1 s; the
    cluster's pusher raises it while idle), shorter for a short ``retry`` (a quarter of
    it, so an expired lease is not picked up late), never shorter than ``poll``."""
    return max(poll, min(max_wait, retry / 4))


class SleepWaiter:
    def timeout(self, poll: float, retry: float, max_wait: float) -> float:
        return poll

    def arm(self, connection) -> None:
        pass

    def wait(self, connection, timeout: float) -> bool:
        time.sleep(timeout)
        return True


class SqliteWaiter:
    """Returns when another connection has committed (``PRAGMA data_version`` moved).

    Checks every 2 ms while work is flowing; after a second without any commit it backs
    off step by step to every 100 ms, so an idle cluster costs next to no CPU while a busy
    one is woken within milliseconds.
    """

    fast, slow, busy_for = 0.002, 0.1, 1.0

    def timeout(self, poll: float, retry: float, max_wait: float) -> float:
        return idle_wait(poll, retry, max_wait)

    def __init__(self, path: str | None = None) -> None:
        self.seen: tuple[int, int] | None = None  # (id of the raw connection, version)
        self.active = time.monotonic()
        self.interval = self.fast
        self.watch = FileWatch.of_database(path) if path else None

    def arm(self, connection) -> None:
        """Note the version before the claim: a commit between the claim and the wait
        then ends the wait at once instead of going unnoticed until ``timeout``."""
        connection.ensure_connection()
        raw = connection.connection
        self.seen = (id(raw), raw.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, connection, timeout: float) -> bool:
        connection.ensure_connection()
        raw = connection.connection
        deadline = time.monotonic() + timeout
        while True:
            version = raw.execute("PRAGMA data_version").fetchone()[0]
            now = time.monotonic()
            if self.seen is None or self.seen[0] != id(raw):
                self.seen = (id(raw), version)  # a new connection: nothing to compare yet
            elif version != self.seen[1]:
                self.seen = (id(raw), version)
                self.active, self.interval = now, self.fast
                return True
            if now - self.active > self.busy_for:
                self.interval = min(self.interval * 1.5, self.slow)
            left = deadline - now
            if left <= 0:
                return False
            if self.watch is not None and self.interval >= self.slow:
                # Idle: sleep until a database file is written. The write lands before
                # the commit is visible (the WAL index is updated after it), so a write
                # means "poll fast again", not "work is there".
                if self.watch.wait(left):
                    self.active, self.interval = time.monotonic(), self.fast
                continue
            time.sleep(min(self.interval, left))


class PostgresWaiter:
    """``LISTEN`` on the queue's channel (again after every reconnect) and wait."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.listening_on: int | None = None

    def timeout(self, poll: float, retry: float, max_wait: float) -> float:
        return idle_wait(poll, retry, max_wait)

    def arm(self, connection) -> None:
        """``LISTEN`` before the claim (once per connection): a notification sent between
        the claim and the wait is kept for the wait."""
        connection.ensure_connection()
        raw = connection.connection
        if self.listening_on != id(raw):
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {self.channel}")
            self.listening_on = id(raw)

    def wait(self, connection, timeout: float) -> bool:
        self.arm(connection)
        raw = connection.connection
        if hasattr(raw, "notifies") and callable(raw.notifies):  # psycopg 3
            # One select() for the whole wait: psycopg's notifies(timeout=...) wakes up
            # every 0.1 s, which is most of what an idle cluster would spend.
            if self._notified(raw):  # arrived with an earlier reply
                return True
            ready, _, _ = select.select([raw.fileno()], [], [], timeout)
            return bool(ready) and self._notified(raw)
        ready, _, _ = select.select([raw], [], [], timeout)  # psycopg2
        if not ready:
            return False
        raw.poll()
        got = bool(raw.notifies)
        raw.notifies.clear()
        return got

    @staticmethod
    def _notified(raw) -> bool:
        """Take every notification received so far; whether there was one. All of them:
        each enqueue sends one, and psycopg sets aside those it reads while the connection
        runs a query (the pusher's claims) and hands them out one per item of
        ``notifies()``. Stopping at the first left a burst's thousands set aside, each
        waking the next wait at once for a claim that found nothing (measured after a
        5 000-task burst: ~4 300 empty claims, the pusher at 5.6 ms of CPU per task at
        50 tasks/s instead of 1.2)."""
        got = False
        for _ in raw.notifies(timeout=0):
            got = True
        return got


def waiter_for(vendor: str, list_key: str, path: str | None = None):
    """``path``: the SQLite database file (``None`` for an in-memory one)."""
    if vendor == "postgresql":
        return PostgresWaiter(channel_name(list_key))
    if vendor == "sqlite":
        return SqliteWaiter(path)
    return SleepWaiter()
