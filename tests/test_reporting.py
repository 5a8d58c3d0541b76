"""The context error reporters get (djq.cluster.reporting) and the traceback parser."""

import datetime

from djq.cluster import failures
from djq.cluster.reporting import context
from djq.cluster.tracebacks import parse
from djq.execution import run_package


def test_task_exception_context():
    package = run_package({"id": "a" * 32, "name": "four-word-name", "func": "tests.tasks.boom",
                           "args": ("multi\nline",), "kwargs": {}, "group": "g", "attempt": 2,
                           "started": datetime.datetime(2024, 1, 2, 3, 4, 5)})
    ctx = context(package)
    assert ctx["kind"] == "exception" and ctx["attempt"] == 2 and ctx["group"] == "g"
    assert (ctx["error_type"], ctx["error_module"], ctx["error_message"]) == \
        ("ValueError", None, "multi\nline")
    assert ctx["traceback"].startswith("Traceback (most recent call last):")
    assert ctx["error"] == package["result"] and ctx["started"] == "2024-01-02T03:04:05"
    frames = ctx["exceptions"][-1]["frames"]
    assert [f["function"] for f in frames][-1] == "boom"
    assert all(f["line"] and not set(f["line"]) <= set("^~ ") for f in frames)
    assert ctx["cluster"] and ctx["host"]


def test_cluster_failure_kinds():
    base = {"id": "b", "name": "n", "func": "tests.tasks.sleep", "args": (), "kwargs": {}}
    assert context(failures.timed_out(base, 2))["kind"] == "timeout"
    assert context(failures.worker_died(base, -9))["kind"] == "worker_died"
    assert context(failures.max_attempts_reached(base, 3, 2))["kind"] == "max_attempts"
    unreadable = failures.unreadable(base, 1, 1, "bad pickle")
    ctx = context(unreadable)
    assert (ctx["kind"], ctx["error_type"], ctx["error_message"], ctx["traceback"]) == \
        ("unreadable", "UnreadablePackage", "bad pickle", None)


def test_parse_qualified_type_without_message_and_odd_text():
    text = ("Traceback (most recent call last):\n"
            '  File "<string>", line 1, in <module>\n'
            "myapp.errors.Gone\n")
    (exc,) = parse(text)
    assert (exc["type"], exc["module"], exc["message"]) == ("Gone", "myapp.errors", "")
    assert exc["frames"] == [{"filename": "<string>", "lineno": 1, "function": "<module>",
                              "line": None}]
    (odd,) = parse("something went wrong (no type here)")
    assert (odd["type"], odd["message"]) == ("Error", "something went wrong (no type here)")
