"""What the cluster's processes know of each other without sending a message.

One shared array of doubles, made by the sentinel before it starts any process (shared
memory mapped later would not reach the processes already running): a few cluster-wide
fields, then one row per worker slot. Every field has exactly one writer, so no lock is
needed; a reader may see a value a moment old, never a torn one (each is one aligned
double, exact for counts up to 2**53).

Cluster-wide:

* ``pending``: tasks the pusher holds, not yet handed to a worker (the Stat's
  ``task_q_size``); the pusher writes it.
* ``wake_at``: ``time.monotonic()`` when the sentinel next checks the workers'
  deadlines. A worker that starts a task due to time out sooner wakes it through its
  wake pipe (see :mod:`djq.cluster.wake`); the sentinel writes it.
* ``taken``: results the monitor has read; the monitor writes it.

Per worker slot (a slot is a place in the pool; each incarnation of a worker in it gets
the row reset by the sentinel before it starts):

* ``deadline``: when the running task times out (``time.monotonic()``), 0 for none;
* ``started``: tasks begun; ``finished``: tasks whose results went to the monitor
  (both by the worker, since it was born);
* ``retiring``: 1 once the worker decided to leave (``recycle``, ``max_rss``): the
  pusher hands it nothing more;
* ``sent``: results sent to the monitor by every incarnation of the slot (never reset),
  so ``sum(sent) - taken`` is what is on its way to the monitor (``done_q_size``).
"""

from __future__ import annotations

CLUSTER_FIELDS = ("pending", "wake_at", "taken")
SLOT_FIELDS = ("deadline", "started", "finished", "retiring", "sent")


class SlotTable:
    base = 0  # the cluster-wide fields lead the array

    def __init__(self, ctx, workers: int) -> None:
        self.workers = workers
        self.array = ctx.RawArray("d", len(CLUSTER_FIELDS) + workers * len(SLOT_FIELDS))

    def slot(self, slot: int) -> Slot:
        """The row of worker ``slot`` (1-based, as in the process names)."""
        if not 1 <= slot <= self.workers:
            raise IndexError(slot)
        return Slot(self.array, len(CLUSTER_FIELDS) + (slot - 1) * len(SLOT_FIELDS))

    def slots(self) -> list[Slot]:
        return [self.slot(n) for n in range(1, self.workers + 1)]

    def in_transit(self) -> int:
        """Results sent by workers that the monitor has not read yet."""
        sent = sum(slot.sent for slot in self.slots())
        return max(0, int(sent - self.taken))


def _field(index: int) -> property:
    """Field ``index`` of the row at ``self.base``."""

    def get(self) -> float:
        return self.array[self.base + index]

    def set(self, value: float) -> None:
        self.array[self.base + index] = value

    return property(get, set)


class Slot:
    """One worker slot's row; attributes as in :data:`SLOT_FIELDS`."""

    def __init__(self, array, base: int) -> None:
        self.array, self.base = array, base

    def reset(self) -> None:
        """For a new incarnation: everything but the cumulative ``sent``."""
        self.deadline = self.started = self.finished = self.retiring = 0


for _i, _name in enumerate(SLOT_FIELDS):
    setattr(Slot, _name, _field(_i))
for _i, _name in enumerate(CLUSTER_FIELDS):
    setattr(SlotTable, _name, _field(_i))
