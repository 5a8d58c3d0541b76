"""Pure helpers for the benchmark's numbers (unit-tested in tests/test_benchmark_stats.py)."""

from __future__ import annotations

import math
import statistics
from typing import Iterable, Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) with linear interpolation between closest ranks
    (numpy's default 'linear' method)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def throughput(count: int, first_enqueue: float, last_saved: float) -> float:
    """Tasks per second from the first enqueue to the last saved result."""
    elapsed = last_saved - first_enqueue
    if elapsed <= 0:
        raise ValueError("the last result cannot be saved before the first enqueue")
    return count / elapsed


def enqueue_rate(stamps: Iterable[float]) -> float:
    """Enqueues per second over a burst of enqueue stamps: N / (last − first)."""
    data = list(stamps)
    if len(data) < 2:
        raise ValueError("an enqueue rate needs at least two enqueues")
    elapsed = max(data) - min(data)
    return len(data) / elapsed if elapsed > 0 else float("inf")


def call_times_ms(stamps: Iterable[float]) -> list[float]:
    """How long each enqueue call took, in ms, from consecutive enqueue stamps of a burst
    (each stamp is taken just before its call, so the gap to the next one is the call)."""
    ordered = sorted(stamps)
    return [(b - a) * 1000 for a, b in zip(ordered, ordered[1:])]


def summary(values: Iterable[float]) -> dict[str, float]:
    """Median with min and max, how repeated runs are reported."""
    data = list(values)
    return {"median": statistics.median(data), "min": min(data), "max": max(data)}


def latencies(enqueued: dict[str, float], saved: dict[str, float]) -> list[float]:
    """Enqueue-to-saved latency in milliseconds for every task seen saved."""
    return [(saved[k] - enqueued[k]) * 1000 for k in enqueued if k in saved]


def cpu_per_thousand(cpu_seconds: float, tasks: int) -> float:
    return cpu_seconds * 1000 / tasks if tasks else float("nan")


def latency_percentiles(values: Sequence[float], prefix: str = "") -> dict[str, float]:
    """``{prefix}p50_ms``, ``p95`` and ``p99`` of latencies in ms (NaN when there are none)."""
    return {f"{prefix}p{pct}_ms": percentile(values, pct) if values else float("nan")
            for pct in (50, 95, 99)}


def own_and_reaped_cpu(times) -> float:
    """CPU seconds of one process (a psutil ``cpu_times()``): its own user+system plus its
    reaped children's. Summed over a live process tree this counts each process once: a live
    one by itself, a worker that exited (recycled) in the parent that waited for it."""
    return (times.user + times.system + getattr(times, "children_user", 0.0)
            + getattr(times, "children_system", 0.0))


# Roles of the CPU split: djq's processes name themselves (djq.cluster.prctl); a process
# that exited during a phase (a recycled worker) is only in its parent's reaped time, so
# workers are reported with it. Other systems' processes are all "python": cluster only.
ROLES = {"djq-sentinel": "sentinel", "djq-pusher": "pusher", "djq-monitor": "monitor",
         "djq-worker": "workers"}


def cpu_by_role(processes: Iterable[tuple[str, object]]) -> dict[str, float]:
    """CPU seconds by cluster role from ``(name, cpu_times)`` of every live process of the
    tree: own time by :data:`ROLES` (unknown names under ``other``), reaped children's
    time under ``workers``; ``cluster`` is the sum. A tree with no named process (another
    system) gets ``cluster`` alone."""
    split: dict[str, float] = {}
    named = False
    for name, times in processes:
        named = named or name in ROLES
        role, own = ROLES.get(name, "other"), times.user + times.system
        split[role] = split.get(role, 0.0) + own
        split["workers"] = split.get("workers", 0.0) + own_and_reaped_cpu(times) - own
    total = sum(split.values())
    return {**split, "cluster": total} if named else {"cluster": total}


def us_per_task(before: dict[str, float], after: dict[str, float], tasks: int,
                prefix: str) -> dict[str, float]:
    """``{prefix}{role}``: CPU µs per task of each role between two :func:`cpu_by_role`
    (or any) readings; roles only in ``after`` count from zero."""
    if tasks <= 0:
        raise ValueError("CPU per task needs at least one task")
    return {f"{prefix}{role}": (after[role] - before.get(role, 0.0)) / tasks * 1e6
            for role in after}
