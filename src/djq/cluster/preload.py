"""Imported once by the pool's fork server (see :mod:`djq.cluster.context`).

Django is set up, and what every pool process imports next (the cluster's modules, the
plugins, the selected broker's module) is imported, before any process forks, so they
all share those pages. Then :func:`gc.freeze` moves everything to the permanent
generation: a collection in a child would otherwise write to every object's header and
copy the whole shared heap into each process (measured: the pusher and the monitor each
grew from ~5 to ~45 MB of private memory within seconds of starting).

Errors are left for the processes to raise (and log) through their own
``django.setup()``.
"""

import gc

try:
    import django

    django.setup()

    import djq.cluster.parcel  # noqa: F401
    import djq.cluster.pool  # noqa: F401 (pusher, worker, saver and their imports)
    import djq.results  # noqa: F401
    from djq.brokers import broker_class
    from djq.conf import conf
    from djq.plugins import plugins

    plugins.registry  # noqa: B018 (loads every plugin's entry point)
    broker_class(conf)
except Exception:  # pragma: no cover - reported by the pool's processes instead
    pass
gc.freeze()
