"""When did each result become visible? An arrival log filled by a trigger, read by a poller.

Both systems save a task's result as an INSERT into their result table (djq ``djq_task``,
django-q2 ``django_q_task``). ``install`` adds a trigger that logs the row's id into
``bench_saved`` in the same transaction (SQL in ``sql/arrivals_<vendor>.sql``), so the log row
commits with the result. A ``Poller`` thread asks for log rows past a watermark every ``tick``
seconds and stamps new ones with the time its query started: a result is charged from its
enqueue until a reader could see it (a batching writer pays until its commit), with a
resolution of one tick. Each poll reads only new rows, so its cost does not grow with the
table, and it is the same query for both systems.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterable

SQL = Path(__file__).resolve().parent / "sql"


def install(connection, table: str) -> None:
    """Create ``bench_saved`` and the trigger on ``table`` (after ``migrate``)."""
    text = (SQL / f"arrivals_{connection.vendor}.sql").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    with connection.cursor() as cursor:
        for statement in body.replace("{table}", table).split("\n\n"):
            if statement.strip():
                cursor.execute(statement)


class Arrivals:
    """First-seen stamps per task id, and the watermark the next poll starts after.

    Log rows carry an increasing ``seq``. On PostgreSQL two transactions can commit out of
    ``seq`` order, so the watermark is the highest ``seq`` below which every row has been
    seen; it skips a hole (a rolled-back INSERT) only after the hole is ``grace`` seconds old.
    """

    def __init__(self, grace: float = 5.0) -> None:
        self.saved: dict[str, float] = {}
        self.watermark = 0
        self.grace = grace
        self._ahead: set[int] = set()  # seen seqs above the watermark
        self._hole_since: float | None = None

    def add(self, rows: Iterable[tuple[int, str]], stamp: float) -> None:
        for seq, task_id in rows:
            if seq > self.watermark:
                self._ahead.add(seq)
            self.saved.setdefault(task_id, stamp)
        while self._ahead:
            if self.watermark + 1 in self._ahead:
                self.watermark += 1
                self._ahead.discard(self.watermark)
                self._hole_since = None
            elif self._hole_since is None:
                self._hole_since = stamp
                break
            elif stamp - self._hole_since >= self.grace:
                self.watermark += 1  # give up on this seq: its transaction never committed
                self._hole_since = None
            else:
                break


class Poller(threading.Thread):
    """Polls ``bench_saved`` on its own connection; ``tick`` may be changed while it runs."""

    QUERY = "SELECT seq, task_id FROM bench_saved WHERE seq > %s ORDER BY seq"

    def __init__(self, tick: float, alias: str = "default") -> None:
        super().__init__(daemon=True)
        self.tick, self.alias = tick, alias
        self.arrivals = Arrivals()
        self.polls = 0
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.backend_pid: int | None = None  # its PostgreSQL backend, kept out of "server" CPU

    def run(self) -> None:
        from django.db import connections

        connection = connections[self.alias]
        try:
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("SELECT pg_backend_pid()")
                    self.backend_pid = cursor.fetchone()[0]
                while not self.halt.is_set():
                    stamp = time.time()  # the snapshot's moment: visible by now
                    cursor.execute(self.QUERY, [self.arrivals.watermark])
                    rows = cursor.fetchall()
                    with self.lock:
                        self.arrivals.add(rows, stamp)
                    self.polls += 1
                    self.halt.wait(self.tick)
        finally:
            connection.close()

    def saved(self, task_ids: Iterable[str]) -> dict[str, float]:
        """The stamps of those of ``task_ids`` seen so far."""
        with self.lock:
            seen = self.arrivals.saved
            return {t: seen[t] for t in task_ids if t in seen}

    def wait_for(self, task_ids: list[str], timeout: float, alive=lambda: True) -> dict[str, float]:
        """Wait until all ``task_ids`` arrived; raise ``TimeoutError`` (or if ``alive()`` fails)."""
        deadline = time.time() + timeout
        while True:
            found = self.saved(task_ids)
            if len(found) == len(task_ids):
                return found
            if not self.is_alive():
                raise RuntimeError("the arrival poller died")
            if not alive():
                raise RuntimeError("the cluster exited")
            if time.time() > deadline:
                raise TimeoutError(f"only {len(found)} of {len(task_ids)} results after {timeout}s")
            time.sleep(0.02)

    def stop(self) -> None:
        self.halt.set()
        self.join()
