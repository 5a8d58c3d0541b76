"""Run benchmark cases, interleaved, and report medians (min-max) as Markdown and JSON.

Usage (through ``benchmarks/run``, which prepares virtualenvs, PostgreSQL and Redis)::

    python benchmarks/run.py --systems djq,django-q2 --brokers redis,orm-sqlite,orm-postgres
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from probe import measure  # noqa: E402
from project import BROKERS  # noqa: E402
from report import label, markdown  # noqa: E402


def schedule(repeat: int, brokers: list[str], systems: list[str]) -> list[tuple[int, str, str]]:
    """(repeat, broker, system) in run order: every repeat runs every broker, and within a
    broker the systems alternate which goes first, so machine drift hits both."""
    order = []
    for r in range(repeat):
        for broker in brokers:
            for system in (systems if r % 2 == 0 else list(reversed(systems))):
                order.append((r, broker, system))
    return order


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--systems", default="djq", help="djq,django-q2")
    parser.add_argument("--brokers", default=",".join(BROKERS), help=",".join(BROKERS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--rate-tasks", type=int, default=250)
    parser.add_argument("--idle", type=float, default=60, help="idle-CPU window, s (0: skip)")
    parser.add_argument("--queue-limit", type=int, default=0,
                        help="Q_CLUSTER['queue_limit'] for both systems (0: their default, "
                             "workers ** 2)")
    parser.add_argument("--trace", action="store_true",
                        help="djq only: where the steady rate's latency goes, hop by hop "
                             "(tracing.py); no burst, no enqueue alone")
    parser.add_argument("--out", default=str(HERE / "results"))
    opts = parser.parse_args()

    pythons = {"djq": os.environ.get("BENCH_DJQ_PYTHON", sys.executable),
               "django-q2": os.environ.get("BENCH_Q2_PYTHON", "")}
    systems, brokers = opts.systems.split(","), opts.brokers.split(",")
    for system in systems:
        if not pythons.get(system):
            raise SystemExit(f"no interpreter for {system} (run through benchmarks/run)")
    if opts.trace and systems != ["djq"]:
        raise SystemExit("--trace follows djq's tasks only: use --systems djq")
    for broker in brokers:
        if broker not in BROKERS:
            raise SystemExit(f"unknown broker {broker!r}; choose from {','.join(BROKERS)}")
    runs, failed, probes = [], [], []
    redis_url = os.environ.get("BENCH_REDIS_URL") if "redis" in brokers else None
    for repeat, broker, system in schedule(opts.repeat, brokers, systems):
        if len(probes) == repeat:  # the machine's limits now (probe.py), once per repeat
            probes.append(measure(redis_url))
        name = label(system, broker)
        print(f"[{repeat + 1}/{opts.repeat}] {name} ...", file=sys.stderr, flush=True)
        cmd = [sys.executable, str(HERE / "case.py"), system, broker, pythons[system],
               "--tasks", str(opts.tasks), "--workers", str(opts.workers),
               "--rate", str(opts.rate), "--rate-tasks", str(opts.rate_tasks),
               "--idle", str(opts.idle), "--queue-limit", str(opts.queue_limit),
               *(["--trace"] if opts.trace else [])]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            print(out.stderr, file=sys.stderr, flush=True)
            failed.append(f"{name} (repeat {repeat + 1})")
            continue
        run = json.loads(out.stdout)
        run["repeat"] = repeat
        runs.append(run)
        burst = (f"{run['tasks_per_s']:.0f} tasks/s, burst p50 {run['burst_p50_ms']:.0f} ms, "
                 if "tasks_per_s" in run else "")
        print(f"    {burst}steady p50 {run['p50_ms']:.1f} ms", file=sys.stderr, flush=True)
    meta = {"tasks": opts.tasks, "workers": opts.workers, "rate": opts.rate,
            "rate_tasks": opts.rate_tasks, "repeat": opts.repeat, "idle": opts.idle,
            "queue_limit": opts.queue_limit or None,
            "cpus": os.cpu_count(), "systems": systems, "brokers": brokers, "failed": failed,
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "probes": probes,
            "trace": opts.trace}
    text = markdown(runs, meta)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"{stamp}.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=2))
    (out / f"{stamp}.md").write_text(text)
    print(text)
    print(f"(results in {out / stamp}.json and .md)")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
