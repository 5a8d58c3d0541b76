"""An idle ORM broker waits for work instead of polling: a consumer blocked in dequeue()
wakes up when another connection enqueues (LISTEN/NOTIFY, PRAGMA data_version)."""

import threading
import uuid

import pytest
from django.conf import settings
from django.db import connections

from djq.testing import make_conf
from djq_orm.broker import OrmBroker
from djq_orm.wakeups import channel_name
from tests.services import require_postgres

HAS_PG = "pg" in settings.DATABASES
LONG_POLL = 30  # a wake-up must beat this by far; an expired wait would take 30 s


def dequeue_in_thread(make):
    """Start a consumer blocked in dequeue(); return (thread, result holder)."""
    found, started = [], threading.Event()

    def consume():
        broker = make()
        try:
            broker._claim(connections[broker.alias], 1)  # connect before the enqueue
            started.set()
            found.append(broker.dequeue())
        finally:
            connections[broker.alias].close()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    assert started.wait(10)
    return thread, found


def wakes_up(orm_alias):
    key = f"wake-{uuid.uuid4().hex[:8]}"

    def make():
        return OrmBroker(key, make_conf(orm=orm_alias, poll=LONG_POLL))

    thread, found = dequeue_in_thread(make)
    producer = make()
    try:
        producer.enqueue("package")
        thread.join(10)
        assert not thread.is_alive(), "the waiting consumer did not wake up"
        assert [d.package for d in found[0]] == ["package"]
    finally:
        producer.delete_queue()


@pytest.mark.django_db(transaction=True, databases=["default"])
def test_sqlite_consumer_wakes_on_enqueue():
    wakes_up("default")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "pg"] if HAS_PG else ["default"])
def test_postgres_consumer_wakes_on_notify():
    require_postgres()
    wakes_up("pg")


def test_channel_names_are_short_identifiers():
    name = channel_name("a queue with spaces and a very long name " * 5)
    assert name.startswith("djq_") and len(name) < 63 and name.isidentifier()


class SqliteConn:
    """The two things a waiter uses of a Django connection, over a plain sqlite3 one."""

    def __init__(self, path):
        import sqlite3

        self.connection = sqlite3.connect(path, isolation_level=None)

    def ensure_connection(self):
        pass


def test_sqlite_waiter_backs_off_when_idle_and_speeds_up_on_work(tmp_path):
    import sqlite3
    import time as clock

    from djq_orm.wakeups import SqliteWaiter

    path = str(tmp_path / "w.sqlite3")
    waiter, mine, other = SqliteWaiter(), SqliteConn(path), sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE t (x)")
    waiter.active = clock.monotonic() - 10  # idle for a while
    assert waiter.wait(mine, 0.3) is False
    assert waiter.interval == SqliteWaiter.slow
    other.execute("INSERT INTO t VALUES (1)")
    assert waiter.wait(mine, 5) is True
    assert waiter.interval == SqliteWaiter.fast


def test_sqlite_commit_between_claim_and_wait_is_not_missed(tmp_path):
    """The broker arms the waiter before it claims: a commit that lands after the claim
    and before the wait ends the wait at once (it used to wait out ``poll``)."""
    import sqlite3

    from djq_orm.wakeups import SqliteWaiter

    path = str(tmp_path / "r.sqlite3")
    waiter, mine, other = SqliteWaiter(), SqliteConn(path), sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE t (x)")
    waiter.arm(mine)
    other.execute("INSERT INTO t VALUES (1)")  # the enqueue, after the (empty) claim
    assert waiter.wait(mine, LONG_POLL) is True
