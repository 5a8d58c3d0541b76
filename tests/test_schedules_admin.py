"""The "Scheduled tasks" admin page (spec 1.11.3), through Django's test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from djq.models import Schedule, Task
from djq.scheduler import scheduler
from djq.tasks import schedule

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:djq_schedule_changelist")


def columns(html: str) -> list[str]:
    return re.findall(r'<div class="text">(?:<a[^>]*>|<span>)([^<]+)<', html)


def listed(response) -> list[str]:
    return sorted(s.name for s in response.context["cl"].result_list)


@pytest.fixture
def schedules(q_cluster):
    q_cluster(sync=True)
    now = timezone.now()
    ok = schedule("math.copysign", 2, -2, name="Math", schedule_type="H",
                  next_run=now - timedelta(minutes=1))
    bad = schedule("tests.tasks.boom", name="Boom", schedule_type="D",
                   next_run=now - timedelta(minutes=1))
    scheduler()
    schedule("math.floor", 1.5, name="Later", schedule_type="W",
             next_run=now + timedelta(days=40))
    schedule("math.floor", 2.5, name="Earlier", schedule_type="O",
             next_run=now - timedelta(days=3), repeats=0)
    return Schedule.objects.get(pk=ok.pk), Schedule.objects.get(pk=bad.pk)


def test_changelist_has_the_spec_columns_link_and_icon(admin_client, schedules):
    ok, bad = schedules
    html = admin_client.get(CHANGELIST).content.decode()
    assert columns(html) == ["ID", "Name", "Func", "Schedule Type", "Repeats", "Next Run",
                             "Last run", "Success"]
    ok_task, bad_task = Task.objects.get(pk=ok.task), Task.objects.get(pk=bad.task)
    assert f'href="{reverse("admin:djq_success_change", args=(ok_task.pk,))}"' in html
    assert f"[{ok_task.name}]" in html
    assert f'href="{reverse("admin:djq_failure_change", args=(bad_task.pk,))}"' in html
    assert 'icon-yes.svg' in html and 'icon-no.svg' in html
    assert "Hourly" in html and "-2" in html


def test_filters_by_next_run_and_type(admin_client, schedules):
    html = admin_client.get(CHANGELIST).content.decode()
    for choice in ("Any date", "Today", "Past 7 days", "This month", "This year", "All",
                   "Once", "Minutes", "Hourly", "Daily", "Weekly", "Monthly", "Quarterly",
                   "Yearly", "Cron"):
        assert f">{choice}<" in html, choice
    assert listed(admin_client.get(CHANGELIST, {"schedule_type__exact": "W"})) == ["Later"]
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    week = admin_client.get(CHANGELIST, {
        "next_run__gte": (today - timedelta(days=7)).strftime("%Y-%m-%d %H:%M:%S%z"),
        "next_run__lt": (today + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S%z")})
    assert "Later" not in listed(week) and "Earlier" in listed(week)


def test_search_by_name_and_func(admin_client, schedules):
    assert listed(admin_client.get(CHANGELIST, {"q": "floor"})) == ["Earlier", "Later"]
    assert listed(admin_client.get(CHANGELIST, {"q": "Boom"})) == ["Boom"]


def test_add_and_edit_a_schedule(admin_client):
    data = {"name": "nightly", "func": "math.floor", "args": "2.5", "kwargs": "",
            "schedule_type": "C", "cron": "0 3 * * *", "time_zone": "Europe/Paris",
            "repeats": "-1", "next_run_0": "2030-01-01", "next_run_1": "03:00:00"}
    response = admin_client.post(reverse("admin:djq_schedule_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    s = Schedule.objects.get(name="nightly")
    assert (s.cron, s.time_zone, s.args) == ("0 3 * * *", "Europe/Paris", "2.5")
    change = reverse("admin:djq_schedule_change", args=(s.pk,))
    assert admin_client.post(change, {**data, "repeats": "0"}).status_code == 302
    assert Schedule.objects.get(pk=s.pk).repeats == 0


def test_the_form_refuses_what_the_scheduler_could_not_run(admin_client):
    data = {"name": "broken", "func": "math.floor", "args": "open('x')", "kwargs": "a=",
            "schedule_type": "C", "cron": "soon", "time_zone": "Moon/Base",
            "repeats": "-1", "next_run_0": "2030-01-01", "next_run_1": "03:00:00"}
    response = admin_client.post(reverse("admin:djq_schedule_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"args", "kwargs", "cron", "time_zone"}
    assert not Schedule.objects.exists()
