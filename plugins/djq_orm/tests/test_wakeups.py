"""An idle ORM broker waits for work instead of polling: a consumer blocked in dequeue()
wakes up when another connection enqueues (LISTEN/NOTIFY, PRAGMA data_version)."""

import sys
import threading
import time
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


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="inotify is Linux's; elsewhere the waiter polls")


@linux_only
def test_file_watch_wakes_on_the_database_and_its_wal_only(tmp_path):
    from djq_orm.filewatch import FileWatch

    watch = FileWatch.of_database(str(tmp_path / "db.sqlite3"))
    assert watch is not None
    assert watch.wait(0.05) is False  # nothing written
    (tmp_path / "unrelated.txt").write_text("x")
    assert watch.wait(0.05) is False  # another file in the same directory
    (tmp_path / "db.sqlite3-wal").write_bytes(b"frame")
    assert watch.wait(5) is True
    (tmp_path / "db.sqlite3").write_bytes(b"page")
    assert watch.wait(5) is True
    watch.close()


@linux_only
def test_idle_sqlite_waiter_sleeps_on_the_files_and_wakes_on_commit(tmp_path):
    """Backed off to its slowest interval, the waiter stops polling: with that interval
    set to a minute only the file watch can end the wait before its 5 s timeout."""
    import sqlite3

    from djq_orm.wakeups import SqliteWaiter

    path = str(tmp_path / "idle.sqlite3")
    mine = SqliteConn(path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x)")
    waiter = SqliteWaiter(path)
    waiter.arm(mine)
    waiter.slow = waiter.interval = 60.0
    timer = threading.Timer(0.3, other.execute, ["INSERT INTO t VALUES (1)"])
    timer.start()
    try:
        assert waiter.wait(mine, 5) is True
    finally:
        timer.cancel()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "pg"] if HAS_PG else ["default"])
def test_postgres_wait_takes_every_queued_notification_at_once():
    """A burst of enqueues queues one notification each; one wake-up must take them all,
    else the pusher wakes (and claims nothing) once per stale notification."""
    require_postgres()
    from djq_orm.wakeups import PostgresWaiter

    key = f"burst-{uuid.uuid4().hex[:8]}"
    producer = OrmBroker(key, make_conf(orm="pg", poll=LONG_POLL))
    listener = connections.create_connection("pg")  # the waiting pusher's own connection
    waiter = PostgresWaiter(channel_name(key))
    try:
        waiter.arm(listener)
        for n in range(30):
            producer.enqueue(f"package {n}")  # each commits with its own pg_notify
        time.sleep(1)  # the server delivers them to an idle listener asynchronously
        with listener.cursor() as cursor:  # the pusher's claim: psycopg sets aside the
            cursor.execute("SELECT 1")  # notifications it reads meanwhile (its backlog)
        assert waiter.wait(listener, 10) is True
        assert waiter.wait(listener, 0.2) is False, "a stale notification woke the wait"
    finally:
        listener.close()
        producer.delete_queue()
