"""SQS-specific behaviour beyond the conformance kit, on moto's SQS server."""

import pytest

from djq import signing
from djq.conf import conf
from djq.errors import ConfigurationError, PackageTooLarge
from djq.tasks import async_task
from djq.testing import deliveries, make_conf, poll, signed_packages, wait_for
from djq_sqs.broker import SqsBroker


@pytest.fixture
def make_broker(sqs_options, sqs_queue):
    built = []

    def make(list_key=sqs_queue, **overrides):
        broker = SqsBroker(list_key, make_conf(sqs=sqs_options, **overrides))
        built.append(broker)
        return broker
    yield make
    for broker in built:
        broker.close()


@pytest.fixture
def on_queue(settings, sqs_options, sqs_queue):
    """``Q_CLUSTER`` naming the test's queue, so async_task signs for it."""
    def configure(**options):
        settings.Q_CLUSTER = {"name": sqs_queue, "sqs": sqs_options, **options}
        conf.reload()
        return SqsBroker(conf=conf)
    return configure


def test_queue_is_created_on_first_use(make_broker, sqs_queue):
    broker = make_broker()
    assert broker._find_queue() is None
    assert broker.queue_size() == 0
    assert broker._find_queue().endswith(f"/{sqs_queue}")
    assert "Amazon SQS" in broker.info() and sqs_queue in broker.info()


def test_bulk_dequeue_takes_up_to_bulk(make_broker):
    broker = make_broker(bulk=7, retry=600)
    signed = signed_packages(broker, 25)
    ids = broker.enqueue_many(signed)
    assert len(ids) == 25 and len(set(ids)) == 25
    got = []
    for _ in range(10):
        batch = deliveries(broker.dequeue())
        assert len(batch) <= 7
        got += batch
        if len(got) == 25:
            break
    assert sorted(d.package for d in got) == sorted(signed)
    assert all(d.attempt == 1 for d in got)
    assert broker.lock_size() == 25 and broker.queue_size() == 0
    broker.acknowledge_many([d.ack_id for d in got])  # 25 handles: three batch calls
    wait_for(broker.lock_size, 0, 5, "lock_size() after acknowledge_many")


def test_enqueue_many_splits_batches_at_256_kb(make_broker):
    from djq.testing import package_of_size

    broker = make_broker(retry=600, bulk=10)
    big = [package_of_size(broker, 100_000)[1] for _ in range(5)]  # 500 KB in all
    assert len(broker.enqueue_many(big)) == 5
    assert sorted(d.package for d in poll(broker, 5, 10)) == sorted(big)


def test_release_makes_a_message_visible_at_once(make_broker):
    broker = make_broker(retry=600)
    (signed,) = signed_packages(broker, 1)
    broker.enqueue(signed)
    (first,) = poll(broker, 1)
    broker.release(first.ack_id)
    (again,) = poll(broker, 1)
    assert (again.package, again.attempt) == (signed, 2)


def test_oversize_package_fails_at_async_task(on_queue):
    broker = on_queue()
    with pytest.raises(PackageTooLarge) as info:
        async_task("tests.tasks.echo_group", "x" * 300_000, broker=broker)
    message = str(info.value)
    size = int(message.split(" is ")[1].split()[0])
    assert size > 262144
    assert message == (
        f"Task tests.tasks.echo_group is {size} bytes signed, over the SqsBroker limit of "
        "262144 bytes. Pass smaller arguments (e.g. ids instead of objects) or set "
        "Q_CLUSTER['compress'] = True.")
    assert broker.queue_size() == 0


def test_compress_lets_the_same_task_through(on_queue):
    broker = on_queue(compress=True)
    tid = async_task("tests.tasks.echo_group", "x" * 300_000, broker=broker)
    (delivery,) = poll(broker, 1)
    package = signing.loads(delivery.package, conf)
    assert package["id"] == tid and package["args"] == ("x" * 300_000,)


def test_missing_region_is_a_configuration_error(sqs_queue, monkeypatch):
    for var in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CONFIG_FILE", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ConfigurationError, match=r"Q_CLUSTER\['sqs'\]\['aws_region'\]"):
        SqsBroker(sqs_queue, make_conf(sqs={}))


# -- FIFO queues ------------------------------------------------------------------------
@pytest.fixture
def fifo_broker(sqs_options, sqs_queue):
    name = f"{sqs_queue}.fifo"
    broker = SqsBroker(name, make_conf(name=name, sqs=sqs_options, retry=600, bulk=10))
    yield broker
    broker.delete_queue()
    broker.close()


def fifo_package(broker, n, group=None):
    package = {"id": f"task-{n}", "name": f"t{n}", "func": "math.floor", "args": [n],
               "kwargs": {}, "group": group}
    return signing.dumps(package, broker.conf)


def test_fifo_round_trip_in_order(fifo_broker):
    attributes = fifo_broker.client.get_queue_attributes(
        QueueUrl=fifo_broker.queue_url, AttributeNames=["FifoQueue"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    signed = [fifo_package(fifo_broker, n) for n in range(15)]
    fifo_broker.enqueue_many(signed[:12])
    for s in signed[12:]:
        fifo_broker.enqueue(s)
    got = []
    while len(got) < 15:
        batch = deliveries(fifo_broker.dequeue())
        assert batch, f"only {len(got)} of 15 came back"
        got += batch
        # One message group (ungrouped tasks): the next batch waits for this one.
        fifo_broker.acknowledge_many([d.ack_id for d in batch])
    assert [d.package for d in got] == signed
    assert signing.loads(got[0].package, fifo_broker.conf)["args"] == [0]


def test_fifo_deduplicates_by_task_id(fifo_broker):
    signed = fifo_package(fifo_broker, 1)
    fifo_broker.enqueue(signed)
    fifo_broker.enqueue(signed)  # the same task id within five minutes: queued once
    (delivery,) = poll(fifo_broker, 2, timeout=3)
    assert delivery.package == signed


def test_fifo_groups_are_independent(fifo_broker):
    """A task's group is its message group: one group's unacknowledged tasks do not hold
    back another group's."""
    a = [fifo_package(fifo_broker, n, group="alpha") for n in range(3)]
    b = [fifo_package(fifo_broker, 10 + n, group="beta") for n in range(3)]
    fifo_broker.enqueue_many(a + b)
    got = poll(fifo_broker, 6, timeout=5)
    packages = [d.package for d in got]
    assert sorted(packages) == sorted(a + b)
    assert [p for p in packages if p in a] == a and [p for p in packages if p in b] == b
