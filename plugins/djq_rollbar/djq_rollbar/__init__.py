"""djq-rollbar: djq's failed tasks reported to Rollbar (``Q_CLUSTER['error_reporter']['rollbar']``,
or 0.7.18's top-level ``Q_CLUSTER['rollbar']``).

See :class:`djq_rollbar.reporter.RollbarReporter`; registered by :mod:`djq_rollbar.plugin`.
"""
