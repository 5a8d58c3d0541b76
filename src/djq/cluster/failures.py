"""Failures the cluster records itself: a task that timed out, one whose delivery count
passed ``max_attempts``, a package that verified but would not unpack, and (brokers
without receipts only) a task whose worker died.

Each is an executed-looking package (``success=False``, ``result`` = the reason) that
goes through the monitor like any result, so it is saved before the broker hears of it.
``ack`` marks packages the monitor acknowledges whatever ``ack_failures`` says;
``broker_fail`` marks those it ``fail()``-s instead (unreadable packages).
"""

from __future__ import annotations

from django.utils import timezone


def failed(package: dict, reason: str, *, ack: bool = False) -> dict:
    """``package`` (as dequeued) turned into a recorded failure with ``reason``."""
    package = dict(package)
    package.update(result=reason, success=False, stopped=timezone.now())
    package.setdefault("started", package["stopped"])
    if ack:
        package["ack"] = True
    return package


def timed_out(package: dict, timeout: float) -> dict:
    return failed(package, f"TimeoutError: Task exceeded maximum timeout value "
                           f"({timeout:g} seconds) and its worker was terminated")


def worker_died(package: dict, exitcode: int | None) -> dict:
    return failed(package, f"WorkerDied: the worker running this task died "
                           f"(exit code {exitcode}) and the broker will not redeliver it",
                  ack=True)


def worker_died_notice(package: dict, exitcode: int | None) -> dict:
    """A receipt broker will deliver the task again: nothing is saved or acknowledged,
    but error reporters hear of the death now (``report_only``), not only if the task
    ends at ``max_attempts``."""
    notice = failed(package, f"WorkerDied: the worker running this task died (exit code "
                             f"{exitcode}); the broker will deliver it again after retry")
    notice["report_only"] = True
    return notice


def max_attempts_reached(package: dict, attempt: int, limit: int) -> dict:
    return failed(package, f"MaxAttemptsReached: delivery {attempt} of this task is over "
                           f"max_attempts ({limit}); it was not executed again", ack=True)


def unreadable(header: dict, ack_id, attempt: int, error: str) -> dict:
    """A Failure for a package whose body would not deserialize: its header (id, name,
    func, group) identifies it; it is failed on the broker once saved."""
    now = timezone.now()
    return {
        "id": header.get("id"), "name": header.get("name") or header.get("id"),
        "func": header.get("func") or "?", "group": header.get("group"),
        "cached": header.get("cached"), "save": header.get("save"),
        "args": None, "kwargs": None, "started": now, "stopped": now,
        "success": False, "result": f"UnreadablePackage: {error}",
        "ack_id": ack_id, "attempt": attempt, "broker_fail": True,
    }
