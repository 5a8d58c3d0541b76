"""Registers the Sentry error reporter with djq (entry point ``sentry`` in the ``djq`` group)
and checks its options (``djq_sentry.E001`` ...)."""

from __future__ import annotations

import os
from typing import Any

from django.core import checks

from djq.hookspecs import hookimpl
from djq.registry import Registry, ReporterSpec


def check_sentry(options: Any) -> list[checks.CheckMessage]:
    """E001 options not a dict, E002 unknown option, E003 bad DSN, W001 no DSN at all."""
    import sentry_sdk
    from sentry_sdk.consts import DEFAULT_OPTIONS
    from sentry_sdk.utils import BadDsn, Dsn

    if options is None:
        options = {}
    if not isinstance(options, dict):
        return [checks.Error(
            "Q_CLUSTER['error_reporter']['sentry'] must be a dict of sentry_sdk.init() "
            f"keywords, not {type(options).__name__}.",
            hint="For example {'dsn': 'https://key@o1.ingest.sentry.io/1'}.",
            id="djq_sentry.E001")]
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
    if unknown:
        return [checks.Error(
            f"Q_CLUSTER['error_reporter']['sentry'] has unknown sentry-sdk option(s): "
            f"{', '.join(map(repr, unknown))}.",
            hint="Use sentry_sdk.init() keywords (dsn, environment, release, ...).",
            id="djq_sentry.E002")]
    dsn = options.get("dsn") or os.environ.get("SENTRY_DSN")
    if dsn:
        try:
            Dsn(dsn)
        except BadDsn as exc:
            return [checks.Error(
                f"Q_CLUSTER['error_reporter']['sentry']['dsn'] is not a valid DSN: {exc}.",
                hint="Copy the DSN from your Sentry project's Client Keys page.",
                id="djq_sentry.E003")]
    elif options or not sentry_sdk.get_client().is_active():
        return [checks.Warning(
            "The Sentry error reporter has no DSN: failed tasks will not be reported.",
            hint="Set Q_CLUSTER['error_reporter']['sentry']['dsn'] (or SENTRY_DSN), or "
                 "call sentry_sdk.init() in your settings and configure 'sentry': {}.",
            id="djq_sentry.W001")]
    return []


@hookimpl
def djq_register_reporters(registry: Registry) -> None:
    registry.register_reporter(ReporterSpec(
        name="sentry",
        reporter_class="djq_sentry.reporter.SentryReporter",
        extra="sentry",
        check=check_sentry,
    ))
