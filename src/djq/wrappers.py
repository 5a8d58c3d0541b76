"""Object wrappers over the task API: ``AsyncTask`` (alias ``Async``), ``Iter``, ``Chain``.

Import them from :mod:`djq.tasks`.
"""

from __future__ import annotations

from typing import Any

from djq.conf import conf


class AsyncTask:
    """A task kept in one object: set options as attributes, ``run()``, then ``result()``.

    Changing any parameter after a run invalidates the result until ``run()`` again.
    """

    _OPTIONS = ("hook", "group", "save", "sync", "cached", "timeout", "broker", "task_name",
                "ack_failure")

    def __init__(self, func: Any, *args: Any, **kwargs: Any) -> None:
        from djq.tasks import split_options

        self._options = split_options(kwargs)
        self._func, self._args, self._kwargs = func, args, kwargs
        self.id: str | None = None
        self.started = False

    def _changed(self) -> None:
        self.started = False

    func = property(lambda self: self._func,
                    lambda self, v: (setattr(self, "_func", v), self._changed()))
    args = property(lambda self: self._args,
                    lambda self, v: (setattr(self, "_args", tuple(v)), self._changed()))
    kwargs = property(lambda self: self._kwargs,
                      lambda self, v: (setattr(self, "_kwargs", dict(v)), self._changed()))

    def __getattr__(self, name: str) -> Any:
        if name in AsyncTask._OPTIONS:
            if name == "cached":
                return self._options.get(name, conf.cached)
            if name == "sync":
                return self._options.get(name, conf.sync)
            return self._options.get(name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in AsyncTask._OPTIONS:
            self._options[name] = value
            self._changed()
        else:
            super().__setattr__(name, value)

    def run(self) -> str:
        from djq.tasks import async_task

        self.id = async_task(self._func, *self._args, q_options=dict(self._options),
                             **self._kwargs)
        self.started = True
        return self.id

    def result(self, wait: int = 0) -> Any:
        from djq.tasks import result

        return result(self.id, wait=wait, cached=self.cached) if self.started else None

    def fetch(self, wait: int = 0) -> Any:
        from djq.tasks import fetch

        return fetch(self.id, wait=wait, cached=self.cached) if self.started else None

    def result_group(self, failures: bool = False, wait: int = 0,
                     count: int | None = None) -> Any:
        from djq.tasks import result_group

        if not self.started or not self.group:
            return None
        return result_group(self.group, failures=failures, wait=wait, count=count,
                            cached=self.cached)

    def fetch_group(self, failures: bool = True, wait: int = 0,
                    count: int | None = None) -> Any:
        from djq.tasks import fetch_group

        if not self.started or not self.group:
            return None
        return fetch_group(self.group, failures=failures, wait=wait, count=count,
                           cached=self.cached)


Async = AsyncTask


class Iter:
    """An ``async_iter`` in one object: ``append(*args)`` sets, ``run()``, ``result()``."""

    def __init__(self, func: Any = None, args: Any = None, kwargs: Any = None,
                 cached: Any = None, sync: bool | None = None, broker: Any = None) -> None:
        self.func = func
        self.args = [a if isinstance(a, tuple) else (a,) for a in (args or [])]
        self.kwargs = dict(kwargs or {})
        self.cached = conf.cached if cached is None else cached
        self.sync = conf.sync if sync is None else sync
        self.broker = broker
        self.id: str | None = None
        self.started = False

    def append(self, *args: Any) -> int:
        self.args.append(args)
        self.started = False
        return self.length()

    def run(self) -> str:
        from djq.tasks import async_iter

        options = {"cached": self.cached, "sync": self.sync, "broker": self.broker}
        self.id = async_iter(self.func, self.args, q_options=options, **self.kwargs)
        self.started = True
        return self.id

    def result(self, wait: int = 0) -> Any:
        from djq.tasks import result

        return result(self.id, wait=wait, cached=self.cached) if self.started else None

    def fetch(self, wait: int = 0) -> Any:
        from djq.tasks import fetch

        return fetch(self.id, wait=wait, cached=self.cached) if self.started else None

    def length(self) -> int:
        return len(self.args)


class Chain:
    """An ``async_chain`` in one object: ``append(func, *args, **kwargs)``, ``run()``."""

    def __init__(self, chain: list | None = None, group: str | None = None,
                 cached: Any = None, sync: bool | None = None, broker: Any = None) -> None:
        from djq.humanhash import uuid_and_name

        self.chain = list(chain or [])
        self.group = group or uuid_and_name()[0]
        self.cached = conf.cached if cached is None else cached
        self.sync = conf.sync if sync is None else sync
        self.broker = broker
        self.started = False

    def append(self, func: Any, *args: Any, **kwargs: Any) -> int:
        self.chain.append((func, args, kwargs))
        return self.length()

    def run(self) -> str:
        from djq.tasks import async_chain

        self.group = async_chain(self.chain, group=self.group, cached=self.cached,
                                 sync=self.sync, broker=self.broker)
        self.started = True
        return self.group

    def result(self, wait: int = 0) -> list | None:
        from djq.tasks import result_group

        if not self.started:
            return None
        return result_group(self.group, failures=True, wait=wait, count=self.length(),
                            cached=self.cached)

    def fetch(self, failures: bool = True, wait: int = 0) -> Any:
        from djq.tasks import fetch_group

        if not self.started:
            return None
        return fetch_group(self.group, failures=failures, wait=wait, count=self.length(),
                           cached=self.cached)

    def current(self) -> int | None:
        """Index of the link now running (the number of links already done)."""
        from djq.tasks import count_group

        if not self.started:
            return None
        return count_group(self.group, cached=self.cached)

    def length(self) -> int:
        return len(self.chain)
