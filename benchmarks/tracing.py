"""Stamps along each task's way through djq (``benchmarks/run --trace``): where the steady
rate's latency goes, hop by hop.

Only djq's public extension points are used, so the cluster runs its own code unchanged:

* ``Q_CLUSTER['broker_class']`` is :class:`TracingBroker`, a subclass of the broker the
  case would use (``settings.BENCH_TRACE_BASE``): ``enqueue`` stamps in the enqueuing
  process when the signed package goes to the broker (``sent``) and when the broker took
  it (``accepted``); ``dequeue`` stamps in the pusher when a package arrives
  (``dequeued``, with its receipt); ``acknowledge_many`` in the monitor (``acked``, by
  receipt);
* the ``pre_execute`` / ``post_execute`` signals stamp in the worker (``started``,
  ``finished``);
* the case's arrival poller says when the result could be read (``saved``).

Each process appends ``<stage> <task id or receipt> <time.time()> [receipt]`` lines to
``$BENCH_TRACE_DIR/<pid>.log`` (line-buffered: a worker leaves through ``os._exit``).
Writing a stamp costs a few µs, which the hops it falls in carry; a traced run is for
finding where the time goes, not for comparing systems. Task ids are read from the
packages' headers (:func:`djq.signing.header_of_payload`) after the stamp is taken.

:func:`hops` (pure, unit-tested in tests/test_benchmark_stats.py) turns the stamps into
per-task durations.
"""

from __future__ import annotations

import os
import time
from typing import Iterable

DIR = os.environ.get("BENCH_TRACE_DIR")
BASE_SETTING = "BENCH_TRACE_BASE"

# The hops of a task's way, each from one stamp to the next.
HOPS = [
    ("call", "sent", "async_task's own work (build, serialize, sign)"),
    ("sent", "dequeued", "the broker: enqueue, then the pusher's dequeue returns it"),
    ("dequeued", "started", "pusher to worker: verify, hand over, unpickle"),
    ("started", "finished", "the task (a no-op) in the worker"),
    ("finished", "saved", "worker to monitor, saved, committed, seen by a reader"),
]

_files: dict[int, object] = {}  # by pid: a forked child must not share its parent's buffer


def stamp(stage: str, key: object, now: float, receipt: object = None) -> None:
    pid = os.getpid()
    out = _files.get(pid)
    if out is None:
        out = _files[pid] = open(os.path.join(DIR, f"{pid}.log"), "a", buffering=1)
    tail = "" if receipt is None else f" {receipt}"
    out.write(f"{stage} {key} {now:.6f}{tail}\n")


def _task_id(signed) -> str:
    from djq.signing import header_of_payload

    if isinstance(signed, bytes):
        signed = signed.decode("ascii", "replace")
    return header_of_payload(signed).get("id", "?")


def _pre_execute(sender, func=None, task=None, **kwargs) -> None:
    stamp("started", task["id"], time.time())


def _post_execute(sender, func=None, task=None, **kwargs) -> None:
    stamp("finished", task["id"], time.time())


if DIR:  # imported by the project's settings: every process of the case connects these
    from djq import signals

    signals.pre_execute.connect(_pre_execute, weak=False)
    signals.post_execute.connect(_post_execute, weak=False)


def __getattr__(name: str):
    """``TracingBroker``, built on first use (djq imports ``broker_class`` after Django's
    setup, when the base broker's module can be imported)."""
    if name != "TracingBroker":
        raise AttributeError(name)
    global TracingBroker
    from django.conf import settings
    from django.utils.module_loading import import_string

    base = import_string(getattr(settings, BASE_SETTING))

    class TracingBroker(base):
        def enqueue(self, task):
            sent = time.time()
            receipt = super().enqueue(task)
            accepted = time.time()
            task_id = _task_id(task)
            stamp("sent", task_id, sent)
            stamp("accepted", task_id, accepted)
            return receipt

        def dequeue(self):
            deliveries = super().dequeue()
            now = time.time()
            for delivery in deliveries or ():
                stamp("dequeued", _task_id(delivery[1]), now, delivery[0])
            return deliveries

        def acknowledge_many(self, task_ids):
            task_ids = list(task_ids)
            super().acknowledge_many(task_ids)
            now = time.time()
            for receipt in task_ids:
                stamp("acked", receipt, now)

    TracingBroker.__qualname__ = f"TracingBroker({base.__name__})"
    return TracingBroker


def read(directory: str) -> Iterable[str]:
    """Every stamp line the case's processes wrote."""
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name)) as lines:
            yield from lines


def hops(lines: Iterable[str], called: dict[str, float], saved: dict[str, float]
         ) -> dict[str, list[float]]:
    """Milliseconds per hop (:data:`HOPS`) for every task with all its stamps, plus
    ``saved_acked`` (saved to acknowledged, not on the latency's path) and ``total``.
    ``called``: enqueue stamps by task id (``enqueue.py``), ``saved``: arrivals. The first
    stamp of a stage wins (a task delivered twice keeps its first delivery)."""
    stages: dict[str, dict[str, float]] = {}
    by_receipt: dict[str, str] = {}
    acked: dict[str, float] = {}
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        stage, key, when = parts[0], parts[1], float(parts[2])
        if stage == "acked":
            acked.setdefault(key, when)
            continue
        stages.setdefault(key, {}).setdefault(stage, when)
        if stage == "dequeued" and len(parts) > 3:
            by_receipt.setdefault(parts[3], key)
    out: dict[str, list[float]] = {f"{a}_{b}": [] for a, b, _ in HOPS}
    out["saved_acked"], out["total"] = [], []
    for task_id, call in called.items():
        seen = {**stages.get(task_id, {}), "call": call}
        if task_id in saved:
            seen["saved"] = saved[task_id]
        if not all(a in seen and b in seen for a, b, _ in HOPS):
            continue
        for a, b, _ in HOPS:
            out[f"{a}_{b}"].append((seen[b] - seen[a]) * 1000)
        out["total"].append((seen["saved"] - call) * 1000)
    for receipt, when in acked.items():
        task_id = by_receipt.get(receipt)
        if task_id in saved and task_id in called:
            out["saved_acked"].append((when - saved[task_id]) * 1000)
    return out
