"""What this machine allows, measured once per run before the cases, reported with them.

Two limits that no task queue's code moves, so that the results can be read against them:

* **Redis round trip**: one process sends ``XADD`` to the run's Redis and waits for each
  reply, over one redis-py connection with no task queue involved (the commands djq's
  broker sends, without building a task). Its rate is the ceiling of what one enqueuing
  process that waits for each enqueue to be accepted can reach here, before any work of
  its own per task; both systems' *enqueue/s alone* sit below it.
* **Wake-up hop**: two processes pass a byte back and forth over pipes, the first
  sleeping 20 ms before each send; half the median round trip is what one hand-over from
  a process to a sleeping one costs before either does any work, with the two pinned to
  the same CPU and to different ones (where the scheduler puts a cluster's processes
  varies; here ~30 µs against ~200 µs). A task at the steady rate passes four such
  hand-overs on djq's way to its saved result (enqueuer to broker server, server to
  pusher, pusher to worker, worker to monitor).
* **Wake-up slowdown**: a fixed piece of Python (a loop of additions, ~10 µs warm) timed
  back to back, then again right after a 20 ms sleep, ``CHUNKS`` times in a row. At 50
  tasks/s every process on a task's path has slept about that long when the task reaches
  it. On the 2-vCPU VMs this was written on, the first piece after waking took ~3x its
  warm time and the next ~2 ms ran ~1.6x slower: that is a cost per process woken, paid
  at each hop of the steady-rate latency, which no code on the path can avoid but by
  having fewer hops.

Pure arithmetic (:func:`wake_ratios`) is unit-tested in tests/test_benchmark_stats.py.
"""

from __future__ import annotations

import os
import statistics
import time

ROUND_TRIPS = 5000
PAYLOAD = "x" * 400  # about one signed no-op task package
PROBE_KEY = "bench:probe"
GAP = 0.02  # seconds asleep before each cold round: 1 / 50 tasks per second
ROUNDS = 100
CHUNKS = 100
WARM_CHUNKS = 2000


def redis_round_trip(url: str, count: int = ROUND_TRIPS) -> dict[str, float]:
    """``XADD`` round trips of one client, back to back: rate and median, then the key is
    deleted (it is not the benchmark's queue, and the cases flush Redis anyway)."""
    import redis

    client = redis.Redis.from_url(url)
    conn = client.connection_pool.make_connection()
    command = conn.pack_command("XADD", PROBE_KEY, "*", "p", PAYLOAD)
    times = []
    try:
        for _ in range(50):  # connect, warm up
            conn.send_packed_command(command)
            conn.read_response()
        clock = time.perf_counter
        start = clock()
        for _ in range(count):
            begin = clock()
            conn.send_packed_command(command, check_health=False)
            conn.read_response()
            times.append(clock() - begin)
        elapsed = clock() - start
    finally:
        conn.disconnect()
        client.delete(PROBE_KEY)
        client.close()
    return {"xadd_per_s": count / elapsed, "xadd_p50_us": statistics.median(times) * 1e6}


def wake_hop(child_cpu: int, gap: float = GAP, rounds: int = ROUNDS) -> float:
    """Half the median round trip, in µs, of a byte to a sleeping child process on
    ``child_cpu`` and back, this process on CPU 0 having slept ``gap`` seconds before each
    (so both sides start idle)."""
    child_reads, parent_writes = os.pipe()
    parent_reads, child_writes = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: echo until the pipe closes
        try:
            os.close(parent_writes)
            os.close(parent_reads)
            os.sched_setaffinity(0, {child_cpu})
            while os.read(child_reads, 1):
                os.write(child_writes, b"x")
        finally:
            os._exit(0)
    os.close(child_reads)
    os.close(child_writes)
    allowed = os.sched_getaffinity(0)
    clock, trips = time.perf_counter, []
    try:
        os.sched_setaffinity(0, {0})
        for _ in range(rounds):
            time.sleep(gap)
            begin = clock()
            os.write(parent_writes, b"x")
            os.read(parent_reads, 1)
            trips.append(clock() - begin)
    finally:
        os.sched_setaffinity(0, allowed)
        os.close(parent_writes)
        os.close(parent_reads)
        os.waitpid(pid, 0)
    return statistics.median(trips) / 2 * 1e6


def wake_hops() -> dict[str, float]:
    """:func:`wake_hop` to the same CPU and, with two or more, to another one."""
    found = {"wake_hop_same_us": wake_hop(0)}
    if 1 in os.sched_getaffinity(0):
        found["wake_hop_cross_us"] = wake_hop(1)
    return found


def _chunk() -> int:
    total = 0
    for i in range(300):
        total += i
    return total


def _timed_chunks(count: int) -> list[float]:
    clock, times = time.perf_counter, []
    last = clock()
    for _ in range(count):
        _chunk()
        now = clock()
        times.append(now - last)
        last = now
    return times


def wake_slowdown(gap: float = GAP, rounds: int = ROUNDS,
                  chunks: int = CHUNKS) -> dict[str, float]:
    warm = _timed_chunks(WARM_CHUNKS)[100:]  # the first ones warm the loop itself up
    cold = []
    for _ in range(rounds):
        time.sleep(gap)
        cold.append(_timed_chunks(chunks))
    return wake_ratios(warm, cold)


def wake_ratios(warm: list[float], cold: list[list[float]]) -> dict[str, float]:
    """From chunk times warm and ``cold`` rounds (each the chunk times right after one
    sleep, in order): how many times slower the first chunk after a wake-up runs
    (median over rounds, against the warm median), how many times slower the whole
    round runs on average, and how long a round lasted (median, ms)."""
    if not warm or not cold or not all(cold):
        raise ValueError("wake ratios need warm chunk times and non-empty cold rounds")
    unit = statistics.median(warm)
    return {
        "wake_first_x": statistics.median(r[0] for r in cold) / unit,
        "wake_round_x": statistics.median(sum(r) / len(r) for r in cold) / unit,
        "wake_round_ms": statistics.median(sum(r) for r in cold) * 1000,
        "chunk_warm_us": unit * 1e6,
    }


def measure(redis_url: str | None) -> dict[str, float]:
    """Everything above that can be measured now (the round trip needs Redis). The
    machine's speed drifts (other tenants of the host): ``benchmarks/run`` probes once per
    repeat and reports the median with the range."""
    found = {**wake_slowdown(), **wake_hops()}
    if redis_url:
        found.update(redis_round_trip(redis_url))
    return found
