"""A real cluster on PostgreSQL: the ORM broker and the results both on the ``pg`` alias
(the cluster's ``default`` is the same database)."""

from __future__ import annotations

import pytest

from djq.brokers import get_broker
from djq.models import Task
from djq.tasks import async_task
from djq_orm.models import OrmQ
from tests.cluster.conftest import wait_for
from tests.services import postgres_url, require_postgres

# Without the server there is no "pg" alias: the test then skips (fails under CI=true).
DATABASES = ["default", "pg", "pg_prepared"] if postgres_url() else ["default"]
pytestmark = [pytest.mark.postgres,
              pytest.mark.django_db(transaction=True, databases=DATABASES)]


@pytest.mark.parametrize("alias", ["pg", "pg_prepared"])
def test_cluster_processes_tasks_on_postgres(cluster_env, start_cluster, alias):
    """``pg_prepared``: this process enqueues, and the cluster claims, saves and
    acknowledges, with parameters bound on the server and every statement prepared."""
    require_postgres()
    env = cluster_env(database=alias, orm=alias, bulk=5)
    broker = get_broker()
    assert broker.alias == alias
    ids = [async_task("tests.tasks.add", i, 2, broker=broker) for i in range(15)]
    bad = async_task("tests.tasks.boom", broker=broker, ack_failure=True)
    cluster = start_cluster(env)
    tasks = Task.objects.using("pg")
    wait_for(lambda: tasks.filter(pk__in=ids + [bad]).count() == 16, what="pg results")
    assert sorted(tasks.filter(pk__in=ids).values_list("result", flat=True)) == \
        list(range(2, 17))
    assert not tasks.get(pk=bad).success
    wait_for(lambda: not OrmQ.objects.using("pg").exists(), what="all acknowledged")
    assert cluster.stop() == 0
