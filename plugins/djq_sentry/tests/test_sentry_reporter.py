"""The Sentry reporter with the real sentry-sdk delivering to a local receiver."""

from io import StringIO

import pytest
from django.core.checks import Error, Warning, run_checks
from django.core.management import call_command

from djq.cluster import failures
from djq.cluster.reporting import build_reporters, close_reporters, report
from djq.conf import conf
from djq.models import Task
from djq.tasks import async_task
from djq_sentry.plugin import check_sentry
from djq_sentry.reporter import SentryReporter
from tests.receivers import closed_port


def last(event):
    return event["exception"]["values"][-1]


def for_task(task_id):
    return lambda event: event.get("tags", {}).get("djq.task_id") == task_id


@pytest.mark.django_db
def test_failing_sync_task_reaches_sentry_with_task_context(receiver, settings):
    settings.Q_CLUSTER = {"name": "sentry-site", "sync": True, "error_reporter": {
        "sentry": {"dsn": receiver.dsn, "environment": "djq-tests"}}}
    task_id = async_task("tests.tasks.boom", "sentry boom", group="reports",
                         task_name="the-boom")
    assert Task.objects.get(pk=task_id).success is False  # the result is saved too
    event = receiver.wait(for_task(task_id))
    exc = last(event)
    assert exc["type"] == "ValueError" and exc["value"] == "sentry boom"
    assert exc["mechanism"] == {"type": "djq", "handled": False}
    frames = exc["stacktrace"]["frames"]
    assert frames[-1]["function"] == "boom" and frames[-1]["filename"].endswith("tasks.py")
    assert frames[-1]["context_line"] == "raise ValueError(message)"
    tags = event["tags"]
    assert tags["djq.task_name"] == "the-boom" and tags["djq.func"] == "tests.tasks.boom"
    assert tags["djq.group"] == "reports" and tags["djq.cluster"] == "sentry-site"
    assert tags["djq.attempt"] == "1" and tags["djq.kind"] == "exception"
    task = event["contexts"]["djq task"]
    assert task["id"] == task_id and task["args"] == "('sentry boom',)"
    assert event["transaction"] == "tests.tasks.boom" and event["environment"] == "djq-tests"
    encodings = {h.get("Content-Encoding") for _, h, _ in receiver.requests}
    assert encodings <= {"gzip", "br"}  # compressed as sentry-sdk sends it, decoded here


def package(task_id, **more):
    return {"id": task_id, "name": f"name-{task_id}", "func": "tests.tasks.sleep",
            "group": "g", "args": (5,), "kwargs": {}, "attempt": 3, **more}


def test_timeout_dead_worker_and_max_attempts_are_reported(receiver, settings):
    settings.Q_CLUSTER = {"name": "kinds", "error_reporter": {"sentry": {"dsn": receiver.dsn}}}
    reporters = build_reporters(conf)
    report(reporters, [failures.timed_out(package("t1"), 1),
                       failures.worker_died(package("t2"), -9),
                       failures.max_attempts_reached(package("t3"), 3, 2)])
    for task_id, kind, error_type in (("t1", "timeout", "TimeoutError"),
                                      ("t2", "worker_died", "WorkerDied"),
                                      ("t3", "max_attempts", "MaxAttemptsReached")):
        event = receiver.wait(for_task(task_id))
        assert event["tags"]["djq.kind"] == kind and last(event)["type"] == error_type
        assert event["tags"]["djq.attempt"] == "3" and event["tags"]["djq.cluster"] == "kinds"
    assert "maximum timeout value (1 seconds)" in last(receiver.wait(for_task("t1")))["value"]
    close_reporters(reporters)


def test_chained_exception_keeps_its_cause(receiver):
    reporter = SentryReporter(dsn=receiver.dsn)
    try:
        try:
            {}["missing"]
        except KeyError as exc:
            raise RuntimeError("lookup failed") from exc
    except RuntimeError as exc:
        from djq.execution import format_error

        text = format_error(exc)
    from djq.cluster.reporting import context

    reporter.report(None, context(package("chain", result=text, success=False,
                                          error_type="RuntimeError")))
    values = receiver.wait(for_task("chain"))["exception"]["values"]
    assert [(v["type"], v["value"]) for v in values] == [
        ("KeyError", "'missing'"), ("RuntimeError", "lookup failed")]
    reporter.close(5)


@pytest.mark.django_db
def test_unreachable_sentry_disturbs_nothing(settings, caplog):
    dsn = f"http://key@127.0.0.1:{closed_port()}/42"
    settings.Q_CLUSTER = {"name": "down", "sync": True,
                          "error_reporter": {"sentry": {"dsn": dsn}}}
    task_id = async_task("tests.tasks.boom")
    assert Task.objects.get(pk=task_id).success is False
    assert async_task("tests.tasks.add", 1, 2) and Task.objects.filter(success=True).count() == 1
    reporter = SentryReporter(dsn=dsn)
    reporter.report(None, {"id": "x", "error_type": "ValueError", "error_message": "m"})
    reporter.close(1)  # returns within its timeout


def test_project_sentry_init_is_left_alone(receiver):
    """A reporter with its own DSN does not replace the process's sentry_sdk client."""
    import sentry_sdk

    assert not sentry_sdk.get_client().is_active()
    reporter = SentryReporter(dsn=receiver.dsn)
    assert reporter.owned and reporter.client.is_active()
    assert not sentry_sdk.get_client().is_active()
    reporter.close(1)


@pytest.mark.django_db
def test_unconfigured_reporter_is_listed_and_silent(receiver, settings):
    out = StringIO()
    call_command("qplugins", stdout=out, no_color=True)
    row = next(line for line in out.getvalue().splitlines() if "djq-sentry" in line)
    assert "reporters: sentry" in row
    settings.Q_CLUSTER = {"name": "quiet", "sync": True}
    assert build_reporters(conf) == []
    async_task("tests.tasks.boom")
    with pytest.raises(AssertionError):
        receiver.wait(lambda event: True, timeout=0.5)


def reporter_checks():
    return [m for m in run_checks(tags=["djq"]) 
            if m.id == "djq.E010" or m.id.startswith("djq_sentry.")]


def test_checks(settings, monkeypatch):
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    assert check_sentry({"dsn": "http://key@127.0.0.1:9/42"}) == []
    assert check_sentry("dsn") == [Error(
        "Q_CLUSTER['error_reporter']['sentry'] must be a dict of sentry_sdk.init() "
        "keywords, not str.", hint="For example {'dsn': 'https://key@o1.ingest.sentry.io/1'}.",
        id="djq_sentry.E001")]
    assert check_sentry({"dsn": "x", "sample": 1}) == [Error(
        "Q_CLUSTER['error_reporter']['sentry'] has unknown sentry-sdk option(s): 'sample'.",
        hint="Use sentry_sdk.init() keywords (dsn, environment, release, ...).",
        id="djq_sentry.E002")]
    assert check_sentry({"dsn": "ftp://key@host/1"}) == [Error(
        "Q_CLUSTER['error_reporter']['sentry']['dsn'] is not a valid DSN: "
        "Unsupported scheme 'ftp'.",
        hint="Copy the DSN from your Sentry project's Client Keys page.",
        id="djq_sentry.E003")]
    assert check_sentry({"environment": "prod"}) == [Warning(
        "The Sentry error reporter has no DSN: failed tasks will not be reported.",
        hint="Set Q_CLUSTER['error_reporter']['sentry']['dsn'] (or SENTRY_DSN), or call "
             "sentry_sdk.init() in your settings and configure 'sentry': {}.",
        id="djq_sentry.W001")]
    settings.Q_CLUSTER = {"error_reporter": {"sentry": {"dsn": "ftp://key@host/1"}}}
    assert [m.id for m in reporter_checks()] == ["djq_sentry.E003"]


def test_configured_but_not_installed_names_the_extra(settings, only_core_plugins):
    settings.Q_CLUSTER = {"error_reporter": {"sentry": {"dsn": "http://key@127.0.0.1:9/42"}}}
    assert reporter_checks() == [Error(
        "Q_CLUSTER['error_reporter'] configures 'sentry', whose plugin is not installed.",
        hint='pip install "djq[sentry]"', id="djq.E010")]
