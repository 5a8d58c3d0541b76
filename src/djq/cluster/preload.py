"""Imported once by the pool's fork server (see :mod:`djq.cluster.context`): Django set
up before any worker forks, so workers share those pages. Errors are left for the
workers to raise (and log) through their own ``django.setup()``."""

try:
    import django

    django.setup()
except Exception:  # pragma: no cover - reported by the worker instead
    pass
