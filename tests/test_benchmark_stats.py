"""The benchmark's own arithmetic and tables (benchmarks/stats.py, arrivals.py, report.py,
run.py, project.py). No timing assertions: only that the numbers are computed correctly."""

import math
import statistics
import sys
from types import SimpleNamespace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import stats  # noqa: E402


def test_percentile_matches_statistics_inclusive_quantiles():
    data = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0]
    cuts = statistics.quantiles(data, n=100, method="inclusive")
    for pct in (5, 50, 95, 99):
        assert stats.percentile(data, pct) == pytest.approx(cuts[pct - 1])
    assert stats.percentile(data, 0) == 1.0 and stats.percentile(data, 100) == 9.0


def test_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        stats.percentile([], 50)


def test_throughput_from_first_enqueue_to_last_save():
    assert stats.throughput(5000, 100.0, 102.0) == 2500
    with pytest.raises(ValueError):
        stats.throughput(1, 5.0, 5.0)


def test_enqueue_rate_is_count_over_first_to_last_stamp():
    assert stats.enqueue_rate([10.0, 10.5, 11.0, 12.0]) == 2.0  # 4 enqueues over 2 s
    assert stats.enqueue_rate(iter([3.0, 1.0])) == 1.0  # order does not matter
    with pytest.raises(ValueError):
        stats.enqueue_rate([1.0])


def test_call_times_are_the_gaps_between_sorted_enqueue_stamps():
    assert stats.call_times_ms([2.0, 1.0, 1.0015]) == pytest.approx([1.5, 998.5])
    assert stats.call_times_ms([5.0]) == []


def test_latencies_only_count_saved_tasks_in_ms():
    enqueued = {"a": 1.0, "b": 2.0, "c": 3.0}
    saved = {"a": 1.010, "b": 2.5}
    assert sorted(stats.latencies(enqueued, saved)) == pytest.approx([10.0, 500.0])


def test_summary_and_cpu_per_thousand():
    assert stats.summary([3, 1, 2]) == {"median": 2, "min": 1, "max": 3}
    assert stats.cpu_per_thousand(2.5, 5000) == 0.5


def test_latency_percentiles_named_and_nan_when_empty():
    lat = [float(v) for v in range(1, 101)]  # 1..100 ms
    got = stats.latency_percentiles(lat, "burst_")
    assert got == pytest.approx({"burst_p50_ms": 50.5, "burst_p95_ms": 95.05,
                                 "burst_p99_ms": 99.01})
    assert all(math.isnan(v) for v in stats.latency_percentiles([]).values())
    assert set(stats.latency_percentiles([1.0])) == {"p50_ms", "p95_ms", "p99_ms"}


def test_cpu_counts_own_and_reaped_children():
    live = SimpleNamespace(user=1.5, system=0.5, children_user=2.0, children_system=0.25)
    assert stats.own_and_reaped_cpu(live) == 4.25
    assert stats.own_and_reaped_cpu(SimpleNamespace(user=1.0, system=2.0)) == 3.0


# -- arrivals: first-seen stamps and the poll watermark ------------------------------------

def test_arrivals_keep_the_first_stamp_and_advance_over_contiguous_seqs():
    from arrivals import Arrivals

    a = Arrivals()
    a.add([(1, "a"), (2, "b")], 10.0)
    a.add([(2, "b"), (3, "c")], 11.0)  # a re-read row keeps its first stamp
    assert a.saved == {"a": 10.0, "b": 10.0, "c": 11.0}
    assert a.watermark == 3


def test_arrivals_wait_at_a_hole_until_it_is_filled():
    from arrivals import Arrivals

    a = Arrivals(grace=5.0)
    a.add([(1, "a"), (3, "c")], 10.0)  # seq 2 committed later (out of order)
    assert a.watermark == 1  # the next poll re-reads 2 and above
    a.add([(3, "c")], 12.0)
    assert a.watermark == 1
    a.add([(2, "b"), (3, "c")], 13.0)
    assert a.watermark == 3 and a.saved == {"a": 10.0, "c": 10.0, "b": 13.0}


def test_arrivals_skip_a_hole_after_grace():
    from arrivals import Arrivals

    a = Arrivals(grace=5.0)
    a.add([(1, "a"), (3, "c"), (4, "d")], 10.0)  # seq 2: a rolled-back insert
    a.add([(3, "c"), (4, "d")], 14.9)
    assert a.watermark == 1
    a.add([(3, "c"), (4, "d")], 15.0)
    assert a.watermark == 4 and "b" not in a.saved


# -- settings per case ---------------------------------------------------------------------

def test_cluster_settings_per_system_and_broker():
    from project import cluster_settings, result_db

    url = "redis://127.0.0.1:6390/0"
    apps, conf = cluster_settings("djq", "redis", 2, url)
    assert apps == ["djq"] and conf["redis"] == url and "orm" not in conf
    apps, conf = cluster_settings("django-q2", "redis", 2, url)
    assert apps == ["django_q"] and conf["redis"] == {"host": "127.0.0.1", "port": 6390, "db": 0}
    apps, conf = cluster_settings("djq", "orm-postgres", 2)
    assert apps == ["djq", "djq_orm"] and conf["orm"] == "default"
    apps, conf = cluster_settings("django-q2", "orm-sqlite", 2)
    assert apps == ["django_q"] and conf["orm"] == "default"
    for _, conf in (cluster_settings(s, "orm-sqlite", 2) for s in ("djq", "django-q2")):
        assert conf["save_limit"] == 0 and conf["workers"] == 2
        assert "queue_limit" not in conf  # each system's default unless asked
    for _, conf in (cluster_settings(s, "redis", 2, url, 32) for s in ("djq", "django-q2")):
        assert conf["queue_limit"] == 32
    assert [result_db(b) for b in ("redis", "orm-sqlite", "orm-postgres",
                                   "orm-postgres-prepared")] == \
        ["sqlite", "sqlite", "postgres", "postgres-prepared"]
    assert cluster_settings("django-q2", "orm-postgres-prepared", 2)[1]["orm"] == "default"
    with pytest.raises(ValueError):
        cluster_settings("djq", "sqs", 2)


def test_prepared_postgres_differs_only_in_its_connection_options():
    from project import PREPARED_OPTIONS, database

    url = "postgresql://postgres@127.0.0.1:5499/bench"
    plain = database("postgres", Path("/tmp"), url)
    prepared = database("postgres-prepared", Path("/tmp"), url)
    assert "OPTIONS" not in plain  # Django's defaults: client-side binding, nothing prepared
    assert prepared == {**plain, "OPTIONS": PREPARED_OPTIONS}
    assert PREPARED_OPTIONS == {"server_side_binding": True, "prepare_threshold": 5}
    with pytest.raises(SystemExit):
        database("postgres-prepared", Path("/tmp"), None)


# -- run order and tables ------------------------------------------------------------------

def test_schedule_interleaves_systems_and_alternates_who_goes_first():
    import run

    order = run.schedule(2, ["redis", "orm-sqlite"], ["djq", "django-q2"])
    assert order == [(0, "redis", "djq"), (0, "redis", "django-q2"),
                     (0, "orm-sqlite", "djq"), (0, "orm-sqlite", "django-q2"),
                     (1, "redis", "django-q2"), (1, "redis", "djq"),
                     (1, "orm-sqlite", "django-q2"), (1, "orm-sqlite", "djq")]


def test_markdown_table_reports_median_and_range():
    import report

    runs = [{"broker": "orm-sqlite", "system": "djq", "tasks_per_s": v, "p50_ms": 2.0}
            for v in (10, 30, 20)]
    text = report.table(runs)
    assert "| djq ORM sqlite |" in text
    assert "20 (10–30)" in text


def test_table_rows_group_systems_per_broker_and_skip_missing_values():
    import report

    runs = [
        {"broker": "redis", "system": "djq", "tasks_per_s": 100.0, "p50_ms": 1.0},
        {"broker": "redis", "system": "django-q2", "tasks_per_s": 50.0, "p50_ms": float("nan")},
        {"broker": "orm-postgres", "system": "django-q2", "tasks_per_s": 20.0},
        {"broker": "orm-postgres", "system": "djq", "tasks_per_s": 40.0},
    ]
    metrics = [("tasks_per_s", "tasks/s", "{:.0f}"), ("p50_ms", "p50", "{:.1f}")]
    lines = report.table(runs, metrics).splitlines()
    assert lines[0] == "| case | tasks/s | p50 |"
    assert lines[2:] == ["| djq Redis | 100 | 1.0 |", "| django-q2 Redis | 50 | – |",
                         "| djq ORM postgres | 40 | – |", "| django-q2 ORM postgres | 20 | – |"]


def test_markdown_has_both_tables_and_names_the_idle_window():
    import report

    runs = [{"broker": "redis", "system": "djq", "tasks_per_s": 100.0, "idle_cpu_s": 0.5,
             "burst_p50_ms": 80.0, "p50_ms": 1.25}]
    meta = {"repeat": 1, "tasks": 100, "workers": 2, "rate_tasks": 50, "rate": 50.0,
            "idle": 10.0, "cpus": 2, "failed": ["django-q2 Redis (repeat 1)"]}
    text = report.markdown(runs, meta)
    assert "idle CPU s/10 s" in text and "| 0.50 |" in text
    assert "### Latency, enqueue to saved (ms)" in text and "| djq Redis | 80 |" in text
    assert "Failed runs (not in the tables): django-q2 Redis (repeat 1)." in text


def _times(user, system, children_user=0.0, children_system=0.0):
    return SimpleNamespace(user=user, system=system, children_user=children_user,
                           children_system=children_system)


def test_cpu_by_role_names_djq_processes_and_gives_reaped_time_to_workers():
    split = stats.cpu_by_role([
        ("djq-sentinel", _times(1.0, 0.5, 2.0, 1.0)),  # reaped: recycled workers
        ("djq-pusher", _times(0.25, 0.25)),
        ("djq-monitor", _times(0.5, 0.0)),
        ("djq-worker", _times(0.75, 0.25)),
        ("djq-worker", _times(0.5, 0.0)),
        ("python", _times(0.125, 0.0)),  # e.g. the fork server
    ])
    assert split == {"sentinel": 1.5, "pusher": 0.5, "monitor": 0.5, "workers": 4.5,
                     "other": 0.125, "cluster": 7.125}


def test_cpu_by_role_of_an_unnamed_tree_is_the_cluster_total():
    split = stats.cpu_by_role([("python", _times(1.0, 0.5, 0.25, 0.25)),
                               ("python", _times(0.5, 0.5))])
    assert split == {"cluster": 3.0}


def test_us_per_task_between_readings_counts_new_roles_from_zero():
    before = {"pusher": 1.0, "workers": 2.0, "cluster": 3.0}
    after = {"pusher": 1.5, "workers": 3.0, "server": 0.25, "cluster": 4.5}
    assert stats.us_per_task(before, after, 1000, "burst_us_") == {
        "burst_us_pusher": 500.0, "burst_us_workers": 1000.0, "burst_us_server": 250.0,
        "burst_us_cluster": 1500.0}
    with pytest.raises(ValueError):
        stats.us_per_task(before, after, 0, "burst_us_")


def test_markdown_has_the_cpu_split_tables():
    import report

    runs = [{"broker": "redis", "system": "djq", "burst_us_enqueuer": 150.0,
             "burst_us_server": 80.0, "burst_us_sentinel": 10.0, "burst_us_pusher": 100.0,
             "burst_us_monitor": 150.0, "burst_us_workers": 140.0, "burst_us_cluster": 400.0,
             "steady_us_cluster": 1900.0},
            {"broker": "redis", "system": "django-q2", "burst_us_cluster": 1800.0}]
    meta = {"repeat": 1, "tasks": 100, "workers": 2, "rate_tasks": 50, "rate": 50.0,
            "cpus": 2}
    text = report.markdown(runs, meta)
    burst = text.split("### CPU per task by process, burst (µs)")[1].split("###")[0]
    assert "| case | enqueuer | broker server | sentinel | pusher | monitor | workers | " \
           "cluster total |" in burst
    assert "| djq Redis | 150 | 80 | 10 | 100 | 150 | 140 | 400 |" in burst
    assert "| django-q2 Redis | – | – | – | – | – | – | 1800 |" in burst
    steady = text.split("### CPU per task by process, steady rate (µs)")[1]
    assert "| djq Redis | – | – | – | – | – | – | 1900 |" in steady


def test_wake_ratios_compare_each_round_with_the_warm_median():
    import probe

    warm = [10e-6, 10e-6, 12e-6, 8e-6, 10e-6]  # median 10 µs
    cold = [[30e-6, 20e-6, 10e-6],  # first 3x, round average 2x, 60 µs
            [50e-6, 10e-6, 15e-6],  # first 5x, 2.5x, 75 µs
            [20e-6, 10e-6, 15e-6]]  # first 2x, 1.5x, 45 µs
    found = probe.wake_ratios(warm, cold)
    assert found["wake_first_x"] == pytest.approx(3.0)
    assert found["wake_round_x"] == pytest.approx(2.0)
    assert found["wake_round_ms"] == pytest.approx(0.060)
    assert found["chunk_warm_us"] == pytest.approx(10.0)
    with pytest.raises(ValueError):
        probe.wake_ratios(warm, [[]])
    with pytest.raises(ValueError):
        probe.wake_ratios([], cold)


def test_markdown_reports_the_machine_probes_when_the_run_has_them():
    import report

    runs = [{"broker": "redis", "system": "djq", "tasks_per_s": 100.0}]
    meta = {"repeat": 3, "tasks": 100, "workers": 2, "rate_tasks": 50, "rate": 50.0,
            "cpus": 2}
    assert "### This machine" not in report.markdown(runs, meta)
    meta["probes"] = [
        {"xadd_per_s": 6000.0, "xadd_p50_us": 150.0, "wake_first_x": 3.0,
         "wake_round_x": 1.5, "wake_round_ms": 2.0, "wake_hop_same_us": 30.0,
         "wake_hop_cross_us": 200.0},
        {"xadd_per_s": 2000.0, "xadd_p50_us": 400.0, "wake_first_x": 2.0,
         "wake_round_x": 1.25, "wake_round_ms": 2.5},
        {"wake_first_x": 4.0, "wake_round_x": 1.75, "wake_round_ms": 1.5},  # no Redis
    ]
    section = report.markdown(runs, meta).split("### This machine (benchmarks/probe.py)")[1]
    assert "| Redis XADD round trips/s, one client | 4000 (2000–6000) |" in section
    assert "| one round trip, p50 µs | 275 (150–400) |" in section
    assert "| first piece of Python after a 20 ms sleep, × warm | 3.0 (2.0–4.0) |" in section
    assert "| Python over the first 2.0 ms after that sleep, × warm | 1.50 (1.25–1.75) |" \
        in section
    assert "| hand-over to a process asleep 20 ms, other CPU, µs | 200 |" in section


def test_trace_hops_follow_each_task_from_call_to_saved():
    import tracing

    lines = [
        "sent t1 10.001000", "accepted t1 10.001500",
        "dequeued t1 10.002000 r1",
        "dequeued t1 10.900000 r9",  # delivered again later: the first delivery counts
        "started t1 10.003000", "finished t1 10.003250",
        "acked r1 10.006000",
        "sent t2 20.000500",  # never dequeued: left out of every hop
        "garbage",
    ]
    called = {"t1": 10.0, "t2": 20.0}
    saved = {"t1": 10.005}
    found = tracing.hops(lines, called, saved)
    assert found["call_sent"] == pytest.approx([1.0])
    assert found["sent_dequeued"] == pytest.approx([1.0])
    assert found["dequeued_started"] == pytest.approx([1.0])
    assert found["started_finished"] == pytest.approx([0.25])
    assert found["finished_saved"] == pytest.approx([1.75])
    assert found["total"] == pytest.approx([5.0])
    assert found["saved_acked"] == pytest.approx([1.0])
    # The hops add up to the total.
    assert sum(found[f"{a}_{b}"][0] for a, b, _ in tracing.HOPS) == pytest.approx(5.0)


def test_markdown_has_the_trace_tables_only_for_a_traced_run():
    import report

    runs = [{"broker": "redis", "system": "djq", "p50_ms": 3.0,
             "trace_call_sent_p50_ms": 0.25, "trace_total_p50_ms": 3.0,
             "trace_total_p95_ms": 7.5}]
    meta = {"repeat": 1, "tasks": 100, "workers": 2, "rate_tasks": 50, "rate": 50.0,
            "cpus": 2}
    assert "Where the steady rate's latency goes" not in report.markdown(runs, meta)
    text = report.markdown(runs, {**meta, "trace": True})
    section = text.split("### Where the steady rate's latency goes (traced, p50 ms)")[1]
    p50, p95 = section.split("p95:")
    assert "| case | call → sent | sent → dequeued |" in p50
    assert "| djq Redis | 0.25 | – | – | – | – | 3.00 | – |" in p50
    assert "| djq Redis | – | – | – | – | – | 7.50 | – |" in p95
