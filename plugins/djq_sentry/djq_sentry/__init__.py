"""djq-sentry: djq's failed tasks reported to Sentry (``Q_CLUSTER['error_reporter']['sentry']``).

See :class:`djq_sentry.reporter.SentryReporter`; registered by :mod:`djq_sentry.plugin`.
"""
