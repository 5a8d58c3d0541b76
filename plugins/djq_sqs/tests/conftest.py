"""Fixtures for the SQS plugin's tests: a real SQS-protocol server (moto's), started once.

moto's server (``moto_sqs_server.py``: ``moto_server`` with atomic receives, see there) runs
on 127.0.0.1 on a free port for the session and is stopped at the end.
``DJQ_TEST_SQS_URL`` points the tests at another SQS-compatible endpoint instead (nothing is
started then). Without either, the tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from djq.testing import unique_queue
from tests.cluster.conftest import cluster_env, start_cluster  # noqa: F401  (fixtures)
from tests.services import free_port, require_service

LAUNCHER = Path(__file__).with_name("moto_sqs_server.py")
CREDENTIALS = {"aws_region": "us-east-1", "aws_access_key_id": "testing",
               "aws_secret_access_key": "testing"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: builds wheels and a virtualenv (tens of seconds; runs on CI)")


def _moto_python() -> str | None:
    """An interpreter with moto installed: this one, else the one of ``moto_server``."""
    if importlib.util.find_spec("moto") is not None:
        return sys.executable
    exe = shutil.which("moto_server")
    if exe is None:
        return None
    first = Path(exe).read_text(errors="replace").splitlines()[0]
    return first[2:].strip() if first.startswith("#!") else None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def sqs_endpoint(tmp_path_factory):
    """URL of a running SQS-protocol server for this session."""
    external = os.environ.get("DJQ_TEST_SQS_URL")
    if external:
        yield external
        return
    python = _moto_python()
    if python is None:
        require_service("moto_server (pip install 'moto[server]')", None)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    proc = subprocess.Popen([python, str(LAUNCHER), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _answers(url) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _answers(url):
            require_service(f"moto_server on {url} ({log.read_text()[-500:]!r})", None)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def sqs_options(sqs_endpoint):
    """``Q_CLUSTER['sqs']`` for the test server (dummy credentials)."""
    return {**CREDENTIALS, "endpoint_url": sqs_endpoint}


@pytest.fixture
def sqs_queue(sqs_options):
    """A unique queue name; the queue is deleted after the test."""
    from djq.testing import make_conf
    from djq_sqs.broker import SqsBroker

    name = unique_queue("djq-sqs")
    yield name
    broker = SqsBroker(name, make_conf(sqs=sqs_options))
    broker.delete_queue()
    broker.close()
