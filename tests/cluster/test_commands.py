"""``qmonitor`` in a pseudo-terminal, ``qinfo`` and ``qinfo --config``, and the
``Cluster`` API in process."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time

import pyte
import pytest
from django.core.management import call_command

from djq.cluster import Cluster
from djq.models import Task
from djq.status import Stat
from djq.tasks import async_task
from tests.cluster.conftest import ROOT, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def read_screen(fd, screen, stream, until, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                stream.feed(os.read(fd, 65536).decode(errors="replace"))
            except OSError:
                break
        text = "\n".join(screen.display)
        if until(text):
            return text
    pytest.fail("qmonitor did not show the expected screen:\n" + "\n".join(screen.display))


def test_qmonitor_in_a_pty(cluster_env):
    env = cluster_env(queue_limit=4)
    stat = Stat(cluster_id=4242, host="orion", workers=[1, 2, 3, 4], status="Working",
                task_q_size=4, done_q_size=1, reincarnations=2, queue_limit=4,
                tob=time.time() - 75)
    env.update(TERM="xterm-256color", COLUMNS="80", LINES="24")
    main, secondary = pty.openpty()
    os.set_blocking(main, True)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "django", "qmonitor"], cwd=ROOT,
                            env=env, stdin=secondary, stdout=secondary, stderr=secondary,
                            start_new_session=True)
    os.close(secondary)
    screen = pyte.Screen(80, 24)
    stream = pyte.Stream(screen)
    try:
        # Published again and again, as a sentinel would (a Stat expires in seconds).
        text = read_screen(main, screen, stream, lambda t: stat.save() or "orion" in t)
        header = next(line for line in text.splitlines() if line.startswith("Host"))
        assert header.split() == ["Host", "Id", "State", "Pool", "TQ", "RQ", "RC", "Up"]
        row = next(line for line in text.splitlines() if line.startswith("orion"))
        assert row.split()[:7] == ["orion", "4242", "Working", "4", "4", "1", "2"]
        assert row.split()[7].startswith(("0:01:", "0:02:"))
        # TQ at queue_limit is green (the spec); column TQ starts at 18+8+9+5 = 40.
        y = text.splitlines().index(row)
        assert screen.buffer[y][40].fg == "green" and screen.buffer[y][0].fg == "default"
        assert all(len(line.rstrip()) <= 80 for line in text.splitlines())
        assert "Press q to quit" in text
        os.write(main, b"q")
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)


def test_qinfo_summary(cluster_env):
    cluster_env()
    Stat(cluster_id=1, host="a", workers=[1, 2], reincarnations=1).save()
    Stat(cluster_id=2, host="b", workers=[3, 4, 5], reincarnations=2).save()
    async_task("tests.tasks.add", 1, 2, sync=True)
    async_task("tests.tasks.boom", sync=True)
    async_task("tests.tasks.add", 1, 2)  # queued on the broker
    out = io.StringIO()
    call_command("qinfo", stdout=out)
    text = out.getvalue()
    assert "-- djq summary --" in text
    cells = text.split()
    for label, value in (("Clusters", "2"), ("Workers", "5"), ("Restarts", "3"),
                         ("Queued", "1"), ("Successes", "1"), ("Failures", "1")):
        assert cells[cells.index(label) + 1] == value, label
    assert "Tasks/day" in cells and cells[cells.index("Tasks/day") + 1] == "2.0"
    assert "Avg" in cells and "Schedules" in cells


def test_task_rate_unit_adapts():
    from djq.cluster.info import task_rate

    assert task_rate(7 * 24) == ("Tasks/hour", 7.0)
    assert task_rate(86400 * 3) == ("Tasks/second", 3.0)
    assert task_rate(60 * 24 * 2) == ("Tasks/minute", 2.0)
    assert task_rate(5) == ("Tasks/day", 5.0)


def test_qinfo_config_masks_secrets(cluster_env, settings):
    cluster_env()
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 3, "error_reporter": {
        "rollbar": {"access_token": "tok-123", "environment": "prod"}},
        "redis": {"host": "h", "password": "pw-123"}, "sqs": {"aws_secret_access_key": "s"}}
    out = io.StringIO()
    call_command("qinfo", "--config", stdout=out)
    text = out.getvalue()
    assert '"workers": 3' in text and '"environment": "prod"' in text and '"host": "h"' in text
    assert "tok-123" not in text and "pw-123" not in text and '"s"' not in text
    assert text.count("********") == 3


def test_cluster_api_in_process(cluster_env, monkeypatch):
    env = cluster_env()
    for key in ("DJANGO_SETTINGS_MODULE", "DJQ_TEST_Q_CLUSTER", "DJQ_TEST_CACHE_DIR",
                "DJQ_TEST_DB"):
        monkeypatch.setenv(key, env[key])
    cluster = Cluster()
    assert not cluster.is_running and not cluster.has_stopped
    assert cluster.pid == os.getpid() and cluster.host and cluster.timeout is None
    cluster.start()
    try:
        assert cluster.is_running and not cluster.is_starting and not cluster.is_stopping
        assert cluster.start_event.is_set() and not cluster.stop_event.is_set()
        assert cluster.sentinel.is_alive()
        tid = async_task("tests.tasks.add", 2, 3)
        wait_for(lambda: Task.objects.filter(pk=tid).exists(), what="a result")
        stat = wait_for(lambda: (s := cluster.stat()) and s.sentinel == cluster.sentinel.pid
                        and s.workers and s)
        assert stat.cluster_id == cluster.pid and len(stat.workers) == 2
    finally:
        assert cluster.stop()
    assert cluster.has_stopped and not cluster.is_running
    assert cluster.stat().status == "Stopped"
