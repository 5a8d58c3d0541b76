"""Real clusters (``qcluster`` subprocesses) on the Redis broker: end to end, ``kill -9`` of
the whole cluster, a Redis restart mid-run, and two clusters sharing one queue."""

from __future__ import annotations

import os
import re
import signal
from collections import Counter

import pytest

from djq.brokers import get_broker
from djq.models import Task
from djq.status import Stat
from djq.tasks import async_task
from tests.cluster.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def done(ids, success=None) -> bool:
    qs = Task.objects.filter(pk__in=ids)
    if success is not None:
        qs = qs.filter(success=success)
    return qs.count() == len(ids)


def executions(tmp_path) -> Counter:
    """How often each task id ran (workers log ``post_execute <id> <pid>``)."""
    path = tmp_path / "signals.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return Counter(line.split()[1] for line in lines if line.startswith("post_execute"))


def worker_pids(tmp_path) -> set[int]:
    lines = (tmp_path / "signals.log").read_text().splitlines()
    return {int(line.split()[2]) for line in lines if line.startswith("post_execute")}


def drained(broker) -> bool:
    return broker.queue_size() == 0 and broker.lock_size() == 0


def test_cluster_processes_tasks_end_to_end(redis_cluster_env, start_redis_cluster,
                                            tmp_path):
    env = redis_cluster_env(bulk=5)
    ids = [async_task("tests.tasks.add", i, 1) for i in range(30)]
    bad = async_task("tests.tasks.boom", ack_failure=True)
    broker = get_broker()
    assert broker.queue_size() == 31
    cluster = start_redis_cluster(env)
    wait_for(lambda: done(ids + [bad]), what="all results")
    assert sorted(Task.objects.filter(pk__in=ids).values_list("result", flat=True)) == \
        list(range(1, 31))
    assert not Task.objects.get(pk=bad).success
    wait_for(lambda: drained(broker), what="every task acknowledged")
    # Stats come from the Redis stat store (the test settings' cache is process-local).
    stat = wait_for(lambda: Stat.get(cluster.proc.pid), what="the cluster's Stat")
    assert len(stat.workers) == 2 and stat.pusher and stat.monitor
    assert cluster.stop() == 0
    assert "pushing tasks at" in cluster.log and "has stopped." in cluster.log
    assert "could not dequeue" not in cluster.log and "again after" not in cluster.log
    wait_for(lambda: Stat.get(cluster.proc.pid) is None, what="the Stat to go")
    assert max(executions(tmp_path).values()) == 1


def test_kill_9_of_the_whole_cluster_loses_nothing(redis_cluster_env, start_redis_cluster,
                                                   tmp_path):
    """``kill -9`` of every process of a busy cluster; a fresh cluster then saves every
    task, and what was saved before the kill is never saved again."""
    env = redis_cluster_env(retry=2, bulk=3)
    ids = [async_task("tests.tasks.sleep", 0.05) for _ in range(60)]
    broker = get_broker()
    first = start_redis_cluster(env)
    wait_for(lambda: Task.objects.filter(pk__in=ids).count() >= 10, what="some results")
    os.killpg(first.proc.pid, signal.SIGKILL)
    first.proc.wait(10)
    saved_before = dict(Task.objects.filter(pk__in=ids).values_list("pk", "stopped"))
    assert len(saved_before) < len(ids)
    assert broker.lock_size() > 0, "the killed cluster held no packages: nothing was tested"

    second = start_redis_cluster(env)
    wait_for(lambda: done(ids, success=True), timeout=60, what="every task saved")
    wait_for(lambda: drained(broker), what="every task acknowledged")
    assert second.stop() == 0
    # Saved once: results saved before the kill were not replaced by a rerun.
    after = dict(Task.objects.filter(pk__in=saved_before).values_list("pk", "stopped"))
    assert after == saved_before
    runs = executions(tmp_path)
    assert set(runs) == set(ids)
    # Only what the dead cluster held in flight may have run twice.
    again = [task for task, n in runs.items() if n > 1]
    assert len(again) <= 3 + 4 + 2, again  # bulk + queue_limit + workers
    assert max(runs.values()) <= 2


def test_redis_restart_mid_run(redis_cluster_env, start_redis_cluster, own_redis_server,
                               tmp_path):
    """The server is killed and comes back on the same port: the cluster logs the loss,
    backs off, reconnects and finishes every task, without crashing or restarting."""
    env = redis_cluster_env(redis=own_redis_server.settings, retry=5, bulk=2)
    ids = [async_task("tests.tasks.sleep", 0.05) for _ in range(50)]
    cluster = start_redis_cluster(env)
    wait_for(lambda: Task.objects.filter(pk__in=ids).count() >= 5, what="some results")
    own_redis_server.stop(signal.SIGKILL)  # the AOF is fsync'ed on every write
    # Down long enough for the pusher to back off twice (0.5 s, then 1 s).
    wait_for(lambda: "(failure 2)" in cluster.log, what="the pusher to notice and back off")
    own_redis_server.start()
    wait_for(lambda: done(ids, success=True), timeout=60, what="every task saved")
    wait_for(lambda: re.search(r"dequeues from .* again after [2-9] failure", cluster.log),
             what="the pusher to recover")
    broker = get_broker()
    wait_for(lambda: drained(broker), what="every task acknowledged")
    assert cluster.proc.poll() is None
    assert cluster.stop() == 0
    log = cluster.log
    assert "reincarnated" not in log and "Traceback" not in log, log
    assert "could not dequeue" in log and "retrying in 1.0s" in log
    assert log.count("again after") == 1  # one outage, one recovery
    assert set(executions(tmp_path)) == set(ids)


def test_two_clusters_never_run_a_task_twice_inside_retry(redis_cluster_env,
                                                          start_redis_cluster, tmp_path):
    env = redis_cluster_env(retry=30, bulk=2)
    one, two = start_redis_cluster(env), start_redis_cluster(env)
    for cluster in (one, two):  # both pushers wait on the queue before the tasks arrive
        wait_for(lambda c=cluster: "pushing tasks at" in c.log, what="a pusher")
    ids = [async_task("tests.tasks.sleep", 0.04) for _ in range(80)]
    wait_for(lambda: done(ids, success=True), timeout=60, what="every task saved")
    stats = wait_for(lambda: len(s := Stat.get_all()) == 2 and s, what="both clusters' Stat")
    runs = executions(tmp_path)
    assert set(runs) == set(ids) and max(runs.values()) == 1, runs.most_common(3)
    ran_on = worker_pids(tmp_path)
    for stat in stats:
        assert ran_on & set(stat.workers), f"cluster {stat.cluster_id} ran nothing"
    assert one.stop() == 0 and two.stop() == 0
    assert drained(get_broker())
