"""Batched handoffs between cluster processes, in process: the channel's slots, the
pusher's dequeue size, a worker's outbox."""

from __future__ import annotations

import multiprocessing
import pickle
import time

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
