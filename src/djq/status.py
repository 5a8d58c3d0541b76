"""``Stat``: one cluster's status, as its sentinel last published it.

The sentinel writes it as JSON (never pickle) to the stat store (:mod:`djq.stats`) with
an expiry a few guard cycles long (longer while the cluster is idle, see
:func:`idle_expiry`), so a cluster that died without saying goodbye drops out by itself. Read it with :meth:`Stat.get` / :meth:`Stat.get_all`
(also importable as ``djq.monitor.Stat``, as in the spec).
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone as dt_timezone
from typing import Any

from djq.conf import Conf, conf as default_conf

STARTING, IDLE, WORKING, STOPPING, STOPPED = "Starting", "Idle", "Working", "Stopping", "Stopped"


def expiry(conf: Conf) -> float:
    """How long a published Stat lives: a few guard cycles, and at least 3 seconds."""
    return max(3.0, 5 * float(conf.guard_cycle))


IDLE_EXPIRY = 10.0


def idle_expiry(conf: Conf) -> float:
    """How long an idle cluster's Stat lives. The sentinel rewrites a Stat when a third of
    its life has passed; an idle one (nothing to report changes) is rewritten every ~3 s
    instead of every second, at the price of a cluster killed while idle staying listed
    for up to 10 s instead of 3."""
    return max(IDLE_EXPIRY, expiry(conf))


@dataclass
class Stat:
    """The spec's attributes plus ``host``, ``name``, ``queue_limit`` and ``timestamp``
    (when it was published)."""

    cluster_id: int
    host: str = field(default_factory=socket.gethostname)
    name: str = ""
    sentinel: int | None = None
    pusher: int | None = None
    monitor: int | None = None
    workers: list[int] = field(default_factory=list)
    status: str = STARTING
    reincarnations: int = 0
    tob: float = field(default_factory=time.time)  # time of birth, epoch seconds
    task_q_size: int = 0
    done_q_size: int = 0
    queue_limit: int = 0
    timestamp: float = field(default_factory=time.time)

    # -- the spec's API ---------------------------------------------------------------------
    def uptime(self) -> float:
        """Seconds since the cluster was born."""
        return max(0.0, time.time() - self.tob)

    def empty_queues(self) -> bool:
        """``True`` when neither the task queue nor the result queue holds anything."""
        return self.task_q_size == 0 and self.done_q_size == 0

    @property
    def born(self) -> datetime:
        return datetime.fromtimestamp(self.tob, dt_timezone.utc)

    @classmethod
    def get(cls, cluster_id: int, broker: Any = None, conf: Conf | None = None) -> Stat | None:
        """The current Stat of ``cluster_id`` (on this host first), or ``None``.

        ``broker`` is accepted for the spec's signature; stats live in the stat store.
        """
        stats = [s for s in cls.get_all(broker, conf) if s.cluster_id == int(cluster_id)]
        stats.sort(key=lambda s: s.host != socket.gethostname())
        return stats[0] if stats else None

    @classmethod
    def get_all(cls, broker: Any = None, conf: Conf | None = None) -> list[Stat]:
        """Every live cluster's Stat (those with this ``Q_CLUSTER['name']``)."""
        from djq.stats import get_store

        stats = []
        for text in get_store(conf or default_conf).get_all():
            stat = cls.from_json(text)
            if stat is not None:
                stats.append(stat)
        return sorted(stats, key=lambda s: (s.host, s.cluster_id))

    # -- storage ----------------------------------------------------------------------------
    @staticmethod
    def key(conf: Conf, host: str, cluster_id: int) -> str:
        return f"djq:{conf.name}:stat:{host}:{cluster_id}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Stat | None:
        try:
            data = json.loads(text)
            known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            return cls(**known)
        except (TypeError, ValueError):
            return None

    def save(self, conf: Conf | None = None, ttl: float | None = None) -> None:
        """Publish it for ``ttl`` seconds (default :func:`expiry`)."""
        from djq.stats import get_store

        conf = conf or default_conf
        self.timestamp = time.time()
        get_store(conf).set(self.key(conf, self.host, self.cluster_id), self.to_json(),
                            ttl or expiry(conf))

    def delete(self, conf: Conf | None = None) -> None:
        from djq.stats import get_store

        conf = conf or default_conf
        get_store(conf).delete(self.key(conf, self.host, self.cluster_id))
