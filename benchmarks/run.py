"""Run benchmark cases, interleaved, and report medians (min-max) as Markdown and JSON.

Usage (through ``benchmarks/run``, which prepares virtualenvs and PostgreSQL)::

    python benchmarks/run.py --systems djq,django-q2 --dbs sqlite,postgres --repeat 3
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
from stats import summary  # noqa: E402

METRICS = [  # key, column title, format
    ("enqueue_per_s", "enqueue/s", "{:.0f}"),
    ("tasks_per_s", "tasks/s", "{:.0f}"),
    ("p50_ms", "p50 ms @rate", "{:.1f}"),
    ("p95_ms", "p95 ms @rate", "{:.1f}"),
    ("p99_ms", "p99 ms @rate", "{:.1f}"),
    ("peak_pss_mb", "PSS MB", "{:.0f}"),
    ("peak_rss_mb", "RSS MB", "{:.0f}"),
    ("cpu_s_per_1000", "CPU s/1000", "{:.2f}"),
    ("idle_cpu_s", "idle CPU s", "{:.2f}"),
]


def cell(values: list[float], fmt: str) -> str:
    if not values:
        return "–"
    s = summary(values)
    if len(values) == 1:
        return fmt.format(s["median"])
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}–{fmt.format(s['max'])})"


def table(runs: list[dict]) -> str:
    cases = sorted({(r["db"], r["system"]) for r in runs})
    head = "| case | " + " | ".join(t for _, t, _ in METRICS) + " |"
    lines = [head, "|" + " --- |" * (len(METRICS) + 1)]
    for db, system in cases:
        rows = [r for r in runs if (r["db"], r["system"]) == (db, system)]
        cells = [cell([r[k] for r in rows if k in r], fmt) for k, _, fmt in METRICS]
        lines.append(f"| {system} ORM {db} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--systems", default="djq")
    parser.add_argument("--dbs", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--rate-tasks", type=int, default=250)
    parser.add_argument("--idle", type=float, default=0)
    parser.add_argument("--out", default=str(HERE / "results"))
    opts = parser.parse_args()

    pythons = {"djq": os.environ.get("BENCH_DJQ_PYTHON", sys.executable),
               "django-q2": os.environ.get("BENCH_Q2_PYTHON", "")}
    systems, dbs = opts.systems.split(","), opts.dbs.split(",")
    runs = []
    for repeat in range(opts.repeat):
        for db in dbs:
            # Alternate which system goes first, so machine drift hits both.
            order = systems if repeat % 2 == 0 else list(reversed(systems))
            for system in order:
                if not pythons.get(system):
                    raise SystemExit(f"no interpreter for {system} (set BENCH_Q2_PYTHON)")
                print(f"[{repeat + 1}/{opts.repeat}] {system} ORM {db} ...", file=sys.stderr,
                      flush=True)
                cmd = [sys.executable, str(HERE / "case.py"), system, db, pythons[system],
                       "--tasks", str(opts.tasks), "--workers", str(opts.workers),
                       "--rate", str(opts.rate), "--rate-tasks", str(opts.rate_tasks),
                       "--idle", str(opts.idle)]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True)
                run = json.loads(out.stdout)
                run["repeat"] = repeat
                runs.append(run)
                print(f"    {run['tasks_per_s']:.0f} tasks/s, p50 {run['p50_ms']:.1f} ms",
                      file=sys.stderr, flush=True)
    markdown = table(runs)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    meta = {"tasks": opts.tasks, "workers": opts.workers, "rate": opts.rate,
            "rate_tasks": opts.rate_tasks, "repeat": opts.repeat, "cpus": os.cpu_count()}
    (out / f"{stamp}.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=2))
    (out / f"{stamp}.md").write_text(markdown + "\n")
    print(markdown)
    print(f"\n(median, min–max over {opts.repeat} runs; {opts.tasks} no-op tasks, "
          f"{opts.workers} workers, steady rate {opts.rate:g}/s; results in {out})")


if __name__ == "__main__":
    main()
