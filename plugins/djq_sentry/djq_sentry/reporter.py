"""The Sentry error reporter: one Sentry event per failed task.

Configured with sentry-sdk's own keywords (``dsn``, ``environment``, ``release``,
``sample_rate``, ``before_send`` ...). With keywords the reporter builds its own
``sentry_sdk.Client``, so it neither replaces nor depends on a ``sentry_sdk.init()`` your
project makes; its client runs no integrations by default (``default_integrations`` and
``auto_enabling_integrations`` False: it sends djq's failure events only). With no
keywords (``'sentry': {}``) it uses the client your project initialised, if any.

The task failed in a worker process, so there is no exception object here: the event is
built from the text djq recorded (type, message and frames parsed from the traceback)
and captured in an isolated scope per task carrying the task as tags and a ``djq task``
context, with the task's function as the transaction name (as sentry-sdk's task-queue
integrations name theirs). Sending happens on sentry-sdk's background transport thread,
so ``report`` never waits for the network; ``close`` flushes it when the monitor stops.
"""

from __future__ import annotations

import logging
import reprlib
from typing import Any

import sentry_sdk

logger = logging.getLogger("djq")

# Indexed, searchable tags (values are cut to 200 characters by Sentry).
TAGS = {"task_id": "id", "task_name": "name", "func": "func", "group": "group",
        "cluster": "cluster", "host": "host", "attempt": "attempt", "kind": "kind"}
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 500
_short.maxlist = _short.maxtuple = _short.maxdict = 20


class SentryReporter:
    """``report(exc_info, context)`` for djq (see ``djq.registry.ReporterSpec``)."""

    def __init__(self, **options: Any) -> None:
        current = sentry_sdk.get_client()
        if not options and current.is_active():
            self.client, self.owned = current, False  # the project's own sentry_sdk.init()
        else:
            options.setdefault("default_integrations", False)
            options.setdefault("auto_enabling_integrations", False)
            self.client, self.owned = sentry_sdk.Client(**options), True
        if not self.client.is_active():
            logger.warning("djq sentry reporter has no DSN (set error_reporter['sentry']"
                           "['dsn'] or SENTRY_DSN): failures are not sent to Sentry")

    def report(self, exc_info: Any, context: dict[str, Any]) -> str | None:
        if not self.client.is_active() or self._ignored(context):
            return None
        with sentry_sdk.isolation_scope() as scope:
            sentry_sdk.get_current_scope().set_client(self.client)
            for tag, key in TAGS.items():
                if context.get(key) is not None:
                    scope.set_tag(f"djq.{tag}", str(context[key]))
            scope.set_context("djq task", task_context(context))
            scope.set_transaction_name(context.get("func") or "djq task")
            return scope.capture_event(event_for(context))

    def close(self, timeout: float) -> None:
        if self.owned:
            self.client.close(timeout=timeout)
        else:
            self.client.flush(timeout=timeout)

    def _ignored(self, context: dict[str, Any]) -> bool:
        """``ignore_errors`` by name (sentry-sdk matches classes, which we do not have)."""
        names = {context.get("error_type"),
                 f"{context.get('error_module') or 'builtins'}.{context.get('error_type')}"}
        return any(isinstance(i, str) and i in names
                   for i in self.client.options.get("ignore_errors") or ())


def task_context(context: dict[str, Any]) -> dict[str, Any]:
    """The task's fields for the event's ``djq task`` context (arguments shortened)."""
    keys = ("id", "name", "func", "group", "cluster", "host", "attempt", "kind",
            "started", "stopped")
    data = {key: context.get(key) for key in keys}
    data["args"] = _short.repr(context.get("args"))
    data["kwargs"] = _short.repr(context.get("kwargs"))
    return data


def event_for(context: dict[str, Any]) -> dict[str, Any]:
    """A Sentry event with an ``exception`` interface rebuilt from the parsed chain."""
    values = []
    chain = context.get("exceptions") or [{"type": context.get("error_type") or "Error",
                                           "module": None, "frames": [],
                                           "message": context.get("error_message") or ""}]
    for index, exc in enumerate(chain):
        value: dict[str, Any] = {"type": exc["type"], "value": exc["message"]}
        if exc.get("module"):
            value["module"] = exc["module"]
        if index == len(chain) - 1:  # the failure itself, unhandled by the task
            value["mechanism"] = {"type": "djq", "handled": False}
        if exc.get("frames"):
            value["stacktrace"] = {"frames": [
                {"filename": f["filename"], "abs_path": f["filename"], "lineno": f["lineno"],
                 "function": f["function"], "context_line": f.get("line")}
                for f in exc["frames"]]}
        values.append(value)
    event: dict[str, Any] = {"level": "error", "logger": "djq",
                             "exception": {"values": values}}
    if context.get("host"):
        event["server_name"] = context["host"]
    return event
