"""The OS-visible process names (djq.cluster.prctl), in a child so the test run keeps its own."""

from __future__ import annotations

import multiprocessing
import sys

import pytest

from djq.cluster import prctl

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux-only")


def _rename(name, out):
    before = prctl.task_name()
    ok = prctl.set_task_name(name)
    out.send((before, ok, prctl.task_name()))


@linux
def test_set_task_name_reads_back_cut_to_fifteen_bytes():
    receive, send = multiprocessing.get_context("fork").Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(
        target=_rename, args=("djq-a-very-long-role-name", send))
    child.start()
    before, ok, after = receive.recv()
    child.join()
    assert before and ok
    assert after == "djq-a-very-long"  # the kernel's comm: 15 bytes


def test_every_role_has_a_name_that_fits():
    assert set(prctl.NAMES) == {"sentinel", "pusher", "monitor", "worker", "forkserver"}
    assert all(len(name.encode()) <= prctl.NAME_BYTES for name in prctl.NAMES.values())
