"""Registers the Rollbar error reporter with djq (entry point ``rollbar`` in the ``djq``
group) and checks its options (``djq_rollbar.E001``)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from djq.hookspecs import hookimpl
from djq.registry import Registry, ReporterSpec


def check_rollbar(options: Any) -> list[checks.CheckMessage]:
    """E001: the options are not a dict with an ``access_token``."""
    if not isinstance(options, dict) or not options.get("access_token"):
        return [checks.Error(
            "The Rollbar error reporter needs an 'access_token'.",
            hint="Q_CLUSTER['error_reporter'] = {'rollbar': {'access_token': '...', "
                 "'environment': '...'}} with your project's post_server_item token.",
            id="djq_rollbar.E001")]
    return []


@hookimpl
def djq_register_reporters(registry: Registry) -> None:
    registry.register_reporter(ReporterSpec(
        name="rollbar",
        reporter_class="djq_rollbar.reporter.RollbarReporter",
        extra="rollbar",
        check=check_rollbar,
    ))
