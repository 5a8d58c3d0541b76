"""A real cluster (``qcluster`` subprocess) on moto's SQS server.

Stats go to a file-based cache shared with the test process (SQS has no stat store of
its own); results go to the SQLite test database. Fixtures come from
``tests/cluster/conftest.py`` (imported by this directory's ``conftest.py``).
"""

from __future__ import annotations

import pytest

from djq.conf import conf
from djq.models import Task
from djq.status import Stat
from djq.tasks import async_task
from djq.testing import poll
from djq_sqs.broker import SqsBroker
from tests.cluster.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sqs_cluster_env(cluster_env, sqs_options, sqs_queue):
    """``cluster_env`` with the SQS broker on this test's queue."""
    def configure(**options):
        env = cluster_env(name=sqs_queue, sqs=sqs_options, **options)
        conf.reload()
        return env
    return configure


def test_cluster_processes_tasks_from_sqs(sqs_cluster_env, start_cluster):
    env = sqs_cluster_env(bulk=5, retry=30)
    broker = SqsBroker()
    assert broker.list_key == conf.name
    ids = [async_task("tests.tasks.add", i, 1) for i in range(20)]
    bad = async_task("tests.tasks.boom", ack_failure=True)
    wait_for(lambda: broker.queue_size() == 21, timeout=10, what="21 queued messages")

    cluster = start_cluster(env)
    wait_for(lambda: Task.objects.filter(pk__in=ids + [bad]).count() == 21, timeout=60,
             what="all results")
    assert sorted(Task.objects.filter(pk__in=ids).values_list("result", flat=True)) == \
        list(range(1, 21))
    assert not Task.objects.get(pk=bad).success
    stat = wait_for(lambda: Stat.get(cluster.proc.pid), what="the cluster's Stat in the cache")
    assert len(stat.workers) == 2
    wait_for(lambda: broker.queue_size() == 0 and broker.lock_size() == 0, timeout=10,
             what="every message acknowledged")
    assert cluster.stop() == 0
    assert f"Q Cluster-{cluster.proc.pid} has stopped." in cluster.log
    broker.close()


def test_unacknowledged_task_returns_after_retry_and_completes_once(
        sqs_cluster_env, start_cluster, tmp_path):
    env = sqs_cluster_env(retry=3)
    broker = SqsBroker()
    tid = async_task("tests.tasks.add", 2, 3)
    # A cluster took it and died before acknowledging: the message is invisible for retry.
    (taken,) = poll(broker, 1, timeout=5)
    assert taken.attempt == 1

    cluster = start_cluster(env)
    task = wait_for(lambda: Task.objects.filter(pk=tid).first(), timeout=30,
                    what="the redelivered task's result")
    assert task.success and task.result == 5 and task.attempt_count == 2
    wait_for(lambda: broker.queue_size() == 0 and broker.lock_size() == 0, timeout=10,
             what="the message acknowledged")
    assert cluster.stop() == 0
    runs = (tmp_path / "signals.log").read_text().split("\n")
    assert sum(line.startswith(f"pre_execute {tid} ") for line in runs) == 1
    assert Task.objects.filter(pk=tid).count() == 1
    broker.close()
