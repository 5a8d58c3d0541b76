"""Redis-specific behaviour beyond the conformance kit: configuration, key layout,
reclaiming from a consumer gone for good, blocking dequeue, selection, no KEYS."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from djq_redis import CAPABILITIES
from djq_redis.broker import RedisBroker, stream_key
from djq_redis.connection import SPEC_DEFAULTS, redis_kwargs

from djq.brokers import get_broker
from djq.brokers.selection import select_broker
from djq.conf import Conf
from djq.stats import store_name
from djq.testing import make_conf, poll, signed_packages, unique_queue

PACKAGE = Path(__file__).resolve().parents[1] / "djq_redis"


@pytest.fixture
def make(redis_server):
    """``make(queue=None, **conf)`` -> a broker; every queue made is deleted afterwards."""
    made = []

    def build(queue=None, redis=None, **overrides):
        broker = RedisBroker(queue or unique_queue("djq-redis"),
                             make_conf(redis=redis or redis_server, **overrides))
        made.append(broker)
        return broker

    yield build
    for broker in made:
        broker.delete_queue()
        broker.close()


# -- configuration ----------------------------------------------------------------------
def test_spec_defaults_become_redis_py_keywords():
    kwargs = redis_kwargs({})
    assert SPEC_DEFAULTS == {"host": "localhost", "port": 6379, "db": 0, "password": None,
                             "socket_timeout": None, "charset": "utf-8", "errors": "strict",
                             "unix_socket_path": None}
    assert kwargs["encoding"] == "utf-8" and kwargs["encoding_errors"] == "strict"
    assert "charset" not in kwargs and "errors" not in kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("localhost", 6379, 0)
    assert redis_kwargs({"host": "h", "db": 3})["db"] == 3


def test_dict_configuration_reaches_the_client(redis_server):
    if isinstance(redis_server, str):
        pytest.skip("the tests run against DJQ_TEST_REDIS_URL")
    broker = RedisBroker("q", Conf({"redis": {**redis_server, "db": 5, "socket_timeout": 3}}))
    kwargs = broker.connection.connection_pool.connection_kwargs
    assert (kwargs["port"], kwargs["db"], kwargs["socket_timeout"]) == (
        redis_server["port"], 5, 3)
    # A blocking read outlasting the socket timeout extends the read's timeout.
    short = RedisBroker(unique_queue("djq-redis-short"),
                        Conf({"redis": {**redis_server, "socket_timeout": 0.2}}))
    try:
        short.max_wait = 0.6
        assert short.dequeue() is None  # no TimeoutError after 0.2 s
    finally:
        short.delete_queue()
        short.close()


def test_a_blocking_read_retried_after_a_lost_connection_still_waits_its_block(
        make, redis_server, redis_client):
    """The server drops the connection (here ``CLIENT KILL``; a restart, a proxy's idle
    cut in production): the retry reconnects and blocks for ``max_wait`` again with the
    read timeout extended as before, instead of timing out at ``socket_timeout``."""
    if isinstance(redis_server, str):
        pytest.skip("the tests run against DJQ_TEST_REDIS_URL")
    broker = make(redis={**redis_server, "socket_timeout": 0.2}, retry=60)
    broker.max_wait = 0.0
    assert broker.dequeue() is None  # connected (and the reclaim scan is done)
    mine = broker._pinned_conn()
    redis_client.client_kill("%s:%s" % mine._sock.getsockname()[:2])
    broker.max_wait = 0.6
    started = time.monotonic()
    assert broker.dequeue() is None  # no TimeoutError after 0.2 s
    assert time.monotonic() - started >= 0.5  # it blocked, on a new connection
    (signed,) = signed_packages(broker, 1)
    broker.enqueue(signed)
    assert [d.package for d in broker.dequeue()] == [signed]


def test_url_configuration(make, redis_client):
    kwargs = redis_client.get_connection_kwargs()
    url = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"
    broker = make(redis=url, retry=60)
    broker.enqueue_many(signed_packages(broker, 2))
    assert [d.attempt for d in poll(broker, 2)] == [1, 1]
    assert re.fullmatch(r"Redis \d+\.\d+\.\d+", broker.info())


def test_block_and_reclaim_interval_follow_retry_and_max_wait(make):
    broker = make(retry=60)
    assert broker.reclaim_interval == 15.0 and broker.max_wait == 1.0  # outside a cluster
    broker.max_wait = 0.0  # below 10 ms: a read that does not block
    assert broker.dequeue() is None  # the first reclaim ran: the next is due in 15 s
    now = time.monotonic()
    assert broker.block_ms(now) is None
    broker.max_wait = 1.0
    assert broker.block_ms(now) == 1000
    broker.max_wait = 30.0  # an idle cluster's pusher: it interrupts the wait itself
    assert 14_000 <= broker.block_ms(now) <= 15_000  # not past the next reclaim
    assert broker.block_ms(now + 15) is None  # the reclaim is due: do not block
    short = make(retry=1)
    short.max_wait = 0.0
    short.dequeue()
    short.max_wait = 1.0
    assert short.block_ms(time.monotonic()) <= 250


# -- key layout ---------------------------------------------------------------------------
def test_one_stream_per_queue_and_nothing_left_after_acknowledging(make, redis_client):
    broker = make(retry=60, bulk=10)
    key = stream_key(broker.list_key)
    assert key == f"djq:{{{broker.list_key}}}:q"
    broker.enqueue_many(signed_packages(broker, 3))
    assert redis_client.type(key) == b"stream"
    deliveries = poll(broker, 3)
    assert redis_client.xpending(key, "djq")["pending"] == 3
    broker.acknowledge_many([d.ack_id for d in deliveries])
    assert redis_client.xlen(key) == 0
    assert redis_client.xpending(key, "djq")["pending"] == 0
    broker.delete_queue()
    assert not redis_client.exists(key)


def test_no_keys_command_anywhere():
    """Neither the Python code nor the Lua scripts list keys (KEYS is O(N) and blocks
    the server); in Lua, ``KEYS[n]`` is the script's declared keys and is fine."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".lua"):
            continue
        text = path.read_text()
        for pattern in (r"""call\(\s*['"]keys['"]""", r"""execute_command\(\s*['"]keys""",
                        r"\.keys\(", r"scan_iter\(", r"""['"]SCAN['"]"""):
            if re.search(pattern, text, re.IGNORECASE):
                offenders.append(f"{path.name}: {pattern}")
    assert not offenders, offenders


# -- receipts -----------------------------------------------------------------------------
def test_packages_of_a_consumer_gone_for_good_come_back_counting_attempts(make):
    """A consumer takes a bulk and disappears; another gets every package after retry
    (not before), with the delivery counted, and again after the next retry."""
    gone = make(retry=1, bulk=5)
    signed = signed_packages(gone, 4)
    gone.enqueue_many(signed)
    taken = poll(gone, 4)
    assert sorted(d.package for d in taken) == sorted(signed)
    gone.close()
    survivor = make(gone.list_key, retry=1, bulk=5)
    assert survivor.dequeue() is None  # inside retry: still invisible
    back = poll(survivor, 4, timeout=6)
    assert sorted(d.package for d in back) == sorted(signed)
    assert {d.attempt for d in back} == {2}
    again = poll(survivor, 4, timeout=6)
    assert {d.attempt for d in again} == {3}
    survivor.acknowledge_many([d.ack_id for d in again])
    assert (survivor.queue_size(), survivor.lock_size()) == (0, 0)


def test_acknowledging_many_ids_at_once(make):
    broker = make(retry=60, bulk=2500)
    producer = make(broker.list_key)
    producer.enqueue_many(signed_packages(producer, 2500))
    deliveries = poll(broker, 2500)
    assert len(deliveries) == 2500 and broker.lock_size() == 2500
    broker.acknowledge_many(d.ack_id for d in deliveries)
    assert (broker.queue_size(), broker.lock_size()) == (0, 0)


def test_acknowledging_after_the_queue_is_gone_is_harmless(make):
    broker = make(retry=60)
    broker.enqueue(signed_packages(broker, 1)[0])
    (delivery,) = poll(broker, 1)
    broker.purge_queue()
    broker.acknowledge(delivery.ack_id)
    broker.delete_queue()
    broker.acknowledge(delivery.ack_id)
    broker.fail(delivery.ack_id)
    assert (broker.queue_size(), broker.lock_size()) == (0, 0)


def test_packages_enqueued_before_any_consumer_and_after_delete_queue(make):
    broker = make(retry=60, bulk=10)
    first = signed_packages(broker, 2)
    broker.enqueue_many(first)  # no group exists yet
    assert sorted(d.package for d in poll(broker, 2)) == sorted(first)
    broker.delete_queue()  # the group goes with the stream
    second = signed_packages(broker, 2, start=5)
    broker.enqueue_many(second)
    assert broker.queue_size() == 2
    assert sorted(d.package for d in poll(broker, 2)) == sorted(second)


# -- blocking -----------------------------------------------------------------------------
def test_dequeue_blocks_until_a_package_arrives(make):
    consumer = make(retry=60)
    producer = make(consumer.list_key)
    assert consumer.dequeue() is None  # the first call also ran the reclaim scan
    (signed,) = signed_packages(producer, 1)
    timer = threading.Timer(0.2, producer.enqueue, args=[signed])
    timer.start()
    try:
        got = consumer.dequeue()  # one call: it waits for the package
    finally:
        timer.join()
    assert got is not None and [d.package for d in got] == [signed]


def test_a_blocked_dequeue_survives_its_queue_being_purged(make):
    consumer = make(retry=60)
    other = make(consumer.list_key)
    other.enqueue(signed_packages(other, 1)[0])
    poll(consumer, 1)
    errors = []

    def blocked():
        try:
            consumer.dequeue()
        except Exception as exc:  # noqa: BLE001 - any error fails the test below
            errors.append(exc)

    thread = threading.Thread(target=blocked)
    thread.start()
    time.sleep(0.1)
    other.delete_queue()
    thread.join(5)
    assert not errors, errors
    other.enqueue(signed_packages(other, 1)[0])
    assert len(poll(consumer, 1)) == 1


# -- selection ----------------------------------------------------------------------------
def test_q_cluster_redis_selects_this_broker_and_its_stat_store(settings, redis_server):
    settings.Q_CLUSTER = {"name": unique_queue(), "redis": redis_server}
    broker = get_broker()
    try:
        assert type(broker) is RedisBroker and broker.list_key == settings.Q_CLUSTER["name"]
        assert broker.capabilities == CAPABILITIES
        assert CAPABILITIES.receipts and CAPABILITIES.blocking and CAPABILITIES.bulk
        assert not CAPABILITIES.needs_cache
        assert store_name(Conf(settings.Q_CLUSTER)) == "redis"
    finally:
        broker.close()


def test_django_redis_key_selects_this_broker():
    choice = select_broker(Conf({"django_redis": "default"}))
    assert choice.spec.name == "redis" and choice.reason == "Q_CLUSTER['django_redis']"
    assert store_name(Conf({"django_redis": "default"})) == "redis"


def test_django_redis_connection_is_reused(settings, redis_server):
    pytest.importorskip("django_redis")
    url = redis_server if isinstance(redis_server, str) else (
        f"redis://{redis_server['host']}:{redis_server['port']}/0")
    settings.CACHES = {**settings.CACHES, "djr": {
        "BACKEND": "django_redis.cache.RedisCache", "LOCATION": url}}
    from django_redis import get_redis_connection

    broker = RedisBroker(unique_queue(), make_conf(django_redis="djr", retry=60))
    try:
        assert broker.connection is get_redis_connection("djr")
        broker.enqueue(signed_packages(broker, 1)[0])
        assert len(poll(broker, 1)) == 1
        broker.close()  # leaves the cache's connections alone
        assert broker.ping()
    finally:
        broker.delete_queue()


def test_deliveries_read_every_reply_shape_redis_py_gives():
    """Raw replies (the pinned connection) and replies through redis-py's response
    callbacks (a django-redis client, the retry after a connection error), RESP2 and
    RESP3; no server needed."""
    raw2 = [[b"djq:q", [[b"1-0", [b"p", b"a"]], [b"2-0", [b"x", b"1", b"p", b"b"]]]]]
    raw3 = {b"djq:q": [[b"1-0", [b"p", b"a"]], [b"2-0", [b"x", b"1", b"p", b"b"]]]}
    parsed2 = [[b"djq:q", [(b"1-0", {b"p": b"a"}), (b"2-0", {b"x": b"1", b"p": b"b"})]]]
    parsed3 = {b"djq:q": [[(b"1-0", {b"p": b"a"}), (b"2-0", {b"x": b"1", b"p": b"b"})]]}
    unified = {b"djq:q": [(b"1-0", {b"p": b"a"}), (b"2-0", {b"x": b"1", b"p": b"b"})]}
    for reply in (raw2, raw3, parsed2, parsed3, unified):
        got = [(d.ack_id, d.package) for d in RedisBroker._deliveries(reply)]
        assert got == [("1-0", "a"), ("2-0", "b")], reply
    one = {b"djq:q": [[b"1-0", [b"p", b"a"]]]}  # a single raw entry is not unwrapped
    assert [d.package for d in RedisBroker._deliveries(one)] == ["a"]
    for empty in (None, [], {}, {b"djq:q": [[]]}, {b"djq:q": []}):
        assert RedisBroker._deliveries(empty) == []
