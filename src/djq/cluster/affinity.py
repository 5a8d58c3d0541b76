"""``cpu_affinity``: which processors each worker may run on, as the spec's tables show.

Worker ``n`` (1-based) of a pool gets ``affinity`` consecutive processors, continuing
round-robin from where worker ``n - 1`` stopped: with 8 processors and affinity 3,
worker 1 gets ``[0, 1, 2]``, worker 3 gets ``[6, 7, 0]``.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("djq")


def assign_cpus(worker: int, affinity: int, cpu_count: int) -> list[int] | None:
    """Processors for 1-based ``worker``; ``None`` means "leave it on all of them".

    The spec: the affinity has to be higher than zero and less than the number of
    processors to have any effect.
    """
    if not affinity or affinity <= 0 or cpu_count <= 1 or affinity >= cpu_count:
        return None
    start = (worker - 1) * affinity
    return [(start + i) % cpu_count for i in range(affinity)]


def apply_affinity(worker: int, affinity: int) -> list[int] | None:
    """Pin the current process; returns the processors set (``None``: unchanged)."""
    if not affinity:
        return None
    try:
        import psutil

        cpus = assign_cpus(worker, affinity, psutil.cpu_count() or 1)
        if cpus is not None:
            psutil.Process().cpu_affinity(cpus)
        return cpus
    except (ImportError, AttributeError, OSError) as exc:  # e.g. macOS: no affinity API
        logger.warning("cpu_affinity %s not applied: %r", affinity, exc)
        return None
