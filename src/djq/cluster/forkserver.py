"""Imported by the pool's fork server alone, first of its preloads (see
:mod:`djq.cluster.context`): names that process ``djq-forkserver``
(:mod:`djq.cluster.prctl`) so that ``ps`` and ``top`` tell it from the cluster's other
``python`` processes. Each pool process it starts renames itself after its role.

A module of its own, not part of :mod:`djq.cluster.preload`: the sentinel imports that
one too, before it forks, and must keep its own name.
"""

from djq.cluster.prctl import name_for

name_for("forkserver")
