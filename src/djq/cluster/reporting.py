"""Error reporters: failures sent to the reporters named in ``Q_CLUSTER['error_reporter']``.

Reporters come from the plugin registry (:meth:`djq.plugins.Plugins.reporters`) and follow
the contract in :class:`djq.registry.ReporterSpec`: each is built once per process as
``reporter_class(**options)``, called as ``report(exc_info, context)`` for every failure
once its result is saved, and ``close(timeout)``-d when the process stops.

* In the cluster the monitor builds them (:func:`build_reporters`), reports each saved
  batch (:func:`report`) and closes them on its way out (:func:`close_reporters`).
* In ``sync`` mode :func:`report_inline` builds them lazily in the calling process, keeps
  them while the settings stay the same and closes them at interpreter exit.

The exception happened in a worker, so ``exc_info`` is ``None``; :func:`context` gives
the task and the error, parsed back into type, message and frames. A reporter that cannot
be built, raises or hangs on its service is the reporter's problem: it is logged and never
disturbs the worker, the monitor or the result.
"""

from __future__ import annotations

import atexit
import logging
import socket
import threading
from datetime import datetime
from typing import Any

from django.utils.module_loading import import_string

from djq.cluster.tracebacks import parse, split_error
from djq.conf import Conf, conf as global_conf
from djq.execution import func_name

logger = logging.getLogger("djq")

CLOSE_TIMEOUT = 2.0  # seconds a reporter may take to deliver what it holds when closed

# What failed: ``kind`` in the context. The cluster records its own failures with these
# pseudo exception types as the first word of the reason (djq.cluster.failures).
EXCEPTION, TIMEOUT, WORKER_DIED, MAX_ATTEMPTS, UNREADABLE = (
    "exception", "timeout", "worker_died", "max_attempts", "unreadable")
_CLUSTER_KINDS = {"TimeoutError": TIMEOUT, "WorkerDied": WORKER_DIED,
                  "MaxAttemptsReached": MAX_ATTEMPTS, "UnreadablePackage": UNREADABLE}


# -- building and closing ---------------------------------------------------------------------
def build_reporters(conf: Conf) -> list[Any]:
    """One instance per configured, installed reporter; the others are logged."""
    configured = conf.error_reporter or {}
    if not isinstance(configured, dict) or not configured:
        return []
    from djq.plugins import plugins

    available = plugins.reporters()
    reporters = []
    for name, options in configured.items():
        spec = available.get(name)
        if spec is None:
            logger.error("Error reporter %r is configured but not installed "
                         '(pip install "djq[%s]")', name, _extra(name))
            continue
        try:
            cls = spec.reporter_class
            cls = import_string(cls) if isinstance(cls, str) else cls
            reporters.append(cls(**(options or {})))
        except Exception as exc:
            logger.error("Error reporter %r could not be started: %r", name, exc)
    return reporters


def _extra(name: str) -> str:
    from djq.conf import WELL_KNOWN_REPORTERS

    return WELL_KNOWN_REPORTERS.get(name, name)


def close_reporters(reporters: list[Any], timeout: float = CLOSE_TIMEOUT) -> None:
    """Let every reporter deliver what it still holds, ``timeout`` seconds at most each."""
    for reporter in reporters:
        close = getattr(reporter, "close", None)
        if close is None:
            continue
        try:
            close(timeout)
        except Exception as exc:
            logger.error("Error reporter %s failed to close: %r", type(reporter).__name__, exc)


# -- the context --------------------------------------------------------------------------------
_HOST = socket.gethostname()


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def context(package: dict, conf: Conf | None = None) -> dict[str, Any]:
    """What a reporter gets about one failed task (documented on ``ReporterSpec``)."""
    conf = conf or global_conf
    text = "" if package.get("result") is None else str(package.get("result"))
    _, traceback_text = split_error(text)
    exceptions = parse(traceback_text) if traceback_text else parse(text)
    error = exceptions[-1]
    if package.get("error_type"):  # set by the worker for the task's own exception
        kind = EXCEPTION
        error["type"] = error["type"] or package["error_type"]
    else:
        kind = _CLUSTER_KINDS.get(error["type"], EXCEPTION)
    return {
        "id": package.get("id"), "name": package.get("name"),
        "func": func_name(package.get("func")), "group": package.get("group"),
        "args": package.get("args"), "kwargs": package.get("kwargs"),
        "attempt": package.get("attempt"),
        "cluster": conf.name, "host": _HOST, "kind": kind,
        "started": _iso(package.get("started")), "stopped": _iso(package.get("stopped")),
        "error": package.get("result"),
        "error_type": error["type"], "error_module": error["module"],
        "error_message": error["message"], "traceback": traceback_text,
        "exceptions": exceptions,
    }


# -- reporting ----------------------------------------------------------------------------------
def report(reporters: list[Any], packages: list[dict], conf: Conf | None = None) -> None:
    """Send every failed package of a saved batch to every reporter."""
    if not reporters:
        return
    for package in packages:
        if package.get("success"):
            continue
        try:
            ctx = context(package, conf)
        except Exception as exc:  # an odd result text must not stop the batch
            logger.error("Could not describe task %s for error reporters: %r",
                         package.get("id"), exc)
            continue
        for reporter in reporters:
            try:
                reporter.report(None, ctx)
            except Exception as exc:
                logger.error("Error reporter %s failed on task %s: %r",
                             type(reporter).__name__, package.get("id"), exc)


_inline_lock = threading.Lock()
_inline: tuple[dict, list[Any]] | None = None


def report_inline(packages: list[dict]) -> None:
    """``sync`` mode: report failures with reporters built lazily in this process.

    They are rebuilt (and the old ones closed) when the settings change, and closed at
    interpreter exit so that nothing queued is lost.
    """
    global _inline
    if not any(not p.get("success") for p in packages):
        return
    key = global_conf.generation  # reporters are rebuilt after a settings reload
    with _inline_lock:
        if _inline is None or _inline[0] != key:
            if _inline is not None:
                close_reporters(_inline[1])
            else:
                atexit.register(_close_inline)
            _inline = (key, build_reporters(global_conf))
        reporters = _inline[1]
    report(reporters, packages)


def _close_inline() -> None:
    if _inline is not None:
        close_reporters(_inline[1])
