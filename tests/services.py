"""Access to the external services scripts/test starts for the test suite.

scripts/test starts throwaway servers (PostgreSQL now; Redis, moto, ... later)
and exports their URLs as DJQ_TEST_* environment variables. Tests look them up
here. A missing service skips the test on a developer machine, but fails it
under CI=true, so a broken CI setup can never pass by silently skipping.
"""

from __future__ import annotations

import os
import socket

import pytest


def on_ci() -> bool:
    return os.environ.get("CI") == "true"


def postgres_url() -> str | None:
    """postgresql://... of the throwaway server, or None if none is running."""
    return os.environ.get("DJQ_TEST_POSTGRES_URL") or None


def require_service(name: str, value: str | None, env_var: str | None = None) -> str:
    """Return ``value`` if the service is available; otherwise skip (fail on CI)."""
    if value:
        return value
    how = f"set {env_var} (scripts/test does)" if env_var else "run the tests via scripts/test"
    message = f"{name} not available: {how}"
    if on_ci():
        pytest.fail(f"{message} [CI=true, so this is an error]", pytrace=False)
    pytest.skip(message)


def require_postgres() -> str:
    return require_service("PostgreSQL", postgres_url(), "DJQ_TEST_POSTGRES_URL")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@pytest.fixture
def only_core_plugins(monkeypatch):
    """Load only the core and the ORM broker, as if no other plugin were installed."""
    from djq.plugins import plugins

    monkeypatch.setenv("DJQ_PLUGINS", "orm")
    plugins.reset()
    yield
    monkeypatch.delenv("DJQ_PLUGINS")
    plugins.reset()
