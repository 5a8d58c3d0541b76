"""Admin pages for results and the ORM queue, through Django's test client as a superuser."""

import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from djq import signing
from djq.models import Failure, Success, Task
from djq_orm.models import OrmQ

pytestmark = pytest.mark.django_db

SUCCESSES = reverse("admin:djq_success_changelist")
FAILURES = reverse("admin:djq_failure_changelist")
QUEUE = reverse("admin:djq_orm_ormq_changelist")


def make_task(tid, name, func="tests.tasks.add", group=None, success=True, args=(1, 2),
              kwargs=None, result=3, hook=None, seconds=1.5):
    stopped = timezone.now()
    return Task.objects.create(
        id=tid.ljust(32, "0"), name=name, func=func, args=args, kwargs=kwargs or {},
        result=result, group=group, success=success, hook=hook,
        started=stopped - timedelta(seconds=seconds), stopped=stopped)


@pytest.fixture
def results():
    make_task("a1", "alpha-bravo-one", group="parzen", seconds=12.5)
    make_task("a2", "alpha-bravo-two", func="math.floor", group="other", args=(1.5,),
              result=1)
    make_task("a3", "charlie-delta", func="math.copysign", args=(1, -1), result=-1.0)
    make_task("f1", "failed-echo-one", func="tests.tasks.boom", group="parzen",
              success=False, args=("bad",), result="ValueError('bad')")
    make_task("f2", "failed-echo-two", func="tests.tasks.add", group="fixable",
              success=False, args=(2,), kwargs={"b": 5}, result="TypeError('missing b')",
              hook="tests.tasks.record_hook")


def columns(response):
    """The changelist's column headers, in order."""
    html = response.content.decode()
    return re.findall(r'<div class="text">(?:<a[^>]*>|<span>)([^<]+)<', html)


def names(response):
    return sorted(t.name for t in response.context["cl"].result_list)


# -- changelists ----------------------------------------------------------------------------
def test_success_changelist_columns(admin_client, results):
    response = admin_client.get(SUCCESSES)
    assert response.status_code == 200
    html = response.content.decode()
    assert columns(response) == ["Name", "Func", "Started", "Stopped", "Time taken", "Group"]
    assert names(response) == ["alpha-bravo-one", "alpha-bravo-two", "charlie-delta"]
    assert "12.5" in html and "parzen" in html and "math.copysign" in html
    assert "failed-echo" not in html


def test_failure_changelist_columns(admin_client, results):
    response = admin_client.get(FAILURES)
    html = response.content.decode()
    assert columns(response) == ["Name", "Func", "Started", "Stopped", "Time taken", "Group",
                                 "Error"]
    assert names(response) == ["failed-echo-one", "failed-echo-two"]
    assert "ValueError(&#x27;bad&#x27;)" in html
    assert "Resubmit selected tasks to the queue" in html


def test_index_uses_label_and_lists_pages(admin_client, q_cluster):
    app = apps.get_app_config("djq")
    q_cluster(label="My Queue")
    app.__dict__.pop("verbose_name", None)  # a cached_property: read the new label
    try:
        html = admin_client.get(reverse("admin:index")).content.decode()
    finally:
        app.__dict__.pop("verbose_name", None)
    # Django 5.2 adds a title attribute to the link; 6.x does not.
    assert re.search(r'<a href="/admin/djq/" class="section"[^>]*>My Queue</a>', html)
    for page in ("Successful tasks", "Failed tasks", "Queued tasks", "Scheduled tasks"):
        assert page in html


@pytest.mark.parametrize("query, expected", [
    ("bravo", ["alpha-bravo-one", "alpha-bravo-two"]),   # name
    ("copysign", ["charlie-delta"]),                      # func
    ("other", ["alpha-bravo-two"]),                       # group
])
def test_search_on_name_func_group(admin_client, results, query, expected):
    assert names(admin_client.get(SUCCESSES, {"q": query})) == expected


def test_group_filter(admin_client, results):
    response = admin_client.get(SUCCESSES)
    assert "By group" in response.content.decode()
    assert names(admin_client.get(SUCCESSES, {"group": "parzen"})) == ["alpha-bravo-one"]
    assert names(admin_client.get(FAILURES, {"group": "fixable"})) == ["failed-echo-two"]


# -- read-only -------------------------------------------------------------------------------
def test_no_add_and_read_only_detail(admin_client, results):
    assert admin_client.get(reverse("admin:djq_success_add")).status_code == 403
    assert admin_client.get(reverse("admin:djq_failure_add")).status_code == 403
    html = admin_client.get(SUCCESSES).content.decode()
    assert reverse("admin:djq_success_add") not in html and "/admin/auth/user/add/" in html

    url = reverse("admin:djq_failure_change", args=["f1".ljust(32, "0")])
    response = admin_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "ValueError(&#x27;bad&#x27;)" in html          # the error is shown
    assert 'name="func"' not in html and 'name="_save"' not in html   # nothing editable
    # Posting a change does nothing.
    admin_client.post(url, {"func": "math.floor", "name": "changed"})
    assert Task.objects.get(pk="f1".ljust(32, "0")).func == "tests.tasks.boom"

    ok = reverse("admin:djq_success_change", args=["a1".ljust(32, "0")])
    assert "12.5" in admin_client.get(ok).content.decode()   # time taken, result shown


def test_delete_allowed(admin_client, results):
    pk = "a3".ljust(32, "0")
    response = admin_client.post(reverse("admin:djq_success_delete", args=[pk]),
                                 {"post": "yes"})
    assert response.status_code == 302
    assert not Task.objects.filter(pk=pk).exists()


# -- resubmit --------------------------------------------------------------------------------
def resubmit(client, *pks):
    return client.post(FAILURES, {"action": "resubmit", "_selected_action": list(pks)},
                       follow=True)


def test_resubmit_enqueues_and_removes_failure(admin_client, results):
    pks = ["f1".ljust(32, "0"), "f2".ljust(32, "0")]
    response = resubmit(admin_client, *pks)
    assert "2 tasks were resubmitted to the queue." in response.content.decode()
    assert not Failure.objects.exists()

    headers = sorted((q.header() for q in OrmQ.objects.all()), key=lambda h: h["func"])
    assert [(h["func"], h["group"]) for h in headers] == [
        ("tests.tasks.add", "fixable"), ("tests.tasks.boom", "parzen")]
    packages = sorted((signing.loads(q.payload) for q in OrmQ.objects.all()),
                      key=lambda p: p["func"])
    assert packages[0]["args"] == (2,) and packages[0]["kwargs"] == {"b": 5}
    assert packages[0]["hook"] == "tests.tasks.record_hook"
    assert packages[1]["args"] == ("bad",) and packages[1]["kwargs"] == {}


def test_resubmit_in_sync_mode_runs_again(admin_client, results, q_cluster):
    q_cluster(sync=True)
    resubmit(admin_client, "f2".ljust(32, "0"))
    assert list(Failure.objects.values_list("name", flat=True)) == ["failed-echo-one"]
    redone = Success.objects.get(func="tests.tasks.add", group="fixable")
    assert redone.result == 7 and redone.args == (2,) and redone.kwargs == {"b": 5}
    assert OrmQ.objects.count() == 0


def test_resubmit_that_cannot_enqueue_keeps_failure(admin_client, q_cluster):
    q_cluster(serializer="json")
    make_task("f3", "not-json", success=False, args=(object(),), result="boom")
    response = resubmit(admin_client, "f3".ljust(32, "0"))
    assert "Could not resubmit not-json" in response.content.decode()
    assert Failure.objects.filter(name="not-json").exists()
    assert OrmQ.objects.count() == 0


# -- the ORM queue ---------------------------------------------------------------------------
def test_queue_changelist_reads_verified_header(admin_client):
    from djq.tasks import async_task

    tid = async_task("math.floor", 1.5, task_name="floor-it")
    OrmQ.objects.create(key="djq-tests", payload="garbage:notsigned")
    response = admin_client.get(QUEUE)
    html = response.content.decode()
    assert columns(response) == ["Id", "Key", "Task name", "Func", "Lock", "Attempts"]
    assert "floor-it" in html and "math.floor" in html
    assert "signature does not verify" in html
    assert admin_client.get(reverse("admin:djq_orm_ormq_add")).status_code == 403

    row = OrmQ.objects.exclude(payload__startswith="garbage").get()
    detail = admin_client.get(reverse("admin:djq_orm_ormq_change", args=[row.pk]))
    assert tid in detail.content.decode()


def test_queue_is_editable_and_deletable(admin_client):
    from djq.tasks import async_task

    async_task("math.floor", 1.5)
    row = OrmQ.objects.get()
    url = reverse("admin:djq_orm_ormq_change", args=[row.pk])
    response = admin_client.post(url, {"key": row.key, "payload": row.payload,
                                       "lock_0": "", "lock_1": "", "attempts": "3"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert OrmQ.objects.get().attempts == 3
    admin_client.post(reverse("admin:djq_orm_ormq_delete", args=[row.pk]), {"post": "yes"})
    assert not OrmQ.objects.exists()


def test_queue_hidden_when_another_broker_is_configured(admin_client, q_cluster):
    q_cluster(broker_class="djq.brokers.Broker")
    assert "Queued tasks" not in admin_client.get(reverse("admin:index")).content.decode()
    assert admin_client.get(QUEUE).status_code == 403
