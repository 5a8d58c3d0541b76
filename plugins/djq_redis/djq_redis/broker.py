"""The Redis broker: a Redis stream per queue, read through a consumer group.

Design (at-least-once, with delivery receipts — beyond Django Q's Redis broker):

* **Key layout.** One key per queue: ``djq:{<queue>}:q``, a stream whose entries are
  ``{p: <signed package>}`` (``<queue>`` is the cluster ``name``; the braces keep every
  key of a queue in one Redis Cluster slot). The stream has one consumer group, ``djq``,
  whose pending-entries list (PEL) is the set of packages taken but not acknowledged.
  All consumers use the consumer name ``djq``: ownership carries no meaning here (any
  consumer may reclaim any expired entry), and a shared name means consumers of dead
  clusters never pile up in the group. No other key exists; nothing ever runs ``KEYS``.
* **Enqueue**: ``XADD`` (``enqueue_many``: all ``XADD``\\ s in one ``MULTI``). Each
  enqueuing thread sends it on a connection of its own, taken from the broker's pool
  once and kept, through redis-py's connection API (``send_packed_command`` /
  ``read_response``): taking a pooled connection and giving it back, and the client's
  per-command bookkeeping, cost more CPU than the rest of the command on the client
  side, and ``async_task`` runs once per task. On a connection error the command is
  sent again through the client, with its retries. The pinned connection is dropped in a
  forked child (it is the parent's socket); a django-redis client keeps its pool's usual
  path.
* **Dequeue**: ``XREADGROUP GROUP djq djq COUNT <bulk> BLOCK <b> STREAMS <key> >`` — one
  atomic command, one round trip: new entries move to the PEL (delivery count 1), so no
  other consumer sees them. ``b`` is the broker's ``max_wait`` (1 s; the cluster's pusher
  raises it while idle, and the sentinel interrupts the wait to stop), no later than the
  next reclaim; the read waits that much longer than the socket timeout (on a
  django-redis client, whose timeout it cannot extend, the block stays below half of it).
* **Redelivery**: every ``retry / 4`` a dequeue first runs
  ``lua/reclaim.lua``: ``XAUTOCLAIM`` with min-idle = ``retry`` takes over entries whose
  delivery is older than ``retry`` — whoever took them, including clusters gone for good —
  resets their idle time (no second consumer inside the next ``retry``) and counts the
  delivery; the script reports that count as :attr:`Delivery.attempt`, which the cluster
  compares with ``max_attempts``.
* **Acknowledge / fail / delete**: ``lua/ack.lua`` — ``XACK`` + ``XDEL`` of any number of
  ids in one atomic call, so the stream holds only packages waiting or in progress.
* **Sizes**: ``lua/sizes.lua`` reads ``XLEN`` and the PEL size atomically:
  ``queue_size`` = entries not delivered; ``lock_size`` = delivered, not acknowledged
  (including deliveries past ``retry`` not yet reclaimed).
* **purge_queue**: ``DEL`` + ``XGROUP CREATE ... 0 MKSTREAM`` in one ``MULTI``;
  **delete_queue**: ``DEL``. A missing group (new or deleted queue) is created from the
  start of the stream on first use, so packages enqueued earlier are not skipped.

Redis must keep the data: run it with persistence (AOF or RDB) if queued tasks must
survive a Redis restart; djq's receipts cover consumers dying, not the server losing data.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from redis.exceptions import NoScriptError, ResponseError

from djq.brokers import Broker, Delivery
from djq_redis import CAPABILITIES
from djq_redis.connection import new_client, socket_timeout
from djq_redis.lua import source

GROUP = "djq"
CONSUMER = "djq"
FIELD = "p"
_FIELD_NAMES = (FIELD.encode(), FIELD)
ACK_CHUNK = 1000  # ids per ack.lua call (Lua's unpack() has a stack limit)


_forks = 0  # bumped in every forked child: connections pinned before belong to the parent


def _forked() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_forked)


def stream_key(queue: str) -> str:
    return f"djq:{{{queue}}}:q"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _missing(exc: Exception) -> bool:
    """A ``ResponseError`` for a queue whose group (or stream) does not exist (any more)."""
    message = str(exc)
    return message.startswith(("NOGROUP", "UNBLOCKED"))


def _unwrapped(entries: Any) -> Any:
    """A stream's entries, without the extra list redis-py's RESP3 callback adds
    (``[[(id, fields), ...]]``: its one item is a list of entries, not an entry)."""
    if (entries and len(entries) == 1 and isinstance(entries[0], list)
            and (not entries[0] or not isinstance(entries[0][0], (bytes, str)))):
        return entries[0]
    return entries or ()


class _Pinned:
    """A connection taken from ``pool`` for one thread; given back when the thread's
    broker state is collected."""

    def __init__(self, pool: Any, conn: Any) -> None:
        self.pool, self.conn = pool, conn

    def __del__(self) -> None:
        try:
            self.pool.release(self.conn)
        except Exception:
            pass


class RedisBroker(Broker):
    capabilities = CAPABILITIES

    def __init__(self, list_key: str | None = None, conf: Any = None) -> None:
        super().__init__(list_key, conf)
        self.key = stream_key(self.list_key)
        retry = float(self.conf.retry)
        self.retry_ms = max(int(retry * 1000), 1)
        self.reclaim_interval = retry / 4
        self._longest_block = None  # our own connection: its read timeout is extended
        if not self._owned:  # a django-redis client reads with its socket timeout
            timeout = socket_timeout(self.connection)
            self._longest_block = float(timeout) / 2 if timeout else None
        self._reclaim_due = 0.0
        self._pinned = threading.local()  # .conn = (_forks, connection), see _pinned_conn
        self._cursor = "0-0"
        client = self.connection
        self._reclaim_script = client.register_script(source("reclaim"))
        self._ack_script = client.register_script(source("ack"))
        self._sizes_script = client.register_script(source("sizes"))

    def get_connection(self, list_key: str | None = None) -> Any:
        client, self._owned = new_client(self.conf)
        return client

    # -- queueing ---------------------------------------------------------------------------
    def enqueue(self, task: str) -> str:
        return _text(self._command("XADD", self.key, "*", FIELD, task))

    def _command(self, *args: Any, blocks: float | None = None) -> Any:
        """One command on this thread's pinned connection, its raw reply (no response
        callback); on a connection error, again on the same connection, reconnected, with
        the client's retry policy (its backoff and number of attempts).
        ``blocks``: seconds the server may hold the reply back (a blocking read), added
        to this read's timeout, the retries' too: through the client, a blocking read
        longer than ``socket_timeout`` would time out on every attempt."""
        conn = self._pinned_conn()
        if conn is None:
            return self.connection.execute_command(*args)
        packed = conn.pack_command(*args)
        read_timeout = None
        if blocks is not None and conn.socket_timeout:
            read_timeout = blocks + conn.socket_timeout

        def attempt() -> Any:
            conn.send_packed_command(packed, check_health=False)
            if blocks is None:
                return conn.read_response()
            return conn.read_response(timeout=read_timeout)

        return conn.retry.call_with_retry(attempt, lambda error: conn.disconnect())

    def _run(self, script: Any, *args: Any) -> Any:
        """A registered Lua script over this queue's key, on the pinned connection
        (``EVALSHA``; loaded first if the server does not have it, e.g. after a restart)."""
        try:
            return self._command("EVALSHA", script.sha, 1, self.key, *args)
        except NoScriptError:
            self.connection.script_load(script.script)
            return self._command("EVALSHA", script.sha, 1, self.key, *args)

    def _pinned_conn(self) -> Any:
        """This thread's own connection (see the module docstring), ``None`` for a
        django-redis client. It stays out of the pool until the thread ends (it is then
        collected); :meth:`close` disconnects it with the pool's others."""
        if not self._owned:
            return None
        pinned = getattr(self._pinned, "conn", None)
        if pinned is None or pinned[0] != _forks:
            pool = self.connection.connection_pool
            pinned = self._pinned.conn = (_forks, _Pinned(pool, pool.get_connection()))
        return pinned[1].conn

    def enqueue_many(self, tasks: Iterable[str]) -> list[str]:
        pipe = self.connection.pipeline(transaction=True)
        for task in tasks:
            pipe.xadd(self.key, {FIELD: task})
        return [_text(i) for i in pipe.execute()]

    def dequeue(self) -> list[Delivery] | None:
        now = time.monotonic()
        if now >= self._reclaim_due:
            reclaimed = self._reclaim(now)
            if reclaimed:
                return reclaimed
        block_ms = self.block_ms(now)
        for _ in range(2):
            args = ["XREADGROUP", "GROUP", GROUP, CONSUMER, "COUNT", self.bulk]
            if block_ms is not None:
                args += ["BLOCK", block_ms]
            try:
                reply = self._command(*args, "STREAMS", self.key, ">",
                                      blocks=(block_ms or 0) / 1000)
            except ResponseError as exc:
                if not _missing(exc):
                    raise
                self._create_group()
                continue
            return self._deliveries(reply) or None
        return None

    def block_ms(self, now: float) -> int | None:
        """How long ``XREADGROUP`` may block: :attr:`max_wait`, but no later than the
        next reclaim (and, on a django-redis client, below its socket timeout; our own
        connection extends its read timeout by the block); ``None`` (do not block) under
        10 ms, since ``BLOCK 0`` would wait forever."""
        block = min(float(self.max_wait), max(self._reclaim_due - now, 0.0))
        if self._longest_block is not None:
            block = min(block, self._longest_block)
        return int(block * 1000) if block >= 0.01 else None

    def _reclaim(self, now: float) -> list[Delivery]:
        reply = self._run(self._reclaim_script, GROUP, CONSUMER, self.retry_ms,
                          self._cursor, self.bulk)
        self._cursor = _text(reply[0])
        # Keep scanning on the next dequeue until the cursor wraps, then rest.
        self._reclaim_due = now if self._cursor != "0-0" else now + self.reclaim_interval
        flat = reply[1:]
        return [Delivery(_text(flat[i]), _text(flat[i + 1]), int(flat[i + 2]))
                for i in range(0, len(flat), 3)]

    @staticmethod
    def _deliveries(reply: Any) -> list[Delivery]:
        """``XREADGROUP``'s raw reply: ``[[key, entries]]`` (RESP2) or ``{key: entries}``
        (RESP3), ``entries = [[id, [field, value, ...]], ...]``. Through a client's
        response callbacks (a django-redis client, the retry after a connection error)
        the fields are a dict already, and redis-py's RESP3 callback wraps each stream's
        entries in one more list."""
        if not reply:
            return []
        streams = reply.values() if isinstance(reply, dict) else [s[1] for s in reply]
        out = []
        for entries in streams:
            for entry_id, fields in _unwrapped(entries):
                if not fields:
                    continue
                if isinstance(fields, dict):
                    package = fields.get(_FIELD_NAMES[0], fields.get(FIELD))
                elif len(fields) == 2 and fields[0] in _FIELD_NAMES:  # what enqueue writes
                    package = fields[1]
                else:  # other fields too: pairs
                    package = dict(zip(fields[::2], fields[1::2]))
                    package = package.get(_FIELD_NAMES[0], package.get(FIELD))
                if package is not None:
                    out.append(Delivery(_text(entry_id), _text(package), 1))
        return out

    def _create_group(self) -> None:
        try:
            self.connection.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # -- receipts ---------------------------------------------------------------------------
    def acknowledge(self, task_id: Any) -> None:
        self.acknowledge_many([task_id])

    def acknowledge_many(self, task_ids: Iterable[Any]) -> None:
        ids = [_text(i) for i in task_ids]
        for start in range(0, len(ids), ACK_CHUNK):
            self._run(self._ack_script, GROUP, *ids[start:start + ACK_CHUNK])

    def fail(self, task_id: Any) -> None:
        # A package this cluster cannot read is of no use to any cluster sharing its key.
        self.acknowledge_many([task_id])

    def delete(self, task_id: Any) -> None:
        self.acknowledge_many([task_id])

    # -- queue management -------------------------------------------------------------------
    def _sizes(self) -> tuple[int, int]:
        length, pending = self._sizes_script(keys=[self.key], args=[GROUP])
        return int(length), int(pending)

    def queue_size(self) -> int:
        length, pending = self._sizes()
        return max(length - pending, 0)

    def lock_size(self) -> int:
        return self._sizes()[1]

    def purge_queue(self) -> None:
        pipe = self.connection.pipeline(transaction=True)
        pipe.delete(self.key)
        pipe.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        pipe.execute()
        self._cursor = "0-0"

    def delete_queue(self) -> None:
        self.connection.delete(self.key)
        self._cursor = "0-0"

    def ping(self) -> bool:
        return bool(self.connection.ping())

    def info(self) -> str:
        server = self.connection.info("server")
        return f"Redis {server.get('redis_version', '?')}"

    def close(self) -> None:
        """Disconnect this broker's own connections, the enqueuing threads' pinned ones
        included (it reconnects when used again); a django-redis client is left alone,
        its connections belong to the cache."""
        if self._owned:
            self.connection.connection_pool.disconnect()

    def __repr__(self) -> str:
        return f"<RedisBroker queue={self.list_key!r} key={self.key!r}>"
