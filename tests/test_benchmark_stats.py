"""The benchmark's own arithmetic (benchmarks/stats.py, benchmarks/run.py tables)."""

import statistics
import sys
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


def test_latencies_only_count_saved_tasks_in_ms():
    enqueued = {"a": 1.0, "b": 2.0, "c": 3.0}
    saved = {"a": 1.010, "b": 2.5}
    assert sorted(stats.latencies(enqueued, saved)) == pytest.approx([10.0, 500.0])


def test_summary_and_cpu_per_thousand():
    assert stats.summary([3, 1, 2]) == {"median": 2, "min": 1, "max": 3}
    assert stats.cpu_per_thousand(2.5, 5000) == 0.5


def test_markdown_table_reports_median_and_range():
    import run

    runs = [{"db": "sqlite", "system": "djq", "tasks_per_s": v, "p50_ms": 2.0} for v in (10, 30, 20)]
    text = run.table(runs)
    assert "| djq ORM sqlite |" in text
    assert "20 (10–30)" in text
