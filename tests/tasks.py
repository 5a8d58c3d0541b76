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
