"""Task functions the tests enqueue by dotted path (``tests.tasks.<name>``)."""

import os
import time

hook_calls = []


def noop():
    return None


def add(a, b):
    return a + b


def boom(message="boom"):
    raise ValueError(message)


def sleep(seconds):
    time.sleep(seconds)
    return seconds


def record_hook(task):
    hook_calls.append(task)


def pid():
    return os.getpid()


def unpicklable():
    return lambda: None


def echo_group(group):
    return group


# -- cluster tests (tests/cluster) ------------------------------------------------------------
def pid_then_sleep(path, seconds):
    """Write this worker's pid to ``path`` (first run only), then sleep."""
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()


def kill_own_worker():
    """SIGKILL the worker running this task: it never finishes."""
    import signal

    os.kill(os.getpid(), signal.SIGKILL)
