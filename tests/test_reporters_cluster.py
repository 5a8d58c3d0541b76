"""Both error reporters in a real cluster: failures reach local Sentry and Rollbar receivers.

A task that raises, one that times out and one that kills its worker (each death, then the
final failure at ``max_attempts``) arrive at both receivers with the task's context.
"""

import pytest

from djq.models import Task
from djq.tasks import async_task
from tests.cluster.conftest import cluster_env, start_cluster, wait_for  # noqa: F401 - fixtures
from tests.receivers import RollbarReceiver, SentryReceiver

pytest.importorskip("djq_sentry", reason="djq-sentry is not installed")
pytest.importorskip("djq_rollbar", reason="djq-rollbar is not installed")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receivers():
    with SentryReceiver() as sentry, RollbarReceiver() as rollbar:
        yield sentry, rollbar


def sentry_event(sentry, task_id, kind=None):
    return sentry.wait(lambda e: e.get("tags", {}).get("djq.task_id") == task_id and
                       kind in (None, e["tags"].get("djq.kind")), timeout=40)


def rollbar_item(rollbar, task_id, kind=None):
    return rollbar.wait(lambda i: (i.get("custom") or {}).get("id") == task_id and
                        kind in (None, i["custom"].get("kind")), timeout=40)


def test_cluster_failures_reach_sentry_and_rollbar(receivers, cluster_env, start_cluster):
    sentry, rollbar = receivers
    env = cluster_env(retry=2, max_attempts=2, error_reporter={
        "sentry": {"dsn": sentry.dsn, "environment": "cluster-tests"},
        "rollbar": {"access_token": "cluster-token", "endpoint": rollbar.endpoint}})
    boom = async_task("tests.tasks.boom", "cluster boom", group="g1", ack_failure=True)
    slow = async_task("tests.tasks.sleep", 30, timeout=1, ack_failure=True)
    dies = async_task("tests.tasks.kill_own_worker")
    cluster = start_cluster(env)

    event, item = sentry_event(sentry, boom), rollbar_item(rollbar, boom)
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert event["exception"]["values"][-1]["value"] == "cluster boom"
    assert item["body"]["trace"]["exception"] == {"class": "ValueError",
                                                  "message": "cluster boom"}
    name = Task.objects.get(pk=boom).name
    tags, custom = event["tags"], item["custom"]
    assert (tags["djq.task_name"], tags["djq.func"], tags["djq.group"]) == \
        (name, "tests.tasks.boom", "g1")
    assert (custom["name"], custom["func"], custom["group"]) == (name, "tests.tasks.boom", "g1")
    assert tags["djq.cluster"] == custom["cluster"] == "djq-tests"
    assert tags["djq.attempt"] == "1" and custom["attempt"] == 1
    assert tags["djq.host"] == custom["host"] and custom["host"]

    event, item = sentry_event(sentry, slow), rollbar_item(rollbar, slow)
    assert event["tags"]["djq.kind"] == item["custom"]["kind"] == "timeout"
    assert event["exception"]["values"][-1]["type"] == "TimeoutError"
    assert item["body"]["trace"]["exception"]["class"] == "TimeoutError"

    # Each death is reported when it happens (the broker delivers the task again) ...
    event = sentry_event(sentry, dies, "worker_died")
    item = rollbar_item(rollbar, dies, "worker_died")
    assert event["tags"]["djq.attempt"] == "1" and item["custom"]["attempt"] == 1
    assert event["exception"]["values"][-1]["type"] == "WorkerDied"
    # ... and the final failure at max_attempts too.
    event = sentry_event(sentry, dies, "max_attempts")
    item = rollbar_item(rollbar, dies, "max_attempts")
    assert event["tags"]["djq.attempt"] == "3" and item["custom"]["attempt"] == 3

    assert cluster.stop() == 0
    assert "Error reporter" not in cluster.log, cluster.log
