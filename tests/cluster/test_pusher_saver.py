"""The pusher's unpacking and the monitor's save-then-acknowledge, in process."""

from __future__ import annotations

import multiprocessing

import pytest
from django.utils import timezone

from djq import signing
from djq.brokers import Delivery
from djq.cluster import failures
from djq.cluster.parcel import open_parcel
from djq.cluster.pusher import unpack
from djq.cluster.reporting import build_reporters
from djq.cluster.saver import save_batch
from djq.cluster.slots import SlotTable
from djq.cluster.wake import Wake
from djq.cluster.worker import run_parcel
from djq.conf import conf
from djq.hookspecs import hookimpl
from djq.models import Task
from djq.registry import ReporterSpec


class FakeBroker:
    def __init__(self):
        self.failed, self.acked = [], []

    def fail(self, ack_id):
        self.failed.append(ack_id)

    def acknowledge_many(self, ids):
        self.acked.extend(ids)


def package(**extra):
    return {"id": "a" * 32, "name": "n", "func": "tests.tasks.add", "args": (1, 2),
            "kwargs": {}, "started": timezone.now(), **extra}


def test_delivery_and_plain_tuple_are_unpacked():
    broker = FakeBroker()
    kind, parcel = unpack(Delivery(7, signing.dumps(package()), 2), broker, conf)
    assert kind == "task" and parcel.ack_id == 7 and parcel.attempt == 2
    assert parcel.header["id"] == "a" * 32 and isinstance(parcel.body, str)  # not opened
    pkg = open_parcel(parcel, conf)
    assert pkg["ack_id"] == 7 and pkg["attempt"] == 2 and pkg["args"] == (1, 2)
    kind, parcel = unpack((8, signing.dumps(package())), broker, conf)
    assert kind == "task" and parcel.ack_id == 8 and parcel.attempt == 1


def test_bad_signature_is_failed_never_unpacked(caplog):
    broker = FakeBroker()
    assert unpack((9, signing.dumps(package()) + "x"), broker, conf) is None
    assert broker.failed == [9]
    assert "9" in caplog.text and "discarded" in caplog.text


def test_unreadable_body_becomes_a_failure(settings):
    """The pusher passes the verified body on; the worker that opens it records the
    failure instead of running anything."""
    broker = FakeBroker()
    signed = signing.dumps(package(group="g"))
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "serializer": "json"}
    kind, parcel = unpack((10, signed), broker, conf)
    assert kind == "task"
    ctx = multiprocessing.get_context("fork")
    table = SlotTable(ctx, 1)
    pkg = run_parcel(parcel, conf, table.slot(1), Wake(ctx, table))
    assert pkg["id"] == "a" * 32 and pkg["group"] == "g"
    assert pkg["broker_fail"] and not pkg["success"] and pkg["ack_id"] == 10
    assert broker.failed == []  # failed only once the Failure is saved


def test_over_max_attempts_is_not_run(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "max_attempts": 2}
    kind, pkg = unpack(Delivery(1, signing.dumps(package()), 3), FakeBroker(), conf)
    assert kind == "result" and pkg["ack"] and "MaxAttemptsReached" in pkg["result"]


def executed(tid, success, **extra):
    return package(id=tid, success=success, result=3 if success else "ValueError",
                   stopped=timezone.now(), attempt=1, **extra)


@pytest.mark.django_db(transaction=True)
def test_acknowledges_after_save_by_the_rules(settings):
    broker = FakeBroker()
    batch = [executed("1" * 32, True, ack_id=1), executed("2" * 32, False, ack_id=2),
             executed("3" * 32, False, ack_id=3, ack_failure=True),
             failures.max_attempts_reached(executed("4" * 32, True, ack_id=4), 3, 2),
             failures.unreadable({"id": "5" * 32, "name": "x", "func": "f"}, 5, 1, "bad")]
    save_batch(batch, broker, conf, [])
    assert Task.objects.count() == 5
    assert sorted(broker.acked) == [1, 3, 4] and broker.failed == [5]
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "ack_failures": True}
    broker = FakeBroker()
    save_batch([executed("6" * 32, False, ack_id=6)], broker, conf, [])
    assert broker.acked == [6]


@pytest.mark.django_db(transaction=True)
def test_orm_broker_acknowledges_in_the_results_transaction():
    """Results and acknowledgements commit together, or neither does."""
    from djq.brokers import get_broker
    from djq.cluster.saver import shares_database
    from djq.results import save_results
    from djq_orm.models import OrmQ

    broker = get_broker()
    assert shares_database(broker) and not shares_database(FakeBroker())
    broker.enqueue_many(["p1", "p2"])
    ids = [d.ack_id for d in broker.dequeue()] + [d.ack_id for d in broker.dequeue() or []]
    assert len(ids) == 2

    def boom():
        broker.acknowledge_many(ids)
        raise RuntimeError("the commit never comes")

    with pytest.raises(RuntimeError):
        save_results([executed("7" * 32, True, ack_id=ids[0])], conf, in_transaction=boom)
    assert not Task.objects.filter(pk="7" * 32).exists() and OrmQ.objects.count() == 2

    save_batch([executed("7" * 32, True, ack_id=ids[0]),
                executed("8" * 32, True, ack_id=ids[1])], broker, conf, [])
    assert Task.objects.filter(pk__in=["7" * 32, "8" * 32]).count() == 2
    assert OrmQ.objects.count() == 0


class Reporter:
    calls = []

    def __init__(self, **options):
        self.options = options

    def report(self, exc_info, context):
        if self.options.get("explode"):
            raise RuntimeError("reporter down")
        Reporter.calls.append((self.options, exc_info, context))


class ReporterPlugin:
    @hookimpl
    def djq_register_reporters(self, registry):
        registry.register_reporter(ReporterSpec("testrep", Reporter))
        registry.register_reporter(ReporterSpec("brokenrep", f"{__name__}.Reporter"))


@pytest.mark.django_db(transaction=True)
def test_reporters_get_failures_with_context(plugin_manager, settings, caplog):
    plugin_manager.register(ReporterPlugin(), "testrep-plugin")
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "error_reporter": {
        "testrep": {"token": "t"}, "brokenrep": {"explode": True}, "missing": {}}}
    reporters = build_reporters(conf)
    assert len(reporters) == 2 and "'missing' is configured but not installed" in caplog.text
    Reporter.calls.clear()
    broker = FakeBroker()
    save_batch([executed("7" * 32, True, ack_id=7), executed("8" * 32, False, ack_id=8)],
               broker, conf, reporters)
    assert len(Reporter.calls) == 1
    options, exc_info, context = Reporter.calls[0]
    assert options == {"token": "t"} and exc_info is None
    assert context["id"] == "8" * 32 and context["func"] == "tests.tasks.add"
    assert context["error"] == "ValueError" and context["args"] == (1, 2)
    assert "reporter down" in caplog.text  # logged, and nothing else disturbed
    assert broker.acked == [7] and Task.objects.count() == 2
