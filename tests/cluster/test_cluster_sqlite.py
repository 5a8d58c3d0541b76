"""A real cluster (qcluster subprocess) on the SQLite test database."""

from __future__ import annotations

import os
import signal
import sys
import time

import psutil
import pytest

from djq.cluster.interrupt import IDLE_WAIT
from djq.models import Task
from djq.status import Stat
from djq.tasks import async_task
from djq_orm.models import OrmQ
from tests.cluster.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def done(ids, success=None):
    qs = Task.objects.filter(pk__in=ids)
    if success is not None:
        qs = qs.filter(success=success)
    return qs.count() == len(ids)


def test_processes_tasks_logs_and_stops_cleanly(cluster_env, start_cluster, tmp_path):
    env = cluster_env()
    ids = [async_task("tests.tasks.add", i, 1) for i in range(20)]
    bad = async_task("tests.tasks.boom", ack_failure=True)
    cluster = start_cluster(env)
    wait_for(lambda: done(ids + [bad]), what="all results")
    assert sorted(Task.objects.filter(pk__in=ids).values_list("result", flat=True)) == \
        list(range(1, 21))
    failure = Task.objects.get(pk=bad)
    assert not failure.success and "ValueError('boom')" in failure.result

    stat = wait_for(lambda: Stat.get(cluster.proc.pid), what="the cluster's Stat")
    assert stat.status in ("Idle", "Working") and len(stat.workers) == 2
    assert stat.sentinel and stat.pusher and stat.monitor and stat.uptime() >= 0
    if sys.platform.startswith("linux"):  # what ps and top show (djq.cluster.prctl)
        names = {pid: psutil.Process(pid).name()
                 for pid in (stat.sentinel, stat.pusher, stat.monitor, *stat.workers)}
        assert names == {stat.sentinel: "djq-sentinel", stat.pusher: "djq-pusher",
                         stat.monitor: "djq-monitor",
                         **{pid: "djq-worker" for pid in stat.workers}}
    wait_for(lambda: not OrmQ.objects.exists(), what="every task acknowledged")

    assert cluster.stop() == 0
    log = cluster.log
    pid = cluster.proc.pid
    for line in (f"Q Cluster-{pid} starting.", "Process-1:1 ready for work at",
                 "Process-1:2 ready for work at", "Process-1:3 monitoring at",
                 "Process-1 guarding cluster at", "Process-1:4 pushing tasks at",
                 f"Q Cluster-{pid} running.", f"Q Cluster-{pid} stopping.",
                 "Process-1 stopping cluster processes", "Process-1:4 stopped pushing tasks",
                 "Process-1:1 stopped doing work", "Process-1:3 stopped monitoring results",
                 f"Q Cluster-{pid} has stopped."):
        assert f"[Q] INFO {line}" in log, line
    # The signals fired in the worker processes.
    lines = (tmp_path / "signals.log").read_text().split()
    assert lines.count("pre_execute") == 21 and lines.count("post_execute") == 21
    assert str(os.getpid()) not in lines


def test_killed_worker_is_reincarnated_and_task_redelivered(cluster_env, start_cluster,
                                                            tmp_path):
    env = cluster_env(retry=2)
    pid_file = tmp_path / "worker.pid"
    tid = async_task("tests.tasks.pid_then_sleep", str(pid_file), 1.0)
    cluster = start_cluster(env)
    worker = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(),
                          what="the task to start"))
    os.kill(worker, signal.SIGKILL)
    task = wait_for(lambda: Task.objects.filter(pk=tid, success=True).first(), timeout=40,
                    what="the redelivered task to complete")
    assert task.result != worker and task.attempt_count == 2
    stat = wait_for(lambda: (s := Stat.get(cluster.proc.pid)) and s.reincarnations and s)
    assert stat.reincarnations == 1 and worker not in stat.workers
    assert len(stat.workers) == 2
    # The cluster keeps working after the kill.
    more = [async_task("tests.tasks.add", i, i) for i in range(5)]
    wait_for(lambda: done(more, success=True), what="tasks after the kill")
    assert "sudden death" in cluster.log
    assert cluster.stop() == 0


def test_timeout_records_failure_and_cluster_keeps_working(cluster_env, start_cluster):
    env = cluster_env(timeout=1, ack_failures=True)
    slow = async_task("tests.tasks.sleep", 30)
    slow_own = async_task("tests.tasks.sleep", 30, timeout=1)  # per-task timeout
    cluster = start_cluster(env)
    wait_for(lambda: done([slow, slow_own], success=False), timeout=40,
             what="the timeout failures")
    for tid in (slow, slow_own):
        assert "TimeoutError" in Task.objects.get(pk=tid).result
    after = [async_task("tests.tasks.add", i, 1) for i in range(4)]
    wait_for(lambda: done(after, success=True), what="tasks after the timeouts")
    stat = wait_for(lambda: (s := Stat.get(cluster.proc.pid)) and s.reincarnations >= 2 and s)
    assert len(stat.workers) == 2
    assert "reincarnated worker" in cluster.log and "after timeout" in cluster.log
    wait_for(lambda: not OrmQ.objects.exists(), what="failures acknowledged (ack_failures)")
    assert cluster.stop() == 0


def test_per_task_timeout_overrides_global(cluster_env, start_cluster):
    env = cluster_env(timeout=1)
    tid = async_task("tests.tasks.sleep", 2, timeout=10)
    start_cluster(env)
    task = wait_for(lambda: Task.objects.filter(pk=tid).first(), timeout=40)
    assert task.success and task.result == 2


def test_max_attempts_stops_a_task_that_kills_its_worker(cluster_env, start_cluster):
    env = cluster_env(retry=1, max_attempts=2)
    tid = async_task("tests.tasks.kill_own_worker")
    cluster = start_cluster(env)
    task = wait_for(lambda: Task.objects.filter(pk=tid).first(), timeout=40,
                    what="the max attempts failure")
    assert not task.success and "MaxAttemptsReached" in task.result
    assert task.attempt_count == 3
    wait_for(lambda: not OrmQ.objects.exists(), what="the task acknowledged")
    stat = Stat.get(cluster.proc.pid)
    assert stat.reincarnations == 2
    assert cluster.stop() == 0


def test_sigterm_while_busy_loses_nothing(cluster_env, start_cluster):
    """Accepted tasks are finished and saved; the rest stays on the broker."""
    env = cluster_env(queue_limit=2, retry=60)
    ids = [async_task("tests.tasks.sleep", 0.5) for _ in range(12)]
    cluster = start_cluster(env)
    wait_for(lambda: Task.objects.filter(pk__in=ids).exists(), what="a first result")
    assert cluster.stop() == 0
    saved = set(Task.objects.filter(pk__in=ids, success=True).values_list("pk", flat=True))
    queued = OrmQ.objects.count()
    assert saved and len(saved) + queued == len(ids)
    # Whatever is still queued was never claimed, or comes back after retry: nothing
    # was acknowledged without its result saved.
    assert not Task.objects.exclude(pk__in=ids).exists()


def test_second_signal_forces_exit_and_work_comes_back(cluster_env, start_cluster):
    env = cluster_env(retry=2)
    ids = [async_task("tests.tasks.sleep", 5) for _ in range(3)]
    cluster = start_cluster(env)
    wait_for(lambda: OrmQ.objects.filter(lock__isnull=False).count() >= 2,
             what="tasks claimed")
    time.sleep(0.5)
    cluster.signal(signal.SIGTERM)
    time.sleep(0.5)
    cluster.signal(signal.SIGTERM)
    assert cluster.wait(20) == 0  # it exits at once, without finishing the tasks
    assert "forcing the stop" in cluster.log
    assert not Task.objects.filter(pk__in=ids).exists()
    assert OrmQ.objects.count() == 3  # unacknowledged: delivered again after retry


def test_recycling_workers_lose_no_task(cluster_env, start_cluster):
    # retry (60 s) is far beyond the wait below: a task handed to a worker in the moment
    # it recycles would only come back after retry, and this test would time out.
    env = cluster_env(recycle=3, retry=60)
    ids = [async_task("tests.tasks.add", i, 1) for i in range(40)]
    cluster = start_cluster(env)
    wait_for(lambda: done(ids, success=True), timeout=30, what="every result")
    assert cluster.stop() == 0
    assert cluster.log.count("recycling after 3 tasks") >= 10
    assert "while running task" not in cluster.log


def test_a_sentinel_running_threads_gets_its_pool_from_the_fork_server(cluster_env,
                                                                        start_cluster,
                                                                        tmp_path):
    """Never fork() a process with threads: the pool comes from the fork server, and the
    pipes to each new worker still reach the pusher and the monitor."""
    env = {**cluster_env(retry=2), "DJQ_TEST_BACKGROUND_THREAD": "1"}
    ids = [async_task("tests.tasks.add", i, 1) for i in range(10)]
    cluster = start_cluster(env)
    wait_for(lambda: done(ids, success=True), what="the first results")
    stat = wait_for(lambda: Stat.get(cluster.proc.pid), what="the cluster's Stat")
    worker = stat.workers[0]
    server = psutil.Process(psutil.Process(worker).ppid())
    assert server.pid != cluster.proc.pid  # the fork server's child
    assert server.name() == "djq-forkserver"
    assert psutil.Process(worker).name() == "djq-worker"  # renamed after its role
    os.kill(worker, signal.SIGKILL)
    stat = wait_for(lambda: (s := Stat.get(cluster.proc.pid)) and s.reincarnations and s,
                    what="a new worker")
    new = stat.workers[0]  # slot 1's new worker
    assert new != worker
    more = [async_task("tests.tasks.add", i, 2) for i in range(20)]
    wait_for(lambda: done(more, success=True), what="results after the kill")
    ran = {line.split()[2] for line in (tmp_path / "signals.log").read_text().splitlines()
           if line.split()[1] in more}
    assert str(new) in ran  # the new worker got tasks: its pipes reached the pusher
    assert cluster.stop() == 0


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_an_idle_pusher_waits_long_yet_stops_at_once(cluster_env, start_cluster):
    """An idle pusher waits for work up to IDLE_WAIT (here: retry is long), and the
    sentinel's stop interrupts that wait; so does the sentinel's death."""
    env = cluster_env(retry=600)
    cluster = start_cluster(env)
    stat = wait_for(lambda: Stat.get(cluster.proc.pid), what="the cluster's Stat")
    time.sleep(1)  # the pusher is in its long wait now
    started = time.monotonic()
    assert cluster.stop() == 0
    assert time.monotonic() - started < IDLE_WAIT / 2, "the stop waited out the idle wait"
    assert _gone(stat.pusher)

    orphaned = start_cluster(env)
    stat = wait_for(lambda: Stat.get(orphaned.proc.pid), what="the second cluster's Stat")
    time.sleep(1)
    os.kill(orphaned.proc.pid, signal.SIGKILL)  # the sentinel dies without a word
    wait_for(lambda: _gone(stat.pusher), timeout=IDLE_WAIT / 2,
             what="the pusher to follow its sentinel")


def test_tasks_a_recycling_worker_hands_back_do_not_wait_out_the_idle_wait(cluster_env,
                                                                           start_cluster):
    """A worker that recycles mid-batch hands its unbegun tasks back to the pusher; the
    pusher must not be in its long idle wait meanwhile (it waits long only while no
    worker holds work)."""
    env = cluster_env(retry=600, recycle=2, queue_limit=8)
    start_cluster(env)
    for round_ in range(3):
        ids = [async_task("tests.tasks.add", i, round_) for i in range(8)]
        wait_for(lambda: done(ids, success=True), timeout=IDLE_WAIT / 2,
                 what=f"round {round_}: the tasks handed back")
