"""A throwaway Django project for one benchmark case, written into a temp dir."""

from __future__ import annotations

import json
from pathlib import Path

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
'''

TASKS = '''
def noop():
    return None
'''


def database(kind: str, directory: Path, postgres_url: str | None) -> dict:
    if kind == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(directory / "bench.sqlite3"),
                # WAL: readers (the benchmark's poller) never block the cluster's writer.
                "OPTIONS": {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL;",
                            "transaction_mode": "IMMEDIATE"}}
    if kind == "postgres":
        from urllib.parse import urlparse

        if not postgres_url:
            raise SystemExit("the postgres case needs DJQ_TEST_POSTGRES_URL")
        u = urlparse(postgres_url)
        return {"ENGINE": "django.db.backends.postgresql", "NAME": u.path.lstrip("/"),
                "USER": u.username or "postgres", "PASSWORD": u.password or "",
                "HOST": u.hostname, "PORT": u.port}
    raise ValueError(kind)


def write_project(directory: Path, system: str, db: dict, workers: int) -> None:
    """``bench_settings.py`` and ``bench_tasks.py`` for djq (or django-q2, same shape)."""
    if system == "djq":
        apps, key = '"djq", "djq_orm"', "Q_CLUSTER"
        cluster = {"name": "bench", "workers": workers, "save_limit": 0, "timeout": 60,
                   "retry": 120, "log_level": "WARNING"}
    else:  # django-q2, configured for the ORM broker like djq
        apps, key = '"django_q"', "Q_CLUSTER"
        cluster = {"name": "bench", "workers": workers, "save_limit": 0, "timeout": 60,
                   "retry": 120, "orm": "default"}
    (directory / "bench_settings.py").write_text(SETTINGS.format(
        apps=apps, databases=json.dumps({"default": db}), cache_dir=str(directory / "cache"),
        cluster_setting=key, cluster=json.dumps(cluster)))
    (directory / "bench_tasks.py").write_text(TASKS)
