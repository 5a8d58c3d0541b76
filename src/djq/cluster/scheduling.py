"""The sentinel's call site for the scheduler (:func:`djq.scheduler.scheduler`).

The spec checks twice a minute. djq checks at least that often and also wakes up when the
earliest schedule comes due (one ``MIN(next_run)`` query per pass), so a schedule runs
within a guard cycle of its time instead of up to 30 s late; a catch-up cut short by the
per-pass limit continues on the next guard cycle. After a pass that could not enqueue
(the broker is down) it waits the full interval, so a broken broker is not hammered.

``DJQ_SCHEDULER_INTERVAL`` (seconds, undocumented) overrides the interval for tests.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("djq")

INTERVAL = float(os.environ.get("DJQ_SCHEDULER_INTERVAL") or 30.0)  # longest wait
SOONEST = 0.2  # shortest wait between passes while schedules are due


def run_scheduler(broker=None) -> float:
    """Run one scheduling pass; return the seconds to wait before the next one.
    Errors are logged, never raised (the sentinel must survive a broken database)."""
    from djq.scheduler import scheduler, seconds_until_due

    try:
        _close_old_connections()
        done = scheduler(broker=broker)
        if done.retry:
            return INTERVAL
        if done.more_due:
            return SOONEST
        due_in = seconds_until_due()
    except Exception as exc:
        logger.error("The scheduler failed: %r", exc)
        return INTERVAL
    return INTERVAL if due_in is None else min(INTERVAL, max(SOONEST, due_in))


def _close_old_connections() -> None:
    """Django's ``close_old_connections`` (a connection that broke or aged since the last
    pass is replaced), leaving alone a connection inside a transaction (tests)."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()
