"""Settings for cluster processes started by the tests: ``tests.settings`` pointed at the
test run's database and a file cache, both passed in the environment.

* ``DJQ_TEST_DB``: the SQLite file of the test database (or, with ``DJQ_TEST_PG_NAME``,
  the PostgreSQL test database name: then ``default`` and ``pg`` both use it).
* ``DJQ_TEST_PG_PREPARED``: set, ``default`` is ``pg_prepared`` (prepared statements).
* ``DJQ_TEST_Q_CLUSTER``: ``Q_CLUSTER`` as JSON.
* ``DJQ_TEST_CACHE_DIR``: a directory for the shared file cache (stats, cached results).
* ``DJQ_TEST_SIGNAL_LOG``: a file each worker appends signal names to.
* ``DJQ_TEST_BACKGROUND_THREAD``: start a thread at import, as some SDKs do.
"""

import json
import os

from tests.settings import *  # noqa: F401,F403
from tests.settings import DATABASES

if os.environ.get("DJQ_TEST_PG_NAME"):
    for alias in ("pg", "pg_prepared"):
        DATABASES[alias]["NAME"] = os.environ["DJQ_TEST_PG_NAME"]
    DATABASES["default"] = dict(DATABASES["pg_prepared" if os.environ.get("DJQ_TEST_PG_PREPARED")
                                          else "pg"])
elif os.environ.get("DJQ_TEST_DB"):
    DATABASES["default"]["NAME"] = os.environ["DJQ_TEST_DB"]

if os.environ.get("DJQ_TEST_CACHE_DIR"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": os.environ["DJQ_TEST_CACHE_DIR"]}}

Q_CLUSTER = json.loads(os.environ.get("DJQ_TEST_Q_CLUSTER") or '{"name": "djq-tests"}')

if os.environ.get("DJQ_TEST_SIGNAL_LOG"):
    from djq import signals

    def _log(name):
        def receiver(sender, task=None, **kwargs):
            with open(os.environ["DJQ_TEST_SIGNAL_LOG"], "a") as f:
                f.write(f"{name} {task['id']} {os.getpid()}\n")
        return receiver

    _pre, _post = _log("pre_execute"), _log("post_execute")
    signals.pre_execute.connect(_pre, weak=False)
    signals.post_execute.connect(_post, weak=False)

if os.environ.get("DJQ_TEST_BACKGROUND_THREAD"):
    # What an SDK set up in the settings does (a background sender thread): the sentinel
    # then runs threads, and its pool comes from the fork server instead of fork().
    import threading
    import time

    threading.Thread(target=time.sleep, args=(10**6,), name="sdk-sender", daemon=True).start()
