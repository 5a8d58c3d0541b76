"""Batched handoffs between cluster processes, in process: the channel's slots, the
pusher's dequeue size, a worker's outbox."""

from __future__ import annotations

import multiprocessing
import pickle
import time

import pytest

from djq.cluster.channel import Channel
from djq.cluster.outbox import RETIRING, Outbox, pack_results, unpack_results
from djq.cluster.pusher import prefetch_limit
from djq.conf import Conf
from djq.registry import BrokerCapabilities

ctx = multiprocessing.get_context("spawn")


def test_channel_counts_items_not_messages():
    channel = Channel(ctx, maxsize=5)
    assert channel.room(10) == 5
    assert channel.put_many(["a", "b", "c"])
    assert channel.qsize() == 3 and channel.room(10) == 2
    assert channel.get() == ["a", "b", "c"]  # one message
    assert channel.qsize() == 3  # held by the reader until handed on
    channel.release(2)
    assert channel.room(10) == 4
    channel.close()


def test_channel_splits_a_batch_bigger_than_the_room():
    channel = Channel(ctx, maxsize=2)
    assert not channel.put_many(["a", "b", "c"], timeout=0.1)  # the third never fits
    assert channel.get() == ["a", "b"]
    channel.close()


class Caps:
    def __init__(self, max_bulk=None):
        self.capabilities = BrokerCapabilities(receipts=True, bulk=True, max_bulk=max_bulk)


def test_dequeue_size_fills_the_room_within_bulk_and_the_broker_cap():
    assert prefetch_limit(Conf({"workers": 2}), Caps()) == 4  # queue_limit = workers ** 2
    assert prefetch_limit(Conf({"workers": 8}), Caps(max_bulk=10)) == 10
    assert prefetch_limit(Conf({"workers": 8, "bulk": 3}), Caps()) == 3
    assert prefetch_limit(Conf({"workers": 2, "bulk": 1}), Caps()) == 1


def test_results_travel_in_one_message_and_unpicklable_ones_become_failures():
    data = pack_results([{"id": 1, "result": 2}, {"id": 2, "result": lambda: 0}])
    count, blob = unpack_results(data)
    first, second = pickle.loads(blob)
    assert count == 2 and first == {"id": 1, "result": 2}
    assert not second["success"] and "cannot be pickled" in second["result"]


def test_outbox_sends_results_a_long_task_would_hold_back():
    ours, theirs = ctx.Pipe(duplex=True)
    outbox = Outbox(theirs)
    outbox.add({"id": "done-first"})
    # No flush() from the batch: the watcher thread sends it while the next task runs.
    assert ours.poll(10), "the finished result never left"
    count, blob = unpack_results(ours.recv_bytes())
    assert count == 1 and pickle.loads(blob) == [{"id": "done-first"}]
    outbox.add({"id": "last"})
    assert outbox.flush(retiring=True)
    assert ours.recv_bytes() == RETIRING
    assert unpack_results(ours.recv_bytes())[0] == 1
    time.sleep(0.05)
    assert not ours.poll(0)  # nothing sent twice
    ours.close()
    outbox.add({"id": "orphan"})
    assert outbox.flush() is False  # the sentinel is gone: reported, not raised


def test_acknowledger_sends_everything_submitted_and_merges_what_piles_up():
    import threading

    from djq.cluster.acker import Acknowledger

    calls, entered, gate = [], threading.Event(), threading.Event()

    def ack(acks, fails):
        entered.set()
        gate.wait(10)  # the first round trip is slow: the next submissions pile up
        calls.append((list(acks), list(fails)))

    acker = Acknowledger(ack)
    acker.submit([1], [])
    assert entered.wait(10)  # the thread is in its first round trip
    acker.submit([2], [9])
    acker.submit([], [])  # nothing to send: ignored
    acker.submit([3], [])
    gate.set()
    acker.close(10)
    assert calls == [([1], []), ([2, 3], [9])]
    assert not acker.thread.is_alive()


def test_outlet_never_blocks_the_sentinel_and_frames_what_the_monitor_reads():
    """More than the pipe holds waits in the outlet's backlog (the sentinel goes on
    guarding); what the monitor reads is every message, whole and in order."""
    from djq.cluster.outlet import STOP, Outlet
    from djq.cluster.saver import collect

    outlet = Outlet(ctx)
    blob = pickle.dumps([{"id": f"{i:04}" + "x" * 1000} for i in range(200)])  # ~200 KB
    started = time.monotonic()
    for _ in range(20):  # ~4 MB: several times what a pipe takes
        outlet.send(blob, 200)
    outlet.send(STOP, 0)
    assert time.monotonic() - started < 5  # did not block (a blocked send never returns)
    assert outlet.waiting and outlet.in_transit() == 4000
    got, stop = [], False
    while not stop:
        outlet.flush()
        batch, stop = collect(outlet)
        got += batch
    assert len(got) == 4000 and got[:2] == [{"id": "0000" + "x" * 1000},
                                            {"id": "0001" + "x" * 1000}]
    assert outlet.in_transit() == 0 and not outlet.waiting
    outlet.close()


def test_outlet_to_a_monitor_that_died_drops_its_backlog():
    from djq.cluster.outlet import Outlet

    outlet = Outlet(ctx)
    outlet.reader.close()
    outlet.send(b"results", 1)
    assert outlet.flush() and not outlet.waiting
    outlet.close()


def test_pool_forks_only_while_the_sentinel_is_single_threaded(monkeypatch):
    import threading

    from djq.cluster import context

    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert context.pool_context().get_start_method() == "fork"
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert context.pool_context().get_start_method() == "forkserver"


@pytest.mark.django_db(transaction=True)
def test_before_a_fork_the_sentinel_lets_go_of_its_database_connections():
    from django.db import connection

    from djq.cluster.context import before_fork

    connection.ensure_connection()
    before_fork(multiprocessing.get_context("forkserver"))  # nothing to do for it
    assert connection.connection is not None
    before_fork(multiprocessing.get_context("fork"))
    assert connection.connection is None
