"""The sentinel's call site for the scheduler (the spec: twice a minute).

Scheduling itself belongs to :mod:`djq.scheduler`; until that module exists this does
nothing. When it does, its ``scheduler(broker=None)`` function is called.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

logger = logging.getLogger("djq")

INTERVAL = 30.0  # seconds between scheduler runs


def run_scheduler(broker=None) -> None:
    """Run the scheduler once if there is one; its errors are logged, never raised."""
    if importlib.util.find_spec("djq.scheduler") is None:
        return
    try:
        importlib.import_module("djq.scheduler").scheduler(broker=broker)
    except Exception as exc:
        logger.error("The scheduler failed: %r", exc)
