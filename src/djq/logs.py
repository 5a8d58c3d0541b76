"""The ``djq`` logger in the spec's style: ``10:57:40 [Q] INFO Q Cluster-31781 starting.``

Django's ``LOGGING`` wins: when it configures the ``djq`` logger (handlers or level), we
leave it alone. Otherwise cluster processes get one stderr handler with the spec's format,
at ``Q_CLUSTER['log_level']`` (default ``INFO``).
"""

from __future__ import annotations

import logging

logger = logging.getLogger("djq")

FORMAT = "%(asctime)s [Q] %(levelname)s %(message)s"
DATEFMT = "%H:%M:%S"


def configure_logging(level: str | int | None = None) -> logging.Logger:
    """Give the ``djq`` logger the spec's format unless Django's ``LOGGING`` configured it."""
    from djq.conf import conf

    level = level or conf.log_level
    if level:
        logger.setLevel(level if isinstance(level, int) else str(level).upper())
    elif logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
        logger.addHandler(handler)
        logger.propagate = False  # no second copy through a root handler
    return logger
