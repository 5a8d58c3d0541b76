"""The ORM broker: a table in a Django database as the queue, with receipts.

A claim sets ``lock`` to now and counts the delivery in ``attempts``; acknowledging deletes
the row; a claim older than ``retry`` seconds has expired and the row is claimable again
(looked for every quarter of ``retry``, see :meth:`OrmBroker._claim`).
Claims are single statements, so two consumers never take the same row inside ``retry``:

* PostgreSQL: ``WITH claim AS MATERIALIZED (SELECT ... FOR UPDATE SKIP LOCKED)
  UPDATE ... FROM claim RETURNING``; concurrent consumers skip each other's rows instead of
  waiting on them, and the CTE runs once, so a claim never exceeds ``bulk``.
* SQLite (3.35+): ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING`` without row
  locks; SQLite runs one writer at a time, so the statement is atomic.
* Otherwise (MySQL, MariaDB, Oracle, ...): an optimistic compare-and-set per row
  (``UPDATE ... WHERE id = %s AND <still claimable>``); a row is ours only if our update
  changed it.

An empty queue is waited on, not polled: see :mod:`djq_orm.wakeups` (LISTEN/NOTIFY on
PostgreSQL, ``PRAGMA data_version`` and ``inotify`` on SQLite); ``dequeue`` blocks for at
most ``max_wait`` (see :class:`djq.brokers.Broker`) when the database can wake it, else
``poll``.

All queries use the ``orm`` database alias explicitly, so a router that sends reads to a
replica never serves the queue from it (``has_replica`` is accepted for compatibility).
"""

from __future__ import annotations

import functools
import time
from datetime import timedelta
from typing import Any, Iterable

from django.db import connections
from django.utils import timezone

from djq.brokers import Broker, Delivery
from djq.registry import BrokerCapabilities
from djq_orm.wakeups import channel_name, waiter_for

CAPABILITIES = BrokerCapabilities(receipts=True, bulk=True, atomic=True, blocking=True,
                                  needs_cache=True)
# Receipts per DELETE: well under SQLite's oldest limit of 999 bound parameters.
ACK_CHUNK = 500


@functools.cache
def sqlite_returning() -> bool:
    """``UPDATE ... RETURNING`` arrived in SQLite 3.35 (Django 5.2 has no feature flag)."""
    import sqlite3

    return sqlite3.sqlite_version_info >= (3, 35)


class OrmBroker(Broker):
    capabilities = CAPABILITIES

    def __init__(self, list_key: str | None = None, conf: Any = None) -> None:
        super().__init__(list_key, conf)
        self.alias = self.conf.raw.get("orm") or "default"
        self._waiter = None
        self._reclaim_due = 0.0  # time.monotonic() of the next look for expired claims

    @property
    def _model(self):
        from djq_orm.models import OrmQ

        return OrmQ

    def _queue(self):
        return self._model.objects.using(self.alias).filter(key=self.list_key)

    def _expired(self):
        return timezone.now() - timedelta(seconds=self.conf.retry)

    # -- queueing ---------------------------------------------------------------------------
    def enqueue(self, task: str) -> int:
        connection = connections[self.alias]
        if connection.vendor == "postgresql":
            # One round trip: the row and the wake-up for waiting consumers.
            table = connection.ops.quote_name(self._model._meta.db_table)
            sql = (f'WITH row AS (INSERT INTO {table} ("key", payload, attempts) '
                   f"VALUES (%s, %s, 0) RETURNING id) "
                   f"SELECT id, pg_notify(%s, '') FROM row")
            with connection.cursor() as cursor:
                cursor.execute(sql, [self.list_key, task, channel_name(self.list_key)])
                return cursor.fetchone()[0]
        if connection.vendor == "sqlite":
            # Plain SQL: the ORM's create() spends more compiling the INSERT than SQLite
            # spends running it (about half of async_task's CPU on this broker).
            table = connection.ops.quote_name(self._model._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(f'INSERT INTO {table} ("key", payload, attempts) '
                               "VALUES (%s, %s, 0)", [self.list_key, task])
                return cursor.lastrowid
        return self._model.objects.using(self.alias).create(key=self.list_key,
                                                            payload=task).pk

    def enqueue_many(self, tasks: Iterable[str]) -> list[int]:
        rows = [self._model(key=self.list_key, payload=t) for t in tasks]
        created = self._model.objects.using(self.alias).bulk_create(rows)
        self._notify()
        return [r.pk for r in created]

    def _notify(self) -> None:
        connection = connections[self.alias]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, '')", [channel_name(self.list_key)])

    def dequeue(self) -> list[Delivery] | None:
        limit = self.bulk
        connection = connections[self.alias]
        if self._waiter is None:
            path = None
            if connection.vendor == "sqlite" and not connection.is_in_memory_db():
                path = str(connection.settings_dict["NAME"])
            self._waiter = waiter_for(connection.vendor, self.list_key, path)
        self._waiter.arm(connection)  # before the claim, so no enqueue slips between
        rows = self._claim(connection, limit)
        if not rows and self._wait(connection):
            rows = self._claim(connection, limit)
        return [Delivery(pk, payload, attempts) for pk, payload, attempts in sorted(rows)] or None

    def _wait(self, connection) -> bool:
        """Block until new work may be there, or the waiter's timeout for ``poll``
        (see :mod:`djq_orm.wakeups`)."""
        timeout = self._waiter.timeout(float(self.conf.poll), float(self.conf.retry),
                                       float(self.max_wait))
        return self._waiter.wait(connection, timeout)

    def _claim(self, connection, limit: int) -> list[tuple]:
        """Claim up to ``limit`` rows: ``[(id, payload, attempts), ...]``.

        New rows (``lock IS NULL``) are claimed in id order straight off the
        ``(key, lock, id)`` index. Rows whose claim expired are looked for separately,
        every quarter of ``retry`` (:meth:`_expired_due`), along the same index's ``lock``
        range: one query for both (``lock IS NULL OR lock < ...``) cannot use the index
        for its order, so SQLite would read and sort the whole queue on every claim
        (measured: 0.44 ms a claim with 5 000 tasks queued, against 5 us)."""
        rows: list[tuple] = []
        if self._expired_due():
            rows = self._claim_where(connection, limit, expired=True)
        if len(rows) < limit:
            rows += self._claim_where(connection, limit - len(rows), expired=False)
        return rows

    def _expired_due(self) -> bool:
        now = time.monotonic()
        if now < self._reclaim_due:
            return False
        self._reclaim_due = now + float(self.conf.retry) / 4
        return True

    def _claim_where(self, connection, limit: int, expired: bool) -> list[tuple]:
        if connection.vendor == "postgresql":
            return self._claim_skip_locked(connection, limit, expired)
        if connection.vendor == "sqlite" and sqlite_returning():
            return self._claim_returning(connection, limit, expired)
        return self._claim_compare_and_set(limit, expired)

    def _claim_params(self) -> tuple:
        now = timezone.now()
        return now, now - timedelta(seconds=self.conf.retry)

    @staticmethod
    def _claimable(connection, expired: bool) -> tuple[str, str]:
        """The condition and the order of a claim: new rows by id, or rows whose claim
        expired (before the query's second parameter) by lock time."""
        lock = connection.ops.quote_name("lock")
        if expired:
            return f"{lock} < %s", lock
        return f"{lock} IS NULL", "id"

    def _claim_skip_locked(self, connection, limit: int, expired: bool) -> list[tuple]:
        """PostgreSQL: lock up to ``limit`` claimable rows, skipping rows other consumers
        hold, in a CTE that is evaluated exactly once (``MATERIALIZED``), then claim them."""
        table = connection.ops.quote_name(self._model._meta.db_table)
        where, order = self._claimable(connection, expired)
        sql = (
            f'WITH claim AS MATERIALIZED (SELECT id FROM {table} WHERE "key" = %s '
            f"AND {where} ORDER BY {order} LIMIT %s FOR UPDATE SKIP LOCKED) "
            f'UPDATE {table} AS q SET "lock" = %s, attempts = q.attempts + 1 FROM claim '
            f"WHERE q.id = claim.id RETURNING q.id, q.payload, q.attempts"
        )
        now, cutoff = self._claim_params()
        params = [self.list_key, *([cutoff] if expired else []), limit, now]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def _claim_returning(self, connection, limit: int, expired: bool) -> list[tuple]:
        """SQLite: one ``UPDATE ... RETURNING`` statement; SQLite runs one writer at a
        time, so no two consumers can claim the same row."""
        table = connection.ops.quote_name(self._model._meta.db_table)
        lock, key = connection.ops.quote_name("lock"), connection.ops.quote_name("key")
        where, order = self._claimable(connection, expired)
        sql = (
            f"UPDATE {table} SET {lock} = %s, attempts = attempts + 1 WHERE id IN ("
            f"SELECT id FROM {table} WHERE {key} = %s AND {where} "
            f"ORDER BY {order} LIMIT %s) RETURNING id, payload, attempts"
        )
        now, cutoff = self._claim_params()
        params = [now, self.list_key, *([cutoff] if expired else []), limit]
        with connection.cursor() as cursor:
            cursor.execute(sql, self._adapt(connection, params))
            return list(cursor.fetchall())

    @staticmethod
    def _adapt(connection, params: list) -> list:
        ops = connection.ops
        return [ops.adapt_datetimefield_value(p) if hasattr(p, "tzinfo") else p
                for p in params]

    def _claim_compare_and_set(self, limit: int, expired: bool) -> list[tuple]:
        now, cutoff = self._claim_params()
        claimable = (self._queue().filter(lock__lt=cutoff).order_by("lock") if expired
                     else self._queue().filter(lock__isnull=True).order_by("id"))
        candidates = list(claimable.values_list("id", flat=True)[:limit * 2])
        claimed = []
        for pk in candidates:
            row = self._model.objects.using(self.alias).filter(pk=pk)
            still = row.filter(lock__lt=cutoff) if expired else row.filter(lock__isnull=True)
            if still.update(lock=now, attempts=models_f("attempts") + 1):
                claimed.append(pk)
            if len(claimed) == limit:
                break
        return list(self._model.objects.using(self.alias).filter(pk__in=claimed)
                    .values_list("id", "payload", "attempts"))

    # -- receipts ---------------------------------------------------------------------------
    def acknowledges_in(self, using: str) -> bool:
        return using == self.alias  # plain DELETEs: they commit with the caller's atomic()

    def acknowledge(self, task_id: Any) -> None:
        self.delete(task_id)

    def acknowledge_many(self, task_ids: Iterable[Any]) -> None:
        # Plain SQL: the monitor calls this inside the transaction that saves the batch's
        # results, which on SQLite holds the database's one write lock that every enqueue
        # waits for, and QuerySet.delete() (its deletion collector, the compiled query)
        # spent longer there than the save itself (measured: 450 of 750 us per batch).
        ids = list(task_ids)
        if not ids:
            return
        connection = connections[self.alias]
        table = connection.ops.quote_name(self._model._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(ids), ACK_CHUNK):
                chunk = ids[start:start + ACK_CHUNK]
                cursor.execute(f"DELETE FROM {table} WHERE id IN "
                               f"({', '.join(['%s'] * len(chunk))})", chunk)

    def fail(self, task_id: Any) -> None:
        # A package this cluster cannot read is of no use to any cluster sharing its key.
        self.delete(task_id)

    def delete(self, task_id: Any) -> None:
        self.acknowledge_many([task_id])

    # -- queue management -------------------------------------------------------------------
    def purge_queue(self) -> None:
        self._queue().delete()

    def delete_queue(self) -> None:
        self.purge_queue()

    def queue_size(self) -> int:
        expired = self._expired()
        return (self._queue().filter(lock__isnull=True).count()
                + self._queue().filter(lock__lt=expired).count())

    def lock_size(self) -> int:
        return self._queue().filter(lock__gte=self._expired()).count()

    def ping(self) -> bool:
        connection = connections[self.alias]
        connection.ensure_connection()
        return connection.is_usable()

    def info(self) -> str:
        connection = connections[self.alias]
        version = ".".join(str(p) for p in connection.get_database_version())
        return f"Django ORM ({connection.vendor} {version}, database {self.alias!r})"

    def close(self) -> None:
        """Close this thread's connection to the ``orm`` database, unless the caller is
        inside a transaction on it (closing would roll back the caller's work)."""
        connection = connections[self.alias]
        if not connection.in_atomic_block:
            connection.close()


def models_f(name: str):
    from django.db.models import F

    return F(name)
