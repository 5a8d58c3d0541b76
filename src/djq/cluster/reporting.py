"""Error reporters: failures sent to the reporters named in ``Q_CLUSTER['error_reporter']``.

Reporters come from the plugin registry (:meth:`djq.plugins.Plugins.reporters`); each is
built once per monitor process as ``reporter_class(**options)`` and called, following
:class:`djq.registry.ReporterSpec`, as ``report(exc_info, context)``. The exception
happened in a worker process, so ``exc_info`` is ``None``; ``context`` carries the task
(id, name, func, group, args, kwargs, attempt) and the error text with its traceback.
A reporter that cannot be built or raises is logged, and never disturbs the cluster.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils.module_loading import import_string

from djq.conf import Conf
from djq.execution import func_name

logger = logging.getLogger("djq")


def build_reporters(conf: Conf) -> list[Any]:
    configured = conf.error_reporter or {}
    if not configured:
        return []
    from djq.plugins import plugins

    available = plugins.reporters()
    reporters = []
    for name, options in configured.items():
        spec = available.get(name)
        if spec is None:
            logger.error("Error reporter %r is configured but not installed "
                         '(pip install "djq[%s]")', name, name)
            continue
        try:
            cls = spec.reporter_class
            cls = import_string(cls) if isinstance(cls, str) else cls
            reporters.append(cls(**(options or {})))
        except Exception as exc:
            logger.error("Error reporter %r could not be started: %r", name, exc)
    return reporters


def context(package: dict) -> dict[str, Any]:
    return {
        "id": package.get("id"), "name": package.get("name"),
        "func": func_name(package.get("func")), "group": package.get("group"),
        "args": package.get("args"), "kwargs": package.get("kwargs"),
        "attempt": package.get("attempt"), "error": package.get("result"),
        "error_type": package.get("error_type"),
    }


def report(reporters: list[Any], packages: list[dict]) -> None:
    """Send every failed package of a saved batch to every reporter."""
    if not reporters:
        return
    for package in packages:
        if package.get("success"):
            continue
        ctx = context(package)
        for reporter in reporters:
            try:
                reporter.report(None, ctx)
            except Exception as exc:
                logger.error("Error reporter %s failed on task %s: %r",
                             type(reporter).__name__, package.get("id"), exc)
