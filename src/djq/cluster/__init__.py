"""The worker cluster: sentinel, pusher, workers and monitor (see :class:`Cluster`)."""

from djq.cluster.cluster import Cluster

__all__ = ["Cluster"]
