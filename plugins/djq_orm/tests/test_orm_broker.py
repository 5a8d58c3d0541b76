"""ORM-specific behaviour beyond the conformance kit: alias, replica routing, the OrmQ
helpers, the djq_orm.E001 check, the embedded default and SKIP LOCKED on PostgreSQL."""

import threading

import pytest
from django.conf import settings
from django.core import checks
from django.core.checks import run_checks
from django.db import connections, transaction

from djq import signing
from djq.brokers import get_broker
from djq.brokers.selection import select_broker
from djq.conf import Conf
from djq.plugins import plugins
from djq.testing import make_conf, signed_packages, unique_queue
from djq_orm.broker import OrmBroker
from djq_orm.models import OrmQ
from tests.services import require_postgres

HAS_PG = "pg" in settings.DATABASES


class SendReadsToReplica:
    """A router that would break any query not pinned to an alias ('replica' does not
    exist), as a read replica router would misroute the queue."""

    def db_for_read(self, model, **hints):
        return "replica"

    def db_for_write(self, model, **hints):
        return "replica"


def orm_errors():
    return [m for m in run_checks() if m.id and m.id.startswith("djq_orm.")]


# -- settings -------------------------------------------------------------------------------
def test_orm_alias_names_the_database():
    assert OrmBroker(conf=Conf({"orm": "pg"})).alias == "pg"
    assert OrmBroker(conf=Conf({})).alias == "default"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "pg"] if HAS_PG else ["default"])
def test_orm_alias_routes_every_query():
    require_postgres()
    broker = OrmBroker(unique_queue(), make_conf(orm="pg"))
    try:
        broker.enqueue_many(signed_packages(broker, 2))
        assert OrmQ.objects.using("pg").filter(key=broker.list_key).count() == 2
        assert not OrmQ.objects.using("default").filter(key=broker.list_key).exists()
        assert broker.queue_size() == 2
    finally:
        broker.delete_queue()


@pytest.mark.django_db(transaction=True)
def test_has_replica_is_accepted_and_queue_ignores_routers(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "orm": "default", "has_replica": True}
    assert [m for m in run_checks() if m.id and m.id.startswith("djq")
            and m.level >= checks.ERROR] == []
    settings.DATABASE_ROUTERS = [f"{__name__}.SendReadsToReplica"]
    broker = get_broker(unique_queue())
    try:
        broker.enqueue_many(signed_packages(broker, 3))
        assert broker.queue_size() == 3
        (delivery,) = broker.dequeue()
        assert broker.lock_size() == 1
        broker.acknowledge(delivery.ack_id)
        assert broker.queue_size() == 2
    finally:
        broker.delete_queue()


# -- checks ---------------------------------------------------------------------------------
def test_check_unknown_alias(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "orm": "nope"}
    assert orm_errors() == [checks.Error(
        "Q_CLUSTER['orm'] names database 'nope', which is not in DATABASES.",
        hint=f"Use one of: {', '.join(settings.DATABASES)}.",
        id="djq_orm.E001",
    )]


def test_check_known_alias(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "orm": "default"}
    assert orm_errors() == []


# -- the embedded default -------------------------------------------------------------------
def test_no_broker_key_gives_the_orm_broker(settings):
    settings.Q_CLUSTER = {"name": "djq-tests"}
    assert plugins.brokers()["orm"].default
    choice = select_broker(Conf({"name": "djq-tests"}))
    assert choice.reason == "embedded default"
    broker = get_broker()
    assert type(broker) is OrmBroker
    assert broker.alias == "default"
    assert broker.list_key == "djq-tests"


# -- admin-facing helpers -------------------------------------------------------------------
def _payload():
    package = {"id": "a1b2c3", "name": "six-alpha-bravo", "func": "math.floor",
               "args": (1.5,), "kwargs": {}, "group": "g"}
    return signing.dumps(package)


def test_ormq_helpers_read_the_verified_header():
    row = OrmQ(pk=7, key="default", payload=_payload())
    assert row.task_id() == "a1b2c3"
    assert row.name() == "six-alpha-bravo"
    assert row.func() == "math.floor"
    assert str(row) == "six-alpha-bravo"


@pytest.mark.parametrize("tamper", [
    lambda p: p[:-2] + ("AA" if not p.endswith("AA") else "BB"),          # signature
    lambda p: p.replace(".", ".x", 1),                                     # body
    lambda p: signing.dumps({"id": "x", "name": "evil", "func": "os.system"},
                            Conf({"name": "another-cluster"})),            # foreign salt
], ids=["signature", "body", "other-cluster"])
def test_ormq_helpers_show_nothing_for_a_tampered_payload(tamper):
    row = OrmQ(pk=7, key="default", payload=tamper(_payload()))
    assert row.header() == {}
    assert (row.task_id(), row.name(), row.func()) == (None, None, None)
    assert str(row) == "package 7"


# -- connections ----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_close_inside_a_transaction_keeps_the_callers_work():
    broker = OrmBroker(unique_queue(), make_conf())
    try:
        with transaction.atomic():
            broker.enqueue(signed_packages(broker, 1)[0])
            broker.close()
            assert broker.queue_size() == 1
        assert broker.queue_size() == 1
    finally:
        broker.delete_queue()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "pg"] if HAS_PG else ["default"])
def test_postgres_claim_skips_rows_locked_by_another_connection():
    """A row held by another transaction is skipped, not waited for (SKIP LOCKED)."""
    require_postgres()
    conf = make_conf(orm="pg", bulk=2, retry=600)
    broker = OrmBroker(unique_queue(), conf)
    first, second, third = signed_packages(broker, 3)
    broker.enqueue_many([first, second, third])
    result, errors = [], []

    def consume():
        other = OrmBroker(broker.list_key, conf)
        try:
            with connections["pg"].cursor() as cursor:
                cursor.execute("SET lock_timeout = '3s'")
            result.extend(other.dequeue() or [])
        except Exception as exc:
            errors.append(exc)
        finally:
            connections["pg"].close()

    try:
        with transaction.atomic(using="pg"):
            held = OrmQ.objects.using("pg").select_for_update().get(payload=first)
            thread = threading.Thread(target=consume)
            thread.start()
            thread.join(10)
            assert not thread.is_alive()
            assert not errors, errors
            assert [d.package for d in result] == [second, third]
            assert held.lock is None
        (last,) = broker.dequeue()
        assert last.package == first and last.attempt == 1
    finally:
        broker.delete_queue()


def test_check_warns_about_deferred_sqlite_transactions(settings):
    databases = {**settings.DATABASES}
    databases["default"] = {**databases["default"], "OPTIONS": {"timeout": 30}}
    settings.DATABASES = databases
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "orm": "default"}
    messages = [m for m in run_checks(tags=["djq"]) if m.id.startswith("djq_orm")]
    assert messages == [checks.Warning(
        "The ORM broker's SQLite database 'default' does not use transaction_mode "
        "IMMEDIATE: busy clusters will hit 'database is locked'.",
        hint="Set DATABASES['default']['OPTIONS']['transaction_mode'] = 'IMMEDIATE' "
             "(and WAL: 'init_command': 'PRAGMA journal_mode=WAL;').",
        id="djq_orm.W001")]


@pytest.mark.django_db(transaction=True)
def test_a_claim_on_sqlite_reads_the_index_in_order_not_the_whole_queue():
    """Claiming must not cost more as the queue grows: new rows come off the
    (key, lock, id) index in id order, and expired claims off its lock range, with no
    sort of every queued row (SQLite: no temporary B-tree)."""
    from django.test.utils import CaptureQueriesContext

    broker = OrmBroker(unique_queue("djq-orm-plan"), make_conf(orm="default", retry=60,
                                                               bulk=4))
    connection = connections["default"]
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's query plan")
    broker.enqueue_many(signed_packages(broker, 50))
    with CaptureQueriesContext(connection) as queries:
        assert len(broker.dequeue()) == 4  # the first claim looks for expired ones too
        assert len(broker.dequeue()) == 4
    claims = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(claims) == 3  # expired (none), new, new
    with connection.cursor() as cursor:
        for sql in claims:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "djq_ormq_claim" in plan and "TEMP B-TREE" not in plan, plan
    broker.purge_queue()
