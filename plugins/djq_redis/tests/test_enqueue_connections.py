"""``enqueue`` sends ``XADD`` on a connection pinned to the enqueuing thread (cheaper than
taking one from the pool per task): one per thread, reused, never shared with a forked
child, and reconnecting after ``close()`` or a server restart like the pooled path."""

from __future__ import annotations

import os
import threading

import pytest
from djq_redis.broker import RedisBroker

from djq.testing import make_conf, poll, signed_packages, unique_queue


@pytest.fixture
def broker(redis_server):
    made = RedisBroker(unique_queue("djq-redis-enq"), make_conf(redis=redis_server, retry=60,
                                                                 bulk=50))
    yield made
    made.delete_queue()
    made.close()


def test_each_thread_enqueues_on_its_own_reused_connection(broker):
    main = broker._pinned_conn()
    assert broker._pinned_conn() is main
    seen, errors = [], []

    def produce(n):
        try:
            client = broker._pinned_conn()
            for signed in signed_packages(broker, 5, start=n * 5):
                broker.enqueue(signed)
            seen.append((client, broker._pinned_conn()))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors, errors
    assert all(first is again for first, again in seen)
    clients = {id(first) for first, _ in seen}
    assert len(clients) == 3 and id(main) not in clients
    assert len(poll(broker, 15)) == 15


def test_close_then_enqueue_reconnects(broker):
    broker.enqueue(signed_packages(broker, 1)[0])
    broker.close()
    broker.enqueue(signed_packages(broker, 1, start=1)[0])
    assert broker.queue_size() == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_never_uses_the_parents_pinned_connection(broker):
    parent = broker._pinned_conn()
    broker.enqueue(signed_packages(broker, 1)[0])
    pid = os.fork()
    if pid == 0:  # child: report through the exit code only
        code = 1
        try:
            child = broker._pinned_conn()
            broker.enqueue(signed_packages(broker, 1, start=1)[0])
            code = 0 if child is not parent else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert broker._pinned_conn() is parent
    broker.enqueue(signed_packages(broker, 1, start=2)[0])  # the parent's socket is intact
    assert len(poll(broker, 3)) == 3


def test_enqueue_after_a_server_restart(own_redis_server):
    broker = RedisBroker(unique_queue("djq-redis-enq"),
                         make_conf(redis=own_redis_server.settings, retry=60))
    try:
        broker.enqueue(signed_packages(broker, 1)[0])
        own_redis_server.stop()
        own_redis_server.start()
        broker.enqueue(signed_packages(broker, 1, start=1)[0])  # the pinned one reconnects
        assert broker.queue_size() == 2
    finally:
        broker.delete_queue()
        broker.close()
