"""One benchmark case in its own process: prints a JSON result on stdout.

``python case.py SYSTEM BROKER PYTHON [--tasks N] [--workers W] [--rate R] [--rate-tasks K]
[--idle S]`` where SYSTEM is ``djq`` or ``django-q2``, BROKER ``redis``, ``orm-sqlite``,
``orm-postgres`` or ``orm-postgres-prepared`` (PostgreSQL with prepared statements, see
project.py) and PYTHON the interpreter of that system's virtualenv. Results are saved to
the ORM broker's database, or to SQLite (WAL) for Redis; Redis (``BENCH_REDIS_URL``) is
flushed and PostgreSQL's schema recreated first, so no case sees another's data.

It writes a throwaway project, migrates it, installs the arrival log (``arrivals.py``),
then:

0. alone: N tasks enqueued with no cluster running, then purged: the rate the enqueuing
   process reaches on its own, the ceiling of the burst's tasks/s on this machine;

and starts ``manage.py qcluster`` with PYTHON:

1. warm-up: 20 tasks, so workers are up and imports done;
2. burst: N no-op tasks from a separate enqueuing process; the arrival poller (every
   ``--burst-poll-ms``) stamps every result: latency per task, and ``last saved``;
3. steady: K tasks at R per second, stamped the same way every ``--steady-poll-ms``;
4. idle (optional): CPU used by the cluster's process tree over S seconds, poller stopped;
5. stops the cluster with SIGTERM.

PSS and RSS of the cluster's process tree are sampled (psutil) during burst and steady.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from arrivals import Poller, install  # noqa: E402
from project import BROKERS, database, result_db, write_project  # noqa: E402
from tracing import hops, read  # noqa: E402
from stats import call_times_ms, cpu_by_role, cpu_per_thousand, enqueue_rate, latencies, latency_percentiles, own_and_reaped_cpu, throughput, us_per_task  # noqa: E402,E501

TABLES = {"djq": "djq_task", "django-q2": "django_q_task"}


def tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_memory(proc: psutil.Process) -> tuple[float, float]:
    pss = rss = 0.0
    for p in tree(proc):
        try:
            info = p.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        pss += getattr(info, "pss", info.rss)
        rss += info.rss
    return pss / 2**20, rss / 2**20


def tree_cpu(proc: psutil.Process) -> float:
    total = 0.0
    for p in tree(proc):
        try:
            total += own_and_reaped_cpu(p.cpu_times())
        except psutil.NoSuchProcess:
            continue
    return total


def server_process(broker: str) -> psutil.Process | None:
    """The broker's server (``redis-server``; PostgreSQL's postmaster, whose children are
    the backends), as ``benchmarks/run`` and ``scripts/postgres`` exported it; ``None`` for
    SQLite or if unknown."""
    variable = ("BENCH_REDIS_PID" if broker == "redis" else
                "DJQ_TEST_POSTGRES_PID" if result_db(broker).startswith("postgres") else "")
    pid = os.environ.get(variable, "")
    return psutil.Process(int(pid)) if pid.isdigit() else None


def cpu_reading(proc: psutil.Process, server: psutil.Process | None,
                exclude: int | None = None) -> dict[str, float]:
    """CPU seconds so far: the cluster by role (:func:`stats.cpu_by_role`, ``cluster`` its
    whole tree) and, when known, the broker's server. ``exclude``: a server process that
    works for the benchmark, not the system (the arrival poller's PostgreSQL backend)."""
    seen = []
    for p in tree(proc):
        try:
            seen.append((p.name(), p.cpu_times()))
        except psutil.NoSuchProcess:
            continue
    reading = cpu_by_role(seen)
    if server is not None:
        reading["server"] = tree_cpu(server)
        if exclude:
            try:
                reading["server"] -= own_and_reaped_cpu(psutil.Process(exclude).cpu_times())
            except psutil.NoSuchProcess:
                pass
    return reading


class Sampler(threading.Thread):
    """Peak PSS/RSS of the cluster tree, sampled every 200 ms."""

    def __init__(self, proc: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.proc, self.stop, self.pss, self.rss = proc, threading.Event(), 0.0, 0.0

    def run(self) -> None:
        while not self.stop.is_set():
            pss, rss = tree_memory(self.proc)
            self.pss, self.rss = max(self.pss, pss), max(self.rss, rss)
            self.stop.wait(0.2)


def enqueue(python: str, env: dict, *args: str) -> dict:
    """``enqueue.py``'s output: ``times`` (task id: stamp) and ``cpu_s`` (its loop's CPU)."""
    out = subprocess.run([python, str(HERE / "enqueue.py"), *args], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def burst(opts, env: dict, poller: Poller, alive, reading, result: dict) -> None:
    """The burst phase: N tasks from the enqueuing process, every result awaited."""
    before = reading()
    sent = enqueue(opts.python, env, "burst", str(opts.tasks))
    times = sent["times"]
    saved = poller.wait_for(list(times), 600, alive)
    after = reading()
    result.update(us_per_task(before, after, opts.tasks, "burst_us_"))
    result["burst_us_enqueuer"] = sent["cpu_s"] / opts.tasks * 1e6
    result.update({
        "enqueue_per_s": enqueue_rate(times.values()),
        "tasks_per_s": throughput(opts.tasks, min(times.values()), max(saved.values())),
        "cpu_s_per_1000": cpu_per_thousand(after["cluster"] - before["cluster"],
                                           opts.tasks),
        **latency_percentiles(latencies(times, saved), "burst_"),
        # JSON only: how long one async_task call took during the burst (vs alone).
        **latency_percentiles(call_times_ms(times.values()), "enqueue_call_"),
    })


def traced(trace_dir: Path, times: dict[str, float], saved: dict[str, float]) -> dict:
    """``trace_<hop>_p50_ms`` / ``_p95_ms`` / ``_p99_ms`` from the stamps (tracing.py)."""
    found = {}
    for hop, values in hops(read(str(trace_dir)), times, saved).items():
        found.update(latency_percentiles(values, f"trace_{hop}_"))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("system", choices=sorted(TABLES))
    parser.add_argument("broker", choices=BROKERS)
    parser.add_argument("python")
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--rate-tasks", type=int, default=250)
    parser.add_argument("--idle", type=float, default=0)
    parser.add_argument("--queue-limit", type=int, default=0)
    parser.add_argument("--burst-poll-ms", type=float, default=5)
    parser.add_argument("--steady-poll-ms", type=float, default=1)
    parser.add_argument("--trace", action="store_true",
                        help="djq only: stamps along each task's way (tracing.py); "
                             "warm-up and steady phase only")
    opts = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{opts.system}-{opts.broker}-"))
    db = database(result_db(opts.broker), workdir, os.environ.get("DJQ_TEST_POSTGRES_URL"))
    redis_url = os.environ.get("BENCH_REDIS_URL") if opts.broker == "redis" else None
    if result_db(opts.broker).startswith("postgres"):
        _reset_postgres(db)
    if opts.broker == "redis":
        _flush_redis(redis_url)
    write_project(workdir, opts.system, opts.broker, db, opts.workers, redis_url,
                  opts.queue_limit or None, opts.trace)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench_settings", "BENCH_SYSTEM": opts.system,
           "PYTHONPATH": os.pathsep.join([str(workdir), str(HERE)])}
    trace_dir = workdir / "trace"
    if opts.trace:
        trace_dir.mkdir()
        env["BENCH_TRACE_DIR"] = str(trace_dir)
    subprocess.run([opts.python, "-m", "django", "migrate", "-v0"], env=env, check=True)

    import django
    from django.conf import settings

    settings.configure(DATABASES={"default": db}, USE_TZ=True)
    django.setup()
    from django.db import connection

    install(connection, TABLES[opts.system])
    connection.close()
    # Traced, only the steady phase counts: no enqueue alone, no burst (stamps of 5 000
    # tasks would weigh on the burst and fill the disk for nothing).
    alone = {} if opts.trace else enqueue(opts.python, env, "alone", str(opts.tasks))["times"]
    log = open(workdir / "cluster.log", "w+")  # a file, not a pipe nobody reads
    cluster = subprocess.Popen([opts.python, "-m", "django", "qcluster"], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    proc = psutil.Process(cluster.pid)
    result: dict = {"system": opts.system, "broker": opts.broker, "tasks": opts.tasks,
                    "workers": opts.workers, "queue_limit": opts.queue_limit or None}
    if alone:
        result.update({"enqueue_alone_per_s": enqueue_rate(alone.values()),
                       **latency_percentiles(call_times_ms(alone.values()),
                                             "enqueue_alone_call_")})
    poller = Poller(opts.burst_poll_ms / 1000)
    poller.start()
    alive = lambda: cluster.poll() is None  # noqa: E731
    try:
        warm = enqueue(opts.python, env, "burst", "20")["times"]
        poller.wait_for(list(warm), 120, alive)

        sampler = Sampler(proc)
        sampler.start()
        server = server_process(opts.broker)
        # The poller's backend pid was read before its first poll; the warm-up saw polls.
        reading = lambda: cpu_reading(proc, server, poller.backend_pid)  # noqa: E731
        if not opts.trace:
            burst(opts, env, poller, alive, reading, result)

        poller.tick = opts.steady_poll_ms / 1000
        before = reading()
        sent = enqueue(opts.python, env, "steady", str(opts.rate), str(opts.rate_tasks))
        times = sent["times"]
        saved = poller.wait_for(list(times), 60, alive)
        # The aftermath of the last task (its save, acknowledgement) belongs to the phase.
        time.sleep(0.5)
        result.update(us_per_task(before, reading(), len(times), "steady_us_"))
        result["steady_us_enqueuer"] = sent["cpu_s"] / len(times) * 1e6
        sampler.stop.set()
        poller.stop()
        result.update({"steady_rate": opts.rate, "steady_tasks": len(times),
                       "burst_poll_ms": opts.burst_poll_ms,
                       "steady_poll_ms": opts.steady_poll_ms,
                       "peak_pss_mb": sampler.pss, "peak_rss_mb": sampler.rss,
                       **latency_percentiles(latencies(times, saved))})
        if opts.trace:
            time.sleep(0.5)  # the last acknowledgements' stamps
            result.update(traced(trace_dir, times, saved))
        if opts.idle:
            time.sleep(2)  # let the steady phase's aftermath settle
            before = tree_cpu(proc)
            time.sleep(opts.idle)
            result["idle_cpu_s"] = tree_cpu(proc) - before
            result["idle_seconds"] = opts.idle
        if not alive():
            raise RuntimeError("the cluster exited")
    except BaseException:
        log.seek(0)
        sys.stderr.write(f"cluster log ({workdir / 'cluster.log'}), last lines:\n")
        sys.stderr.write("".join(log.readlines()[-30:]))
        raise
    finally:
        poller.halt.set()
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(60)
        except subprocess.TimeoutExpired:
            cluster.kill()
    log.close()
    shutil.rmtree(workdir, ignore_errors=True)  # kept only when the case failed
    json.dump(result, sys.stdout)


def _reset_postgres(db: dict) -> None:
    """A fresh schema per case, so systems and repeats never see each other's rows."""
    import psycopg

    dsn = f"host={db['HOST']} port={db['PORT']} user={db['USER']} dbname={db['NAME']}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def _flush_redis(url: str | None) -> None:
    """An empty Redis db per case (the server is the run's own throwaway one)."""
    import redis

    if not url:
        raise SystemExit("the redis case needs BENCH_REDIS_URL")
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


if __name__ == "__main__":
    main()
