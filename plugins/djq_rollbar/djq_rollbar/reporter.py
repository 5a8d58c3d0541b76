"""The Rollbar error reporter: one Rollbar item per failed task.

Configured with pyrollbar's own keywords (``access_token``, ``environment``, ``endpoint``,
``handler``, ``timeout``, ``code_version`` ...), passed to ``rollbar.init()``. pyrollbar
keeps its settings per process, so the reporter and any Rollbar setup of your own share
them. ``allow_logging_basic_config`` defaults to False here (Django configures logging).

The task failed in a worker process, so there is no exception object here: the reporter
rebuilds one, the task's own exception class when it is already imported in this process
(so ``exception_level_filters`` match) and otherwise a stand-in class of the same name, and
calls ``rollbar.report_exc_info`` with the task in ``extra_data`` (Rollbar's ``custom``)
and the frames parsed from the recorded traceback. pyrollbar's default handler sends from a
thread with a ``timeout`` (3 s), so ``report`` never waits for the network; ``close``
waits for those threads when the monitor stops.
"""

from __future__ import annotations

import reprlib
import sys
import threading
from typing import Any

import rollbar

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 500
_short.maxlist = _short.maxtuple = _short.maxdict = 20
_standins: dict[tuple[str | None, str], type] = {}


class RollbarReporter:
    """``report(exc_info, context)`` for djq (see ``djq.registry.ReporterSpec``)."""

    def __init__(self, access_token: str, environment: str = "production",
                 **options: Any) -> None:
        options.setdefault("allow_logging_basic_config", False)
        rollbar.init(access_token, environment, **options)

    def report(self, exc_info: Any, context: dict[str, Any]) -> str | None:
        chain = context.get("exceptions") or [{
            "type": context.get("error_type") or "Error", "module": None, "frames": [],
            "message": context.get("error_message") or ""}]
        exc = rebuild(chain)
        traces = [trace(e) for e in reversed(chain)]  # Rollbar: outermost first
        body = {"trace": traces[0]} if len(traces) == 1 else {"trace_chain": traces}
        payload = {"body": body, "context": context.get("func") or "djq"}
        return rollbar.report_exc_info((type(exc), exc, None), extra_data=custom(context),
                                       payload_data=payload)

    def close(self, timeout: float) -> None:
        """Wait (``timeout`` at most) for the items pyrollbar's threads are sending."""
        waiter = threading.Thread(target=rollbar.wait, daemon=True)
        try:
            waiter.start()
        except RuntimeError:  # at interpreter exit: its sending threads were joined already
            return
        waiter.join(timeout)


def custom(context: dict[str, Any]) -> dict[str, Any]:
    """The task for the item's ``custom`` data (arguments shortened)."""
    keys = ("id", "name", "func", "group", "cluster", "host", "attempt", "kind",
            "started", "stopped", "error_type", "error_message")
    data = {"djq_task": True, **{key: context.get(key) for key in keys}}
    data["args"] = _short.repr(context.get("args"))
    data["kwargs"] = _short.repr(context.get("kwargs"))
    return data


def trace(exc: dict[str, Any]) -> dict[str, Any]:
    return {"frames": [{"filename": f["filename"], "lineno": f["lineno"],
                        "method": f["function"], "code": f.get("line")}
                       for f in exc.get("frames") or ()],
            "exception": {"class": exc["type"], "message": exc["message"]}}


def rebuild(chain: list[dict[str, Any]]) -> BaseException:
    """The failure as an exception object, causes linked as ``__cause__``."""
    previous = None
    for item in chain:
        exc = _instance(item["module"], item["type"], item["message"])
        exc.__cause__ = previous
        previous = exc
    return previous


def _instance(module: str | None, name: str, message: str) -> BaseException:
    cls = getattr(sys.modules.get(module or "builtins"), name, None)  # never imports
    if isinstance(cls, type) and issubclass(cls, BaseException):
        try:
            exc = cls.__new__(cls)
            exc.args = (message,)
            if str(exc) == message:
                return exc
        except Exception:
            pass
    key = (module, name)
    if key not in _standins:
        _standins[key] = type(name, (Exception,), {"__module__": module or "builtins"})
    return _standins[key](message)
