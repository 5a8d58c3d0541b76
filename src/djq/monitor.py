"""The spec's ``monitor`` module: :class:`Stat`, the ``qmonitor`` screen and the ``qinfo``
summary (the rendering lives in :mod:`djq.cluster.screen` and :mod:`djq.cluster.info`)."""

from djq.status import Stat

__all__ = ["Stat", "monitor", "info"]


def monitor(run_once: bool = False) -> None:
    from djq.cluster.screen import monitor as run

    run(run_once=run_once)


def info(stdout=None) -> None:
    from djq.cluster.info import info as run

    run(stdout=stdout)
