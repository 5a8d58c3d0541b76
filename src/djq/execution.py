"""Running one task package: the worker's job, also used inline by ``sync`` mode.

:func:`run_package` never raises for a task's own failure: the error is recorded in the
package (``success=False``, ``result`` = the error and its traceback) so the result saver
records a ``Failure``. That includes a ``func`` that cannot be imported.
"""

from __future__ import annotations

import traceback
from typing import Any, Callable

from django.utils import timezone
from django.utils.module_loading import import_string

from djq import signals
from djq.errors import TaskImportError


def resolve(func: Any) -> Callable[..., Any]:
    """A callable from a callable or a dotted path (``'math.copysign'``)."""
    if callable(func):
        return func
    if not isinstance(func, str) or "." not in func:
        raise TaskImportError(f"{func!r} is not a callable or a dotted path to one")
    try:
        return import_string(func)
    except ImportError as exc:
        raise TaskImportError(f"Cannot import {func!r}: {exc}") from exc


def func_name(func: Any) -> str:
    """The dotted path a callable is importable by (what ``Task.func`` stores)."""
    if isinstance(func, str):
        return func
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if module and qualname:
        return f"{module}.{qualname}"
    return repr(func)


def importable_path(func: Any) -> str | None:
    """``func``'s dotted path if importing it gives ``func`` back, else ``None`` (a
    lambda, a nested function, a bound method)."""
    path = func_name(func)
    try:
        return path if import_string(path) is func else None
    except ImportError:
        return None


def format_error(exc: BaseException) -> str:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{exc!r}\n{tb}"


def run_package(package: dict) -> dict:
    """Execute ``package['func']`` and store ``result``/``success``/``stopped`` in it."""
    try:
        func = resolve(package["func"])
        signals.pre_execute.send(sender="djq", func=func, task=package)
        result = func(*package.get("args", ()), **package.get("kwargs", {}))
        package["result"], package["success"] = result, True
    except Exception as exc:
        package["result"], package["success"] = format_error(exc), False
        package["error_type"] = type(exc).__name__
        func = package["func"]
    package["stopped"] = timezone.now()
    try:
        signals.post_execute.send(sender="djq", func=func, task=package)
    except Exception as exc:  # a broken receiver must not lose the result
        package.setdefault("warnings", []).append(f"post_execute: {exc!r}")
    return package
