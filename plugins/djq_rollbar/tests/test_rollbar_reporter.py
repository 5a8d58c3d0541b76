"""The Rollbar reporter with the real pyrollbar delivering to a local receiver.

pyrollbar keeps its settings per process: every test here uses the same access token, and
``rollbar.init`` updates keyword settings such as ``endpoint`` on each new reporter.
"""

from io import StringIO

import pytest
from django.core.checks import Error, run_checks
from django.core.management import call_command

from djq.cluster import failures
from djq.cluster.reporting import build_reporters, close_reporters, context, report
from djq.conf import conf
from djq.execution import format_error
from djq.models import Task
from djq.tasks import async_task
from djq_rollbar.plugin import check_rollbar
from djq_rollbar.reporter import RollbarReporter
from tests.receivers import closed_port

TOKEN = "djq-test-token"


def for_task(task_id):
    return lambda item: (item.get("custom") or {}).get("id") == task_id


def trace(item):
    body = item["body"]
    return body["trace"] if "trace" in body else body["trace_chain"][0]


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["error_reporter", "top-level rollbar key"])
def test_failing_sync_task_reaches_rollbar_with_task_context(receiver, settings, where):
    options = {"access_token": TOKEN, "environment": "djq-tests",
               "endpoint": receiver.endpoint}
    settings.Q_CLUSTER = {"name": "rollbar-site", "sync": True,
                          **({"error_reporter": {"rollbar": options}}
                             if where == "error_reporter" else {"rollbar": options})}
    task_id = async_task("tests.tasks.boom", "rollbar boom", group="reports",
                         task_name="the-boom")
    assert Task.objects.get(pk=task_id).success is False  # the result is saved too
    item = receiver.wait(for_task(task_id))
    assert trace(item)["exception"] == {"class": "ValueError", "message": "rollbar boom"}
    frame = trace(item)["frames"][-1]
    assert frame["method"] == "boom" and frame["code"] == "raise ValueError(message)"
    custom = item["custom"]
    assert custom["name"] == "the-boom" and custom["func"] == "tests.tasks.boom"
    assert custom["group"] == "reports" and custom["cluster"] == "rollbar-site"
    assert custom["attempt"] == 1 and custom["kind"] == "exception"
    assert custom["args"] == "('rollbar boom',)"
    assert item["context"] == "tests.tasks.boom" and item["level"] == "error"
    assert item["environment"] == "djq-tests"
    close_reporters(build_reporters(conf))


def package(task_id, **more):
    return {"id": task_id, "name": f"name-{task_id}", "func": "tests.tasks.sleep",
            "group": "g", "args": (5,), "kwargs": {}, "attempt": 3, **more}


def test_timeout_dead_worker_and_max_attempts_are_reported(receiver, settings):
    settings.Q_CLUSTER = {"name": "kinds", "error_reporter": {"rollbar": {
        "access_token": TOKEN, "endpoint": receiver.endpoint}}}
    reporters = build_reporters(conf)
    report(reporters, [failures.timed_out(package("t1"), 1),
                       failures.worker_died(package("t2"), -9),
                       failures.max_attempts_reached(package("t3"), 3, 2)])
    for task_id, kind, error_type in (("t1", "timeout", "TimeoutError"),
                                      ("t2", "worker_died", "WorkerDied"),
                                      ("t3", "max_attempts", "MaxAttemptsReached")):
        item = receiver.wait(for_task(task_id))
        assert item["custom"]["kind"] == kind and item["custom"]["attempt"] == 3
        assert trace(item)["exception"]["class"] == error_type
    assert "maximum timeout value" in trace(receiver.wait(for_task("t1")))["exception"]["message"]
    close_reporters(reporters)


def test_chained_exception_is_a_trace_chain(receiver):
    reporter = RollbarReporter(access_token=TOKEN, endpoint=receiver.endpoint)
    try:
        try:
            {}["missing"]
        except KeyError as exc:
            raise RuntimeError("lookup failed") from exc
    except RuntimeError as exc:
        text = format_error(exc)
    reporter.report(None, context(package("chain", result=text, success=False,
                                          error_type="RuntimeError")))
    chain = receiver.wait(for_task("chain"))["body"]["trace_chain"]
    assert [t["exception"] for t in chain] == [
        {"class": "RuntimeError", "message": "lookup failed"},
        {"class": "KeyError", "message": "'missing'"}]
    reporter.close(5)


@pytest.mark.django_db
def test_unreachable_rollbar_disturbs_nothing(receiver, settings):
    endpoint = f"http://127.0.0.1:{closed_port()}/api/1/"
    settings.Q_CLUSTER = {"name": "down", "sync": True, "error_reporter": {"rollbar": {
        "access_token": TOKEN, "endpoint": endpoint, "timeout": 1}}}
    task_id = async_task("tests.tasks.boom")
    assert Task.objects.get(pk=task_id).success is False
    assert async_task("tests.tasks.add", 1, 2) and Task.objects.filter(success=True).count() == 1
    close_reporters(build_reporters(conf), timeout=2)  # returns within its timeout


@pytest.mark.django_db
def test_unconfigured_reporter_is_listed_and_silent(receiver, settings):
    out = StringIO()
    call_command("qplugins", stdout=out, no_color=True)
    row = next(line for line in out.getvalue().splitlines() if "djq-rollbar" in line)
    assert "reporters: rollbar" in row
    settings.Q_CLUSTER = {"name": "quiet", "sync": True}
    assert build_reporters(conf) == []
    async_task("tests.tasks.boom")
    with pytest.raises(AssertionError):
        receiver.wait(lambda item: True, timeout=0.5)


def reporter_checks():
    return [m for m in run_checks(tags=["djq"])
            if m.id == "djq.E010" or m.id.startswith("djq_rollbar.")]


def test_access_token_is_checked(settings):
    assert check_rollbar({"access_token": TOKEN}) == []
    settings.Q_CLUSTER = {"error_reporter": {"rollbar": {"environment": "prod"}}}
    assert reporter_checks() == [Error(
        "The Rollbar error reporter needs an 'access_token'.",
        hint="Q_CLUSTER['error_reporter'] = {'rollbar': {'access_token': '...', "
             "'environment': '...'}} with your project's post_server_item token.",
        id="djq_rollbar.E001")]


@pytest.mark.parametrize("key", ["error_reporter", "rollbar"])
def test_configured_but_not_installed_names_the_extra(settings, only_core_plugins, key):
    options = {"access_token": TOKEN}
    settings.Q_CLUSTER = {"error_reporter": {"rollbar": options}} \
        if key == "error_reporter" else {"rollbar": options}
    assert reporter_checks() == [Error(
        "Q_CLUSTER['error_reporter'] configures 'rollbar', whose plugin is not installed.",
        hint='pip install "djq[rollbar]"', id="djq.E010")]
