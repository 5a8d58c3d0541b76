"""Markdown tables of benchmark runs: one row per case, median (min–max) over repeats.

Unit-tested in tests/test_benchmark_stats.py.
"""

from __future__ import annotations

from stats import summary
from tracing import HOPS

BROKER_LABELS = {"redis": "Redis", "orm-sqlite": "ORM sqlite", "orm-postgres": "ORM postgres",
                 "orm-postgres-prepared": "ORM postgres prepared"}

THROUGHPUT = [  # key, column title, format
    ("enqueue_alone_per_s", "enqueue/s alone", "{:.0f}"),
    ("enqueue_per_s", "enqueue/s", "{:.0f}"),
    ("tasks_per_s", "tasks/s", "{:.0f}"),
    ("cpu_s_per_1000", "CPU s/1000 tasks", "{:.2f}"),
    ("peak_pss_mb", "peak PSS MB", "{:.0f}"),
    ("peak_rss_mb", "peak RSS MB", "{:.0f}"),
    ("idle_cpu_s", "idle CPU s", "{:.2f}"),
]
LATENCY = [
    ("burst_p50_ms", "burst p50", "{:.0f}"),
    ("burst_p95_ms", "burst p95", "{:.0f}"),
    ("burst_p99_ms", "burst p99", "{:.0f}"),
    ("p50_ms", "steady p50", "{:.1f}"),
    ("p95_ms", "steady p95", "{:.1f}"),
    ("p99_ms", "steady p99", "{:.1f}"),
]

# CPU µs per task by process (case.py, stats.cpu_by_role): the enqueuing process, the broker's
# server (Redis, PostgreSQL; none for SQLite), and the cluster by role where its processes
# are named (djq); "cluster" is the whole tree, recycled workers included.
SPLIT_ROLES = [("enqueuer", "enqueuer"), ("server", "broker server"),
               ("sentinel", "sentinel"), ("pusher", "pusher"), ("monitor", "monitor"),
               ("workers", "workers"), ("cluster", "cluster total")]


def split_metrics(phase: str) -> list[tuple[str, str, str]]:
    """The CPU-split columns of one phase (``burst`` or ``steady``)."""
    return [(f"{phase}_us_{role}", title, "{:.0f}") for role, title in SPLIT_ROLES]


def label(system: str, broker: str) -> str:
    """``djq Redis``, ``django-q2 ORM sqlite``, ..."""
    return f"{system} {BROKER_LABELS.get(broker, broker)}"


def cell(values: list[float], fmt: str) -> str:
    values = [v for v in values if v == v]  # NaN: no value (e.g. no task seen saved)
    if not values:
        return "–"
    s = summary(values)
    if len(values) == 1:
        return fmt.format(s["median"])
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}–{fmt.format(s['max'])})"


def cases(runs: list[dict]) -> list[tuple[str, str]]:
    """(broker, system) pairs, brokers in first-seen order, each broker's systems together."""
    brokers = list(dict.fromkeys(r["broker"] for r in runs))
    systems = list(dict.fromkeys(r["system"] for r in runs))
    seen = {(r["broker"], r["system"]) for r in runs}
    return [(b, s) for b in brokers for s in systems if (b, s) in seen]


def table(runs: list[dict], metrics=THROUGHPUT, titles: dict[str, str] | None = None) -> str:
    """A Markdown table of ``metrics`` (key, title, format) for every case in ``runs``."""
    titles = titles or {}
    head = "| case | " + " | ".join(titles.get(k, t) for k, t, _ in metrics) + " |"
    lines = [head, "|" + " --- |" * (len(metrics) + 1)]
    for broker, system in cases(runs):
        rows = [r for r in runs if (r["broker"], r["system"]) == (broker, system)]
        cells = [cell([r[k] for r in rows if k in r], fmt) for k, _, fmt in metrics]
        lines.append(f"| {label(system, broker)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# Where the steady rate's latency goes (tracing.py, ``--trace``): p50 of each hop.
def trace_metrics(pct: int = 50) -> list[tuple[str, str, str]]:
    hops = [(f"{a}_{b}", f"{a} → {b}") for a, b, _ in HOPS]
    hops += [("total", "total (call → saved)"), ("saved_acked", "saved → acked")]
    return [(f"trace_{key}_p{pct}_ms", title, "{:.2f}") for key, title in hops]


# The machine's own limits (probe.py), measured once per repeat.
PROBE = [
    ("xadd_per_s", "Redis XADD round trips/s, one client", "{:.0f}"),
    ("xadd_p50_us", "one round trip, p50 µs", "{:.0f}"),
    ("wake_hop_same_us", "hand-over to a process asleep 20 ms, same CPU, µs", "{:.0f}"),
    ("wake_hop_cross_us", "hand-over to a process asleep 20 ms, other CPU, µs", "{:.0f}"),
    ("wake_first_x", "first piece of Python after a 20 ms sleep, × warm", "{:.1f}"),
    ("wake_round_x", "Python over the first {ms:.1f} ms after that sleep, × warm", "{:.2f}"),
]


def machine(probes: list[dict]) -> str:
    """The probes' medians (min–max), one row per measure this run has."""
    lines = ["| measure | median (min–max) |", "| --- | --- |"]
    ms = summary([p.get("wake_round_ms", 0.0) for p in probes])["median"]
    for key, title, fmt in PROBE:
        values = [p[key] for p in probes if key in p]
        if values:
            lines.append(f"| {title.format(ms=ms)} | {cell(values, fmt)} |")
    return "\n".join(lines)


def markdown(runs: list[dict], meta: dict) -> str:
    """The tables with the headings and the footnote that say what was measured."""
    idle = meta.get("idle") or 0
    titles = {"idle_cpu_s": f"idle CPU s/{idle:g} s"} if idle else {}
    failed = meta.get("failed") or []
    notes = [
        f"Median (min–max) over {meta['repeat']} run(s); {meta['tasks']} no-op tasks in the "
        f"burst, {meta['workers']} workers, steady phase {meta['rate_tasks']} tasks at "
        f"{meta['rate']:g}/s; {meta.get('cpus')} CPUs; queue_limit "
        f"{meta.get('queue_limit') or 'default (workers ** 2)'}.",
    ]
    if failed:
        notes.append("Failed runs (not in the tables): " + ", ".join(failed) + ".")
    probes = meta.get("probes") or []
    if probes:
        notes[:0] = ["### This machine (benchmarks/probe.py)", "", machine(probes), ""]
    if meta.get("trace"):
        legend = "; ".join(f"*{a} → {b}*: {what}" for a, b, what in HOPS)
        notes[:0] = ["### Where the steady rate's latency goes (traced, p50 ms)", "",
                     table(runs, trace_metrics(50)), "", "p95:", "",
                     table(runs, trace_metrics(95)), "",
                     f"{legend}; *saved → acked*: from the result seen saved to the "
                     "broker's acknowledgement (the poller sees a commit up to a tick late; "
                     "the ORM broker acknowledges inside the saving transaction, so its "
                     "figure is negative). Traced runs carry their stamps' "
                     "cost and skip the burst: for finding where the time goes, not for "
                     "comparing systems.", ""]
    return "\n".join([
        "### Throughput and resources", "", table(runs, THROUGHPUT, titles), "",
        "### Latency, enqueue to saved (ms)", "", table(runs, LATENCY), "",
        "### CPU per task by process, burst (µs)", "", table(runs, split_metrics("burst")), "",
        "### CPU per task by process, steady rate (µs)", "",
        table(runs, split_metrics("steady")), "", *notes, ""])
