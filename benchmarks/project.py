"""A throwaway Django project for one benchmark case, written into a temp dir."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

SETTINGS = '''
import json
SECRET_KEY = "bench-not-secret"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", {apps}]
DATABASES = json.loads({databases!r})
CACHES = {{"default": {{"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                        "LOCATION": {cache_dir!r}}}}}
{cluster_setting} = json.loads({cluster!r})
LOGGING = {{"version": 1, "disable_existing_loggers": False,
            "root": {{"level": "WARNING"}}}}
{trace}'''

# ``--trace`` (djq only, tracing.py): the broker the case would use, subclassed; the
# settings import tracing so that every process of the case connects its signals.
TRACE = '''
BENCH_TRACE_BASE = {base!r}
import tracing  # noqa: E402,F401
'''


def trace_base(broker: str) -> str:
    """The broker class a traced case subclasses: Redis's, or the ORM broker."""
    return "djq_redis.broker.RedisBroker" if broker == "redis" else "djq_orm.broker.OrmBroker"


TASKS = '''
def noop():
    return None
'''


def database(kind: str, directory: Path, postgres_url: str | None) -> dict:
    """The result (and ORM queue) database. Persistent connections (``CONN_MAX_AGE: None``)
    for both systems: django-q2's ORM broker calls ``close_old_connections()`` before every
    queue query, which with Django's default ``CONN_MAX_AGE: 0`` reconnects each time (this
    alone cut its ORM throughput tenfold here)."""
    if kind == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(directory / "bench.sqlite3"),
                "CONN_MAX_AGE": None,
                # WAL: readers (the benchmark's poller) never block the cluster's writer.
                # synchronous=NORMAL, SQLite's advice for WAL (durable against crashes,
                # not power loss), for both systems: with the default FULL every commit
                # waits for an fsync (~0.5-5 ms here), which would measure the disk.
                "OPTIONS": {"timeout": 30,
                            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                            "transaction_mode": "IMMEDIATE"}}
    if kind in ("postgres", "postgres-prepared"):
        if not postgres_url:
            raise SystemExit("the postgres case needs DJQ_TEST_POSTGRES_URL")
        u = urlparse(postgres_url)
        db = {"ENGINE": "django.db.backends.postgresql", "NAME": u.path.lstrip("/"),
              "USER": u.username or "postgres", "PASSWORD": u.password or "",
              "HOST": u.hostname, "PORT": u.port, "CONN_MAX_AGE": None}
        if kind == "postgres-prepared":
            # Django's switches for a deployment without a transaction-pooling proxy (off
            # by default because such proxies may not support them): parameters bound on
            # the server, statements prepared after psycopg's default of 5 executions.
            # Both systems' every query, not only djq's.
            db["OPTIONS"] = PREPARED_OPTIONS
        return db
    raise ValueError(kind)


BROKERS = ("redis", "orm-sqlite", "orm-postgres", "orm-postgres-prepared")
PREPARED_OPTIONS = {"server_side_binding": True, "prepare_threshold": 5}


def result_db(broker: str) -> str:
    """The database kind results are saved to: the ORM broker's own, SQLite for Redis."""
    return broker[len("orm-"):] if broker.startswith("orm-postgres") else "sqlite"


def cluster_settings(system: str, broker: str, workers: int, redis_url: str | None = None,
                     queue_limit: int | None = None) -> tuple[list[str], dict]:
    """INSTALLED_APPS (after contenttypes and auth) and Q_CLUSTER for one case.

    Identical for both systems except where their settings differ: djq takes a Redis URL,
    django-q2 a dict of redis-py keywords; djq's ORM broker is the ``djq_orm`` app.
    """
    if broker not in BROKERS:
        raise ValueError(f"unknown broker {broker!r}, expected one of {', '.join(BROKERS)}")
    cluster = {"name": "bench", "workers": workers, "save_limit": 0, "timeout": 60,
               "retry": 120, "log_level": "WARNING"}
    if queue_limit:  # both systems read it the same way (default: workers ** 2)
        cluster["queue_limit"] = queue_limit
    if broker == "redis":
        if not redis_url:
            raise SystemExit("the redis case needs BENCH_REDIS_URL")
        if system == "djq":
            cluster["redis"] = redis_url
        else:
            u = urlparse(redis_url)
            cluster["redis"] = {"host": u.hostname, "port": u.port or 6379,
                                "db": int(u.path.lstrip("/") or 0)}
    else:
        cluster["orm"] = "default"
    if system == "djq":
        apps = ["djq"] if broker == "redis" else ["djq", "djq_orm"]
    else:
        apps = ["django_q"]
    return apps, cluster


def write_project(directory: Path, system: str, broker: str, db: dict, workers: int,
                  redis_url: str | None = None, queue_limit: int | None = None,
                  trace: bool = False) -> None:
    """``bench_settings.py`` and ``bench_tasks.py`` for djq or django-q2, same shape;
    ``trace``: djq's broker replaced by tracing.py's subclass of it."""
    apps, cluster = cluster_settings(system, broker, workers, redis_url, queue_limit)
    extra = ""
    if trace:
        if system != "djq":
            raise ValueError("only djq's cases can be traced")
        cluster["broker_class"] = "tracing.TracingBroker"
        extra = TRACE.format(base=trace_base(broker))
    (directory / "bench_settings.py").write_text(SETTINGS.format(
        apps=", ".join(repr(a) for a in apps), databases=json.dumps({"default": db}),
        cache_dir=str(directory / "cache"), cluster_setting="Q_CLUSTER",
        cluster=json.dumps(cluster), trace=extra))
    (directory / "bench_tasks.py").write_text(TASKS)
