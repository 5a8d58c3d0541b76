"""Saving results: the monitor's job, also run inline by ``sync`` mode.

:func:`save_results` takes a batch of executed packages and

1. collates iterable members (in the cache) and, when a set is complete, turns it into
   one result for the ``async_iter`` id;
2. writes ``cached`` results to the Django cache named by ``Q_CLUSTER['cache']``;
3. writes every database result of the batch in **one transaction** (new rows with one
   ``executemany``; a redelivered task whose earlier run failed is updated, one whose
   earlier run succeeded is left alone, as the spec says);
4. prunes successes past ``save_limit`` with one indexed query per batch;
5. then, for each result, runs its hook and enqueues the next link of its chain.

Steps 1-4 must succeed before the broker is acknowledged (the caller does that); hooks
and chains run afterwards and their errors are logged, never raised.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from django.core.cache import caches
from django.db import IntegrityError, connections, router, transaction
from django.db.models import DateTimeField
from picklefield.fields import PickledObjectField, dbsafe_encode

from djq.conf import Conf, conf as default_conf
from djq.execution import format_error, func_name, resolve

logger = logging.getLogger("djq")


# -- cache keys -------------------------------------------------------------------------------
def cache_key(conf: Conf, task_id: str) -> str:
    return f"djq:{conf.name}:task:{task_id}"


def group_key(conf: Conf, group: str) -> str:
    return f"djq:{conf.name}:group:{group}"


def iter_key(conf: Conf, group: str) -> str:
    return f"djq:{conf.name}:iter:{group}"


def result_cache(conf: Conf):
    return caches[conf.cache]


# -- building rows ----------------------------------------------------------------------------
def _encode(value: Any) -> Any:
    # copy=False: picklefield deep-copies before pickling by default; a finished
    # package is not touched while it is being saved, and the copy was ~10 % of the
    # monitor's time under load.
    return None if value is None else dbsafe_encode(value, False, -1, False)


def task_fields(package: dict) -> dict[str, Any]:
    """A ``Task`` row's values (by attribute name) for a package. Values are pickled
    here, once, so a result that cannot be pickled becomes a recorded failure instead of
    breaking the whole batch."""
    fields = {}
    for name in ("args", "kwargs", "result"):
        try:
            fields[name] = _encode(package.get(name))
        except Exception as exc:
            package["success"] = False
            package["result"] = f"The task's {name} cannot be stored: {format_error(exc)}"
            fields["result"] = _encode(package["result"])
            if name != "result":
                fields[name] = None
    hook = package.get("hook")
    fields.update(
        id=package["id"], name=package["name"], func=func_name(package["func"])[:256],
        hook=func_name(hook)[:256] if hook else None, group=package.get("group"),
        started=package["started"], stopped=package["stopped"],
        success=bool(package.get("success")), attempt_count=package.get("attempt") or 1,
    )
    return fields


def task_row(package: dict):
    """An unsaved ``Task`` for a package (see :func:`task_fields`)."""
    from djq.models import Task

    return Task(**task_fields(package))


def task_from_dict(data: dict):
    """A ``Task`` (unsaved) from a cached package, decoded values intact."""
    from djq.models import Task

    hook = data.get("hook")
    return Task(
        id=data["id"], name=data["name"], func=func_name(data["func"]),
        hook=func_name(hook) if hook else None, args=data.get("args"),
        kwargs=data.get("kwargs"), result=data.get("result"), group=data.get("group"),
        started=data["started"], stopped=data["stopped"], success=bool(data.get("success")),
        attempt_count=data.get("attempt") or 1,
    )


def cache_dict(package: dict) -> dict:
    """What goes into the cache for a cached result: plain fields, func as a path."""
    keep = ("id", "name", "args", "kwargs", "result", "group", "started", "stopped",
            "success", "attempt")
    data = {k: package.get(k) for k in keep}
    data["func"] = func_name(package["func"])
    data["hook"] = func_name(package["hook"]) if package.get("hook") else None
    return data


class CacheWriteLost(RuntimeError):
    """A cache write did not stick (Django's database cache, for one, drops writes that
    hit a locked database). Raised so the batch is retried instead of losing results."""


# -- the batch --------------------------------------------------------------------------------
def save_results(packages: list[dict], conf: Conf | None = None,
                 broker: Any = None, in_transaction: Callable[[], None] | None = None
                 ) -> list[dict]:
    """Persist a batch of executed packages, then run hooks and chains.

    Returns the packages whose results were made durable (all of them unless the database
    write raised, in which case the exception propagates and nothing is acknowledged).
    ``in_transaction`` is called inside the transaction that writes the rows, after them
    (the monitor acknowledges there when the broker shares the database); it is not
    called when the batch writes no row.
    """
    conf = conf or default_conf
    to_db, to_cache, done = [], [], []
    members = [p for p in packages if p.get("iter_count")]
    others = [p for p in packages if not p.get("iter_count")]
    for package in others + (_collate_iters(members, conf) if members else []):
        if package.get("cached"):
            to_cache.append(package)
        elif _should_store(package, conf):
            to_db.append(package)
        done.append(package)
    if to_cache:  # first: nothing may be acknowledged (in_transaction) before it sticks
        _save_cached(to_cache, conf)
    if to_db:
        _save_rows(to_db, conf, in_transaction)
    finished = [p["iter_state"] for p in done if p.get("iter_state")]
    if finished:  # only now: a failed save above must find the sets intact on retry
        result_cache(conf).delete_many(finished)
    for package in done:
        after_save(package, conf, broker)
    return packages


def _should_store(package: dict, conf: Conf) -> bool:
    if not package.get("success"):
        return True  # failures are always saved
    if conf.save_limit < 0:
        return False
    save = package.get("save")
    return True if save is None else bool(save)


def _save_rows(packages: list[dict], conf: Conf,
               in_transaction: Callable[[], None] | None = None) -> None:
    from djq.models import Task

    by_id = {}
    for package in packages:
        by_id[package["id"]] = package  # a batch may hold one id twice: last wins
    db = router.db_for_write(Task)
    if all((p.get("attempt") or 1) == 1 for p in packages):
        # First deliveries have no earlier result: one INSERT, no lookup. A broker that
        # does not count deliveries may still hand one over twice: the careful way below.
        # The INSERT's parameters are ready before the transaction begins: on SQLite the
        # transaction holds the database's one write lock, which every enqueue waits for.
        sql, params = _insert_statement(connections[db],
                                        [task_fields(p) for p in by_id.values()])
        try:
            with transaction.atomic(using=db):
                _insert_rows(db, sql, params)
                if conf.save_limit > 0 and any(p.get("success") for p in by_id.values()):
                    _prune_successes(db, conf.save_limit)
                if in_transaction:
                    in_transaction()
            return
        except IntegrityError:
            pass
    with transaction.atomic(using=db):
        existing = dict(Task.objects.using(db).filter(pk__in=list(by_id))
                        .values_list("pk", "success"))
        rows = {pk: task_row(package) for pk, package in by_id.items()}
        new = [row for pk, row in rows.items() if pk not in existing]
        # A redelivered task: keep an earlier success, replace an earlier failure.
        redo = [row for pk, row in rows.items() if pk in existing and not existing[pk]]
        if new:
            Task.objects.using(db).bulk_create(new, batch_size=500)
        if redo:
            Task.objects.using(db).bulk_update(
                redo, ["result", "success", "stopped", "started", "attempt_count", "args",
                       "kwargs"])
        if conf.save_limit > 0 and any(row.success for row in new):
            _prune_successes(db, conf.save_limit)
        if in_transaction:
            in_transaction()


def _insert_statement(connection, rows: list[dict]) -> tuple[str, list[list]]:
    """The ``INSERT`` of new result rows (:func:`task_fields`) and its parameters, one list
    per row: the values ``bulk_create`` would send (pickled fields were encoded already;
    datetimes go through the backend's own ``adapt_datetimefield_value``), without
    building a model instance per row or the ORM compiling every field of every row
    (profiled: most of the monitor's time under load)."""
    sql, names, converted = _insert_plan(connection)
    params = [[row[name] for name in names] for row in rows]
    for index, convert in converted:
        for values in params:
            values[index] = convert(values[index])
    return sql, params


def _insert_rows(db: str, sql: str, params: list[list]) -> None:
    """Run :func:`_insert_statement`'s ``INSERT`` with one ``executemany`` (500 rows at a
    time)."""
    with connections[db].cursor() as cursor:
        for start in range(0, len(params), 500):
            cursor.executemany(sql, params[start:start + 500])


def _insert_plan(connection) -> tuple[str, list[str], list[tuple[int, Callable]]]:
    """The ``INSERT`` statement for the result table, the attribute name of each column,
    and the columns whose values need converting (datetimes; pickled fields, a ``str``
    subclass, as plain ``str``)."""
    from djq.models import Task

    quote = connection.ops.quote_name
    fields = Task._meta.concrete_fields
    converted = []
    for index, field in enumerate(fields):
        if isinstance(field, DateTimeField):
            converted.append((index, connection.ops.adapt_datetimefield_value))
        elif isinstance(field, PickledObjectField):
            converted.append((index, _plain))
    sql = (f"INSERT INTO {quote(Task._meta.db_table)} "
           f"({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    return sql, [f.attname for f in fields], converted


def _plain(value: Any) -> Any:
    """A ``str`` subclass (picklefield's ``PickledObject``) as a plain ``str``."""
    return None if value is None else str(value)


def _prune_successes(db: str, limit: int) -> None:
    """Keep the newest ``limit`` successes: find the cut-off on the (success, stopped)
    index and delete below it."""
    from djq.models import Task

    cutoff = (Task.objects.using(db).filter(success=True).order_by("-stopped")
              .values_list("stopped", flat=True)[limit:limit + 1])
    cutoff = list(cutoff)
    if cutoff:
        Task.objects.using(db).filter(success=True, stopped__lte=cutoff[0]).delete()


def _save_cached(packages: list[dict], conf: Conf) -> None:
    """Cached results and their group indexes; every write is read back (a cache that
    drops writes raises :class:`CacheWriteLost` and the batch is retried)."""
    cache = result_cache(conf)
    written: dict[str, Any] = {}
    for package in packages:
        timeout = _timeout(package.get("cached"))
        key = cache_key(conf, package["id"])
        cache.set(key, cache_dict(package), timeout)
        written[key] = package["id"]
        if package.get("group"):
            gkey = group_key(conf, package["group"])
            members = cache.get(gkey) or []
            if package["id"] not in members:
                members.append(package["id"])
            cache.set(gkey, members, timeout)
            written[gkey] = package["id"]
    found = cache.get_many(list(written))
    for key, task_id in written.items():
        value = found.get(key)
        if value is None or (isinstance(value, list) and task_id not in value):
            raise CacheWriteLost(f"cache {conf.cache!r} lost the cached result of {task_id}")


def _timeout(cached: Any) -> int | None:
    if cached is True:
        return None
    return cached if isinstance(cached, int) and cached > 0 else None


def _collate_iters(packages: list[dict], conf: Conf) -> list[dict]:
    """Add iterable members' results to their sets, one cache read and write per set;
    return the collated packages of the sets that are now complete.

    Each write is read back: a lost write raises :class:`CacheWriteLost`, the caller does
    not acknowledge, and a retry finds the members not yet counted (ids are recorded, so
    a member is never counted twice).
    """
    cache = result_cache(conf)
    by_group: dict[str, list[dict]] = {}
    for package in packages:
        by_group.setdefault(package["group"], []).append(package)
    complete = []
    for group, members in by_group.items():
        key = iter_key(conf, group)
        state = cache.get(key) or {"args": [], "results": [], "failures": [], "ids": []}
        for package in members:
            if package["id"] in state["ids"]:
                continue  # a redelivered member already counted
            state["ids"].append(package["id"])
            state["args"].append(package.get("args"))
            state["results"].append(package.get("result"))
            if not package.get("success"):
                state["failures"].append(package.get("result"))
        last = members[-1]
        if len(state["ids"]) < last["iter_count"]:
            cache.set(key, state, None)
            stored = cache.get(key)
            if not stored or len(stored["ids"]) != len(state["ids"]):
                raise CacheWriteLost(f"iterable {group}: cache {conf.cache!r} lost a write")
            continue
        complete.append({
            "id": group, "name": last.get("iter_name") or group,
            "func": last["func"], "hook": None, "args": state["args"],
            "kwargs": last.get("kwargs"), "result": state["results"], "group": None,
            "started": min(p["started"] for p in members), "stopped": last["stopped"],
            "success": not state["failures"], "save": last.get("save"),
            "cached": last.get("iter_cached"), "attempt": 1, "iter_state": key,
        })
    return complete


# -- after the save ---------------------------------------------------------------------------
def after_save(package: dict, conf: Conf, broker: Any = None) -> None:
    """Run the hook, then enqueue the chain's next link. Errors here are logged only."""
    hook = package.get("hook")
    if hook:
        try:
            resolve(hook)(task_from_dict(cache_dict(package)))
        except Exception as exc:
            logger.error("Hook %s of task %s failed: %s", func_name(hook), package["id"],
                         format_error(exc))
    chain = package.get("chain")
    if chain:
        # The next link runs whether this one failed or not (the spec's behaviour):
        # each link is its own task; inspect the group's failures to stop early.
        from djq.tasks import async_chain

        try:
            async_chain(chain, group=package.get("group"), cached=package.get("cached"),
                        sync=package.get("sync"), broker=broker)
        except Exception as exc:
            logger.error("Could not enqueue the next link of chain %s: %s",
                         package.get("group"), format_error(exc))


def acknowledge_ids(packages: Iterable[dict]) -> list[Any]:
    return [p["ack_id"] for p in packages if p.get("ack_id") is not None]
