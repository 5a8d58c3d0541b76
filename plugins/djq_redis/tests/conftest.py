"""Fixtures for djq-redis: a throwaway ``redis-server``, and real clusters on it.

The session's server runs on 127.0.0.1 on a free port with no persistence
(``--save "" --appendonly no``) and is stopped at the end. ``DJQ_TEST_REDIS_URL`` points
the tests at another server instead; either way the tests refuse a database that
is not empty (they delete what they create, and must never touch someone's data).
Without ``redis-server`` and without the URL the tests skip (and fail under ``CI=true``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connections

from tests.cluster.conftest import start_cluster, wait_for  # noqa: F401 - fixture
from tests.services import free_port, require_service

ROOT = Path(__file__).resolve().parents[3]


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1; ``persistent`` adds an fsync'ed AOF so
    its data survives ``kill -9`` and a restart on the same port and directory."""

    def __init__(self, directory: Path, persistent: bool = False) -> None:
        self.directory = directory
        self.port = free_port()
        self.persistent = persistent
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def settings(self) -> dict:
        """``Q_CLUSTER['redis']`` for this server."""
        return {"host": "127.0.0.1", "port": self.port, "db": 0}

    def start(self) -> RedisServer:
        persistence = (["--appendonly", "yes", "--appendfsync", "always"]
                       if self.persistent else ["--appendonly", "no"])
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", *persistence, "--dir", str(self.directory),
             "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 10.0) -> None:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if client.ping():
                    client.close()
                    return
            except redis.exceptions.RedisError:  # not up yet, or still loading
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None


def _require_empty(client, where: str) -> None:
    size = client.dbsize()
    if size:
        pytest.fail(f"the Redis database at {where} holds {size} keys; djq's tests refuse "
                    "to share a database (use an empty one)", pytrace=False)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """``Q_CLUSTER['redis']`` of the session's empty test database (dict or URL)."""
    import redis

    url = os.environ.get("DJQ_TEST_REDIS_URL")
    if url:
        client = redis.Redis.from_url(url)
        _require_empty(client, url)
        yield url
        client.flushdb()  # only what the tests made: the database was empty
        client.close()
        return
    require_service("redis-server", shutil.which("redis-server"), "DJQ_TEST_REDIS_URL")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    client = redis.Redis(host="127.0.0.1", port=server.port)
    _require_empty(client, server.url)
    client.close()
    try:
        yield server.settings
    finally:
        server.stop()


@pytest.fixture
def redis_client(redis_server):
    import redis

    if isinstance(redis_server, str):
        client = redis.Redis.from_url(redis_server)
    else:
        client = redis.Redis(**redis_server)
    yield client
    client.close()


@pytest.fixture
def own_redis_server(tmp_path):
    """A persistent server of this test's own, for tests that stop and restart it."""
    require_service("redis-server", shutil.which("redis-server"))
    server = RedisServer(tmp_path / "redis-own", persistent=True).start()
    yield server
    server.stop(signal.SIGKILL)


# -- clusters ---------------------------------------------------------------------------------
@pytest.fixture
def redis_cluster_env(tmp_path, settings, redis_server):
    """``configure(redis=..., **q_cluster)`` -> environment for a ``qcluster`` on Redis,
    using ``tests.cluster.cluster_settings`` (JSON ``Q_CLUSTER``, this run's SQLite test
    database); the test process gets the same ``Q_CLUSTER``. Every worker appends
    ``pre_execute``/``post_execute <task id> <pid>`` lines to ``tmp_path/signals.log``."""

    def configure(redis=None, **options):
        q = {"name": f"djq-redis-{tmp_path.name[-24:]}", "workers": 2, "guard_cycle": 0.2,
             "retry": 30, "redis": redis or redis_server, **options}
        settings.Q_CLUSTER = q
        settings.CACHES = {"default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache")}}
        return {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.cluster.cluster_settings",
                "DJQ_TEST_Q_CLUSTER": json.dumps(q),
                "DJQ_TEST_CACHE_DIR": str(tmp_path / "cache"),
                "DJQ_TEST_SIGNAL_LOG": str(tmp_path / "signals.log"),
                "DJQ_TEST_DB": connections["default"].settings_dict["NAME"],
                "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}

    return configure


@pytest.fixture
def start_redis_cluster(start_cluster):
    """The core cluster tests' starter (own process group, killed at teardown)."""
    return start_cluster
