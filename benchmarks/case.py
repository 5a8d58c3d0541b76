"""One benchmark case in its own process: prints a JSON result on stdout.

``python case.py SYSTEM DB PYTHON [--tasks N] [--workers W] [--rate R] [--rate-tasks K]
[--idle S]`` where SYSTEM is ``djq`` or ``django-q2``, DB ``sqlite`` or ``postgres`` and
PYTHON the interpreter of that system's virtualenv.

It writes a throwaway project, migrates it, starts ``manage.py qcluster`` with PYTHON, then:

1. warm-up: 20 tasks, so workers are up and imports done;
2. burst: N no-op tasks from a separate enqueuing process; completion is watched by polling
   the result table every 5 ms (``last saved`` = when the count reaches N);
3. steady: K tasks at R per second; each result's arrival is stamped by a 2 ms poller;
4. idle (optional): CPU used by the cluster's process tree over S seconds;
5. stops the cluster with SIGTERM.

Memory is sampled from the cluster's process tree (PSS and RSS, psutil) during the burst.
"""

from __future__ import annotations

import argparse
import json
import os
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
from project import database, write_project  # noqa: E402
from stats import cpu_per_thousand, latencies, percentile, throughput  # noqa: E402

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
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


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


def count_rows(cursor, table: str) -> int:
    cursor.execute(f"SELECT COUNT(*) FROM {table}")
    return cursor.fetchone()[0]


def enqueue(python: str, env: dict, *args: str) -> dict[str, float]:
    out = subprocess.run([python, str(HERE / "enqueue.py"), *args], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)["times"]


def wait_for_count(cursor, table: str, target: int, timeout: float, tick: float) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if count_rows(cursor, table) >= target:
            return time.time()
        time.sleep(tick)
    raise TimeoutError(f"only {count_rows(cursor, table)} of {target} results after {timeout}s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("system", choices=sorted(TABLES))
    parser.add_argument("db", choices=["sqlite", "postgres"])
    parser.add_argument("python")
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--rate-tasks", type=int, default=250)
    parser.add_argument("--idle", type=float, default=0)
    opts = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{opts.system}-{opts.db}-"))
    db = database(opts.db, workdir, os.environ.get("DJQ_TEST_POSTGRES_URL"))
    if opts.db == "postgres":
        _reset_postgres(db)
    write_project(workdir, opts.system, db, opts.workers)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench_settings", "BENCH_SYSTEM": opts.system,
           "PYTHONPATH": os.pathsep.join([str(workdir), str(HERE)])}
    subprocess.run([opts.python, "-m", "django", "migrate", "-v0"], env=env, check=True)

    import django
    from django.conf import settings

    settings.configure(DATABASES={"default": db}, USE_TZ=True)
    django.setup()
    from django.db import connection

    table = TABLES[opts.system]
    cluster = subprocess.Popen([opts.python, "-m", "django", "qcluster"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(cluster.pid)
    result: dict = {"system": opts.system, "db": opts.db, "tasks": opts.tasks,
                    "workers": opts.workers}
    try:
        with connection.cursor() as cursor:
            enqueue(opts.python, env, "burst", "20")
            wait_for_count(cursor, table, 20, 120, 0.05)

            sampler = Sampler(proc)
            sampler.start()
            cpu_before = tree_cpu(proc)
            times = enqueue(opts.python, env, "burst", str(opts.tasks))
            last_saved = wait_for_count(cursor, table, 20 + opts.tasks, 600, 0.005)
            cpu_burst = tree_cpu(proc) - cpu_before
            sampler.stop.set()
            first, last_enqueued = min(times.values()), max(times.values())
            result.update({
                "enqueue_per_s": opts.tasks / max(last_enqueued - first, 1e-9),
                "tasks_per_s": throughput(opts.tasks, first, last_saved),
                "peak_pss_mb": sampler.pss, "peak_rss_mb": sampler.rss,
                "cpu_s_per_1000": cpu_per_thousand(cpu_burst, opts.tasks),
            })
            result.update(steady(cursor, table, opts, env))
        if opts.idle:
            time.sleep(2)  # let the burst's aftermath settle
            before = tree_cpu(proc)
            time.sleep(opts.idle)
            result["idle_cpu_s"] = tree_cpu(proc) - before
            result["idle_seconds"] = opts.idle
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(60)
        except subprocess.TimeoutExpired:
            cluster.kill()
    json.dump(result, sys.stdout)


def steady(cursor, table: str, opts, env: dict) -> dict:
    """Latency at a low, steady rate: the enqueuer runs while a 2 ms poller stamps results."""
    # An empty result table keeps the poller's query to the steady phase's few rows.
    cursor.execute(f"DELETE FROM {table}")
    seen: set = set()
    saved: dict[str, float] = {}
    done = threading.Event()

    def poll() -> None:
        from django.db import connections

        with connections["default"].cursor() as own:
            while not done.is_set():
                own.execute(f"SELECT id FROM {table}")
                now = time.time()
                for (task_id,) in own.fetchall():
                    if task_id not in seen and task_id not in saved:
                        saved[task_id] = now
                time.sleep(0.002)
        connections["default"].close()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    times = enqueue(opts.python, env, "steady", str(opts.rate), str(opts.rate_tasks))
    deadline = time.time() + 30
    while len(saved) < len(times) and time.time() < deadline:
        time.sleep(0.05)
    done.set()
    poller.join()
    lat = latencies(times, saved)
    return {"steady_rate": opts.rate, "steady_tasks": len(times), "steady_saved": len(lat),
            "p50_ms": percentile(lat, 50), "p95_ms": percentile(lat, 95),
            "p99_ms": percentile(lat, 99)}


def _reset_postgres(db: dict) -> None:
    """A fresh schema per case, so systems and repeats never see each other's rows."""
    import psycopg

    dsn = f"host={db['HOST']} port={db['PORT']} user={db['USER']} dbname={db['NAME']}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


if __name__ == "__main__":
    main()
