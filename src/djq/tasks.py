"""The task API: ``async_task`` and friends, with the spec's signatures.

Options (``hook``, ``group``, ``save``, ``timeout``, ``sync``, ``cached``, ``broker``,
``ack_failure``, ``task_name``) are never passed to the task function; put them in
``q_options={...}`` to free those names for your function (``q_options`` wins).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Iterable

from django.utils import timezone

from djq import signals, signing
from djq.brokers import Broker, get_broker
from djq.conf import conf
from djq.errors import PackageTooLarge, SerializationError
from djq.execution import func_name, importable_path, run_package
from djq.humanhash import uuid_and_name
from djq.models import Task
from djq.results import (cache_key, group_key, result_cache, save_results, task_from_dict)

OPTIONS = ("hook", "group", "save", "sync", "cached", "ack_failure", "iter_count",
           "iter_cached", "iter_name", "chain", "broker", "timeout", "task_name")

_local = threading.local()


def default_broker() -> Broker:
    """One broker per thread for calls without ``broker=``, rebuilt when settings change
    (connection economy, as the spec recommends, without asking callers for it)."""
    cached = getattr(_local, "broker", None)
    if cached is None or cached[0] != conf.generation:
        _local.broker = (conf.generation, get_broker())
    return _local.broker[1]


def split_options(kwargs: dict) -> dict:
    """Take the task options out of ``kwargs`` (in place) and return them.

    An option named in ``q_options`` comes from there, and a keyword of the same name stays
    in ``kwargs`` for the task function (as in Django Q); other option names are options.
    """
    q_options = kwargs.pop("q_options", None)
    if not q_options:  # the common case, kept cheap: it runs once per enqueued task
        return {key: kwargs.pop(key) for key in OPTIONS if key in kwargs} if kwargs else {}
    options = {}
    for key in OPTIONS:
        if key in q_options:
            options[key] = q_options[key]
        elif key in kwargs:
            options[key] = kwargs.pop(key)
    return options


# -- enqueueing -------------------------------------------------------------------------------
def async_task(func: Any, *args: Any, **kwargs: Any) -> str:
    """Queue ``func(*args, **kwargs)`` for the cluster; return the task id."""
    options = split_options(kwargs)
    broker = options.pop("broker", None)
    tid, name = uuid_and_name()
    package = {
        "id": tid,
        "name": options.pop("task_name", None) or name,
        "func": func,
        "args": args,
        "kwargs": kwargs,
        "started": timezone.now(),
        "cached": options.pop("cached", conf.cached),
        "sync": options.pop("sync", None) or conf.sync,
    }
    package.update(options)
    if conf.serializer != "pickle":
        _paths_for_text_serializers(package)
    signals.pre_enqueue.send(sender="djq", task=package)
    signed = signing.dumps(package)
    if package["sync"]:
        return run_sync(signed, broker)
    broker = broker or default_broker()
    limit = broker.capabilities.max_message_size
    if limit and len(signed) > limit:
        raise PackageTooLarge(
            f"Task {func_name(func)} is {len(signed)} bytes signed, over the "
            f"{type(broker).__name__} limit of {limit} bytes. Pass smaller arguments "
            "(e.g. ids instead of objects) or set Q_CLUSTER['compress'] = True.")
    broker.enqueue(signed)
    return package["id"]


def _paths_for_text_serializers(package: dict) -> None:
    """Serializers other than pickle carry functions as dotted paths."""
    for key in ("func", "hook"):
        value = package.get(key)
        if value is not None and not isinstance(value, str):
            path = importable_path(value)
            if path is None:
                raise SerializationError(
                    f"{key}={value!r} is not importable by a dotted path; the "
                    f"{conf.serializer!r} serializer needs one (e.g. 'myapp.tasks.work').")
            package[key] = path


def run_sync(signed: str, broker: Broker | None = None) -> str:
    """Run a signed package inline through the cluster's own worker and saver code."""
    package = signing.loads(signed)
    package["attempt"] = 1
    run_package(package)
    save_results([package], broker=broker)
    from djq.cluster.reporting import report_inline  # error reporters, as the monitor does

    report_inline([package])
    return package["id"]


def _cached(cached: Any) -> bool:
    """``cached=None`` means the global ``Q_CLUSTER['cached']``."""
    return bool(conf.cached if cached is None else cached)


# -- results ----------------------------------------------------------------------------------
def _waited(wait: int, probe) -> Any:
    """Call ``probe`` until it returns something or ``wait`` ms pass (-1: forever)."""
    deadline = None if wait == -1 else time.monotonic() + max(wait, 0) / 1000
    delay = 0.005
    while True:
        value = probe()
        if value is not None or (deadline is not None and time.monotonic() >= deadline):
            return value
        time.sleep(delay if deadline is None else min(delay, max(0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.1)


def result(task_id: str, wait: int = 0, cached: bool | None = None) -> Any:
    """The result of a task (``None`` if not there yet); ``wait`` in ms, -1 forever."""
    task = fetch(task_id, wait=wait, cached=cached)
    return task.result if task is not None else None


def fetch(task_id: str, wait: int = 0, cached: bool | None = None) -> Task | None:
    """The ``Task`` of a task id or name; ``wait`` in ms, -1 forever."""
    if _cached(cached):
        return _waited(wait, lambda: _cached_task(task_id))
    return _waited(wait, lambda: Task.get_task(task_id))


def _cached_task(task_id: str) -> Task | None:
    data = result_cache(conf).get(cache_key(conf, task_id))
    return task_from_dict(data) if data else None


def queue_size(broker: Broker | None = None) -> int:
    """Packages waiting on the broker (not counting those being processed)."""
    return (broker or default_broker()).queue_size()


def delete_cached(task_id: str, broker: Broker | None = None) -> None:
    """Delete a cached result (and, for a group id, its members)."""
    cache = result_cache(conf)
    members = cache.get(group_key(conf, task_id))
    if members:
        cache.delete_many([cache_key(conf, m) for m in members])
        cache.delete(group_key(conf, task_id))
    cache.delete(cache_key(conf, task_id))


# -- groups -----------------------------------------------------------------------------------
def result_group(group_id: str, failures: bool = False, wait: int = 0,
                 count: int | None = None, cached: bool | None = None) -> list | None:
    """The results of a group; with ``count``, block (up to ``wait`` ms) until that many."""
    tasks = fetch_group(group_id, failures=failures, wait=wait, count=count, cached=cached)
    if tasks is None:
        return None
    return [t.result for t in tasks]


def fetch_group(group_id: str, failures: bool = True, wait: int = 0,
                count: int | None = None, cached: bool | None = None):
    """The ``Task`` objects of a group (a queryset, or a list when ``cached``)."""
    cached = _cached(cached)

    def probe():
        if count is not None and count_group(group_id, cached=cached) < count:
            return None
        tasks = _cached_group(group_id) if cached else Task.get_task_group(group_id, failures)
        if cached and not failures:
            tasks = [t for t in tasks if t.success]
        if not cached:
            tasks = tasks.order_by("started")
        return tasks if (count is not None or len(tasks)) else None

    return _waited(wait, probe) if (wait or count is not None) else probe()


def _cached_group(group_id: str) -> list[Task]:
    cache = result_cache(conf)
    members = cache.get(group_key(conf, group_id)) or []
    found = cache.get_many([cache_key(conf, m) for m in members])
    tasks = [task_from_dict(found[k]) for k in (cache_key(conf, m) for m in members)
             if k in found]
    return sorted(tasks, key=lambda t: t.started)


def count_group(group_id: str, failures: bool = False, cached: bool | None = None) -> int:
    """How many results a group has (failures only with ``failures=True``)."""
    if _cached(cached):
        tasks = _cached_group(group_id)
        return sum(1 for t in tasks if not t.success) if failures else len(tasks)
    return Task.get_group_count(group_id, failures)


def delete_group(group_id: str, tasks: bool = False, cached: bool | None = None) -> int:
    """Remove a group label (and its tasks with ``tasks=True``); the number affected."""
    if _cached(cached):
        cache = result_cache(conf)
        members = cache.get(group_key(conf, group_id)) or []
        if tasks:
            cache.delete_many([cache_key(conf, m) for m in members])
        cache.delete(group_key(conf, group_id))
        return len(members)
    return Task.delete_group(group_id, tasks)


# -- iterables and chains ---------------------------------------------------------------------
def async_iter(func: Any, args_iter: Iterable[Any], **kwargs: Any) -> str:
    """Queue ``func`` once per item of ``args_iter``; the collated list of results is
    saved as one result under the returned id. Accepts async_task's options but ``hook``.
    """
    options = split_options(kwargs)
    options.pop("hook", None)
    iter_id, iter_name = uuid_and_name()
    arg_sets = [a if isinstance(a, tuple) else (a,) for a in args_iter]
    broker = options.pop("broker", None)
    sync = options.pop("sync", None) or conf.sync
    if not sync:
        broker = broker or default_broker()
    member_options = {
        **options,
        "group": iter_id,
        "iter_count": len(arg_sets),
        "iter_cached": options.pop("cached", conf.cached),
        "iter_name": options.pop("task_name", None) or iter_name,
        "cached": False,
        "sync": sync,
        "broker": broker,
    }
    for args in arg_sets:
        async_task(func, *args, q_options=member_options, **kwargs)
    return iter_id


def async_chain(chain: list, group: str | None = None, cached: Any = None,
                sync: bool | None = None, broker: Broker | None = None) -> str:
    """Queue a chain ``[(func, (args), {kwargs}), ...]``: each link is enqueued after the
    previous one's result is saved. Returns the chain's group id."""
    cached = conf.cached if cached is None else cached
    sync = conf.sync if sync is None else sync
    if not chain:
        raise ValueError("async_chain needs at least one task")
    if not group:
        group = uuid_and_name()[0]
    link, rest = chain[0], list(chain[1:])
    func = link[0]
    args = tuple(link[1]) if len(link) > 1 and link[1] is not None else ()
    kwargs = dict(link[2]) if len(link) > 2 and link[2] else {}
    async_task(func, *args, q_options={"chain": rest, "group": group, "cached": cached,
                                       "sync": sync, "broker": broker}, **kwargs)
    return group


from djq.wrappers import Async, AsyncTask, Chain, Iter  # noqa: E402  (they use the above)
from djq.schedules.create import schedule  # noqa: E402

__all__ = ["async_task", "AsyncTask", "Async", "result", "fetch", "queue_size",
           "delete_cached", "result_group", "fetch_group", "count_group", "delete_group",
           "async_iter", "Iter", "async_chain", "Chain", "run_sync", "schedule"]
