"""Helpers for cluster tests: real ``qcluster`` processes on the test database.

The cluster runs as ``python -m django qcluster`` with ``tests.cluster.cluster_settings``,
which points it at this test run's database and a file cache shared with the test
process (see that module). Tests use ``@pytest.mark.django_db(transaction=True)``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connections

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = ""):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


class RunningCluster:
    def __init__(self, proc: subprocess.Popen, log: Path) -> None:
        self.proc, self.log_path = proc, log

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig=signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait(timeout)


@pytest.fixture
def cluster_env(tmp_path, settings):
    """``configure(**q_cluster)`` -> environment for cluster processes; also applies the
    same ``Q_CLUSTER`` and file cache to this test process."""

    def configure(database: str = "default", **options):
        q = {"name": "djq-tests", "workers": 2, "guard_cycle": 0.2, "poll": 0.05,
             "retry": 30, **options}
        cache_dir = str(tmp_path / "cache")
        settings.CACHES = {"default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": cache_dir}}
        settings.Q_CLUSTER = q
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.cluster.cluster_settings",
               "DJQ_TEST_Q_CLUSTER": json.dumps(q), "DJQ_TEST_CACHE_DIR": cache_dir,
               "DJQ_TEST_SIGNAL_LOG": str(tmp_path / "signals.log"),
               "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
        if database in ("pg", "pg_prepared"):
            env["DJQ_TEST_PG_NAME"] = connections["pg"].settings_dict["NAME"]
            if database == "pg_prepared":
                env["DJQ_TEST_PG_PREPARED"] = "1"
        else:
            env["DJQ_TEST_DB"] = connections["default"].settings_dict["NAME"]
        return env

    return configure


@pytest.fixture
def start_cluster(tmp_path):
    """``start_cluster(env)`` -> a :class:`RunningCluster` once it logs "running.".

    Each cluster runs in its own process group, so a test can ``kill -9`` all of it
    (``os.killpg``) and nothing of it outlives the test."""
    started: list[RunningCluster] = []

    def start(env: dict, wait_running: bool = True) -> RunningCluster:
        log = tmp_path / f"qcluster-{len(started)}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "django", "qcluster"], cwd=ROOT, env=env,
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        cluster = RunningCluster(proc, log)
        started.append(cluster)
        if wait_running:
            wait_for(lambda: "running." in cluster.log or proc.poll() is not None,
                     timeout=60, what="the cluster to start")
            assert proc.poll() is None, cluster.log
        return cluster

    yield start
    for cluster in started:
        if cluster.proc.poll() is None:
            cluster.signal(signal.SIGTERM)
            try:
                cluster.proc.wait(30)
            except subprocess.TimeoutExpired:
                cluster.signal(signal.SIGTERM)  # second signal: forced
                cluster.proc.wait(10)
        try:
            os.killpg(cluster.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
