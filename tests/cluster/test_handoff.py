"""Handoffs between cluster processes, in process: the slot table, the sentinel's notes,
the pusher's dispatching, a worker's outbox, the monitor's inbox."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time

import pytest
from django.utils import timezone

from djq import signing
from djq.cluster.control import Control
from djq.cluster.dispatch import Dispatcher
from djq.cluster.inbox import Inbox
from djq.cluster.outbox import Outbox, pack_results, unpack_results
from djq.cluster.outlet import STOP, Outlet
from djq.cluster.pusher import prefetch_limit, unpack
from djq.cluster.slots import SlotTable
from djq.conf import Conf, conf
from djq.registry import BrokerCapabilities

ctx = multiprocessing.get_context("fork")


class Caps:
    def __init__(self, max_bulk=None):
        self.capabilities = BrokerCapabilities(receipts=True, bulk=True, max_bulk=max_bulk)


def test_dequeue_size_fills_the_room_within_bulk_and_the_broker_cap():
    assert prefetch_limit(Conf({"workers": 2}), Caps()) == 4  # queue_limit = workers ** 2
    assert prefetch_limit(Conf({"workers": 8}), Caps(max_bulk=10)) == 10
    assert prefetch_limit(Conf({"workers": 8, "bulk": 3}), Caps()) == 3
    assert prefetch_limit(Conf({"workers": 2, "bulk": 1}), Caps()) == 1


def _bump(table):
    row = table.slot(2)
    row.started += 3
    row.sent += 5
    table.taken = 4


def test_slot_rows_are_shared_with_processes_started_later():
    spawn = multiprocessing.get_context("spawn")  # this test process may run threads
    table = SlotTable(spawn, 2)
    child = spawn.Process(target=_bump, args=(table,))
    child.start()
    child.join(60)
    assert table.slot(2).started == 3 and table.slot(1).started == 0
    assert table.in_transit() == 1
    table.slot(2).reset()
    assert table.slot(2).started == 0 and table.slot(2).sent == 5  # sent is cumulative
    with pytest.raises(IndexError):
        table.slot(3)


def test_a_note_carries_pipe_ends_to_the_reader():
    control = Control()
    reader, writer = ctx.Pipe(duplex=False)
    assert control.send(("worker", 1, "Process-1:1"), [writer])
    writer.close()  # the note holds its own copy
    (note, conns), = control.receive()
    assert note == ("worker", 1, "Process-1:1") and len(conns) == 1
    conns[0].send_bytes(b"through the passed end")
    assert reader.recv_bytes() == b"through the passed end"
    assert control.receive() == []
    control.close()


def parcels(count):
    now = timezone.now()
    return [unpack((n, signing.dumps({"id": f"{n:032}", "name": f"t{n}", "func": "math.floor",
                                      "args": (n,), "kwargs": {}, "started": now})),
                   None, conf)[1] for n in range(count)]


class Workers:
    """A dispatcher with two announced workers, whose pipe ends the test holds."""

    def __init__(self, receipts=True):
        self.table = SlotTable(ctx, 2)
        self.control = Control()
        self.records, records_w = ctx.Pipe(duplex=False)
        self.tasks, self.ready = {}, {}
        for n in (1, 2):
            tasks_r, tasks_w = ctx.Pipe(duplex=False)
            ready_r, ready_w = ctx.Pipe(duplex=False)
            self.control.send(("worker", n, f"Process-1:{n}"), [tasks_w, ready_r])
            self.tasks[n], self.ready[n] = tasks_r, ready_w
        self.hands = Dispatcher(self.control, records_w, self.table, conf, receipts)
        self.hands.notes()

    def batch(self, n):
        return pickle.loads(self.tasks[n].recv_bytes()) if self.tasks[n].poll(1) else None


def test_free_workers_share_what_is_pending_and_busy_ones_get_nothing():
    w = Workers()
    w.hands.pending.extend(parcels(5))
    w.hands.dispatch()
    first, second = w.batch(1), w.batch(2)
    assert [len(first), len(second)] == [3, 2]  # a fair share each, in order
    assert [p.ack_id for p in first + second] == [0, 1, 2, 3, 4]
    w.hands.pending.extend(parcels(2))
    w.hands.dispatch()
    assert w.batch(1) is None and w.table.pending == 2  # both busy
    w.table.slot(2).finished = 2  # worker 2 sent its results
    w.hands.dispatch()
    assert len(w.batch(2)) == 2 and w.table.pending == 0
    w.table.slot(1).finished = 3
    w.table.slot(1).retiring = 1  # leaving: nothing more for it
    w.hands.pending.extend(parcels(1))
    w.hands.dispatch()
    assert w.batch(1) is None
    assert not w.hands.drained  # one pending, worker 2 busy


def test_a_dead_workers_running_task_is_recorded_and_the_rest_handed_on(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 5}
    w = Workers(receipts=False)
    w.hands.pending.extend(parcels(4))
    w.hands.dispatch()
    assert len(w.batch(1)) == 2 and len(w.batch(2)) == 2
    # Worker 1 finished its first task, began the second and died running it.
    w.control.send(("gone", 1, 2, 1, -9, False))
    w.hands.notes()
    count, blob = unpack_results(w.records.recv_bytes())
    (record,) = pickle.loads(blob)
    assert count == 1 and record["id"] == f"{1:032}" and record["ack"]
    assert "WorkerDied" in record["result"] and not record["success"]
    assert 1 not in w.hands.hands and not w.hands.pending
    # Worker 2 timed out in its first task: the second, never begun, goes back.
    w.control.send(("gone", 2, 1, 0, -9, True))
    w.hands.notes()
    (record,) = pickle.loads(unpack_results(w.records.recv_bytes())[1])
    assert record["id"] == f"{2:032}" and "TimeoutError" in record["result"]
    assert [p.ack_id for p in w.hands.pending] == [3]
    assert not w.hands.drained


def test_a_worker_whose_pipe_broke_gets_nothing_more_and_its_batch_is_kept():
    w = Workers()
    w.tasks[1].close()  # the worker is gone; its "gone" note is on the way
    w.hands.pending.extend(parcels(2))
    w.hands.dispatch()
    assert [p.ack_id for p in w.batch(2)] == [0, 1] and not w.hands.pending
    assert w.hands.hands[1].lost and not w.hands.hands[1].batch


def test_results_travel_in_one_message_and_unpicklable_ones_become_failures():
    data = pack_results([{"id": 1, "result": 2}, {"id": 2, "result": lambda: 0}])
    count, blob = unpack_results(data)
    first, second = pickle.loads(blob)
    assert count == 2 and first == {"id": 1, "result": 2}
    assert not second["success"] and "cannot be pickled" in second["result"]


def test_outbox_sends_results_a_long_task_would_hold_back_and_counts_them():
    table = SlotTable(ctx, 1)
    row = table.slot(1)
    monitor, results = ctx.Pipe(duplex=False)
    pusher, ready = ctx.Pipe(duplex=False)
    outbox = Outbox(results, ready, row)
    outbox.add({"id": "done-first"})
    outbox.hold()  # the next task of the batch runs: the watcher sends it meanwhile
    assert monitor.poll(10), "the finished result never left"
    count, blob = unpack_results(monitor.recv_bytes())
    assert count == 1 and pickle.loads(blob) == [{"id": "done-first"}]
    assert os.read(pusher.fileno(), 10) == b"r"  # the pusher was told, after counting
    assert row.finished == 1 and row.sent == 1
    outbox.add({"id": "last"})
    assert outbox.flush()
    assert unpack_results(monitor.recv_bytes())[0] == 1 and row.finished == 2
    time.sleep(0.05)
    assert not monitor.poll(0)  # nothing sent twice
    monitor.close()
    assert outbox.monitor_gone()
    outbox.add({"id": "orphan"})
    assert outbox.flush() is False  # reported, not raised


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
    outlet = Outlet(ctx)
    inbox = Inbox(outlet, Control(), SlotTable(ctx, 1))
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
        batch, stop = inbox.collect()
        got += batch
    assert len(got) == 4000 and got[:2] == [{"id": "0000" + "x" * 1000},
                                            {"id": "0001" + "x" * 1000}]
    assert outlet.in_transit() == 0 and not outlet.waiting
    outlet.close()


def test_outlet_to_a_monitor_that_died_drops_its_backlog():
    outlet = Outlet(ctx)
    outlet.reader.close()
    outlet.send(b"results", 1)
    assert outlet.flush() and not outlet.waiting
    outlet.close()


def test_the_monitor_reads_every_workers_pipe_and_all_they_hold_at_the_pill():
    table = SlotTable(ctx, 2)
    outlet, control = Outlet(ctx), Control()
    inbox = Inbox(outlet, control, table)
    ends = {}
    for n in (1, 2):
        reader, writer = ctx.Pipe(duplex=False)
        control.send(("worker", n, f"Process-1:{n}"), [reader])
        reader.close()
        ends[n] = writer
    ends[1].send_bytes(pack_results([{"id": "a"}, {"id": "b"}]))
    batch, stop = inbox.collect()
    assert [p["id"] for p in batch] == ["a", "b"] and not stop and table.taken == 2
    ends[2].send_bytes(pack_results([{"id": "c"}]))
    ends[2].send_bytes(pack_results([{"id": "d"}]))
    ends[1].close()  # worker 1 left
    batch, stop = inbox.collect(linger=0.01)
    assert sorted(p["id"] for p in batch) == ["c", "d"] and len(inbox.workers) == 1
    ends[2].send_bytes(pack_results([{"id": "e"}]))
    ends[2].close()
    outlet.send(pickle.dumps([{"id": "timed-out"}]), 1)
    outlet.send(STOP, 0)
    got, stop = [], False
    while not stop:
        batch, stop = inbox.collect()
        got += batch
    assert sorted(p["id"] for p in got) == ["e", "timed-out"] and not inbox.workers
    inbox.close()
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
    before_fork(ctx)
    assert connection.connection is None


def test_the_pushers_wait_is_interrupted_now_or_at_its_start(monkeypatch):
    import signal
    import threading

    from djq.cluster.interrupt import SIGNAL, Interrupted, Interruptible

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    waits = Interruptible()
    previous = signal.signal(SIGNAL, waits._handler)
    try:
        threading.Timer(0.2, os.kill, (os.getpid(), SIGNAL)).start()
        started = time.monotonic()
        with pytest.raises(Interrupted):
            with waits.waiting():
                time.sleep(30)  # a broker's blocking read
        assert time.monotonic() - started < 10
        os.kill(os.getpid(), SIGNAL)  # outside a wait: noted, nothing raised
        time.sleep(0.05)
        with pytest.raises(Interrupted):  # ... until the next wait begins
            with waits.waiting():
                time.sleep(30)
        with waits.waiting():  # consumed: the next wait is a plain one
            pass
    finally:
        signal.signal(SIGNAL, previous)
