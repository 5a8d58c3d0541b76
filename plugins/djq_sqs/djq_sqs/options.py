"""``Q_CLUSTER['sqs']``: the keys the SQS broker reads, their defaults and their checks.

The broker and the system checks (:mod:`djq_sqs.checks`) share this one table, so a key
the checks accept is a key the broker honours.
"""

from __future__ import annotations

import re
from typing import Any, Callable

#: Longest long-polling wait per receive SQS allows (seconds). Unless configured, a
#: receive waits the broker's ``max_wait`` (1 s; longer while a cluster idles).
MAX_WAIT = 20

#: SQS's limits.
MAX_BULK = 10
MAX_MESSAGE_SIZE = 256 * 1024
MAX_VISIBILITY = 12 * 3600
QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
FIFO_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,75}\.fifo$")


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _wait(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_WAIT


# key -> (test, what a valid value is)
KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "aws_region": (_text, "an AWS region name such as 'us-east-1'"),
    "aws_access_key_id": (_text, "an access key id (a non-empty string)"),
    "aws_secret_access_key": (_text, "a secret access key (a non-empty string)"),
    "endpoint_url": (lambda v: _text(v) and v.startswith(("http://", "https://")),
                     "an http:// or https:// URL"),
    "receive_message_wait_time_seconds": (_wait, "whole seconds from 0 to 20"),
}


def sqs_options(raw: dict) -> dict[str, Any]:
    """``Q_CLUSTER['sqs']`` as a dict (``None`` and ``{}`` mean boto3's own defaults)."""
    value = raw.get("sqs")
    return dict(value) if isinstance(value, dict) else {}


def is_fifo(queue_name: str) -> bool:
    return queue_name.endswith(".fifo")


def valid_queue_name(queue_name: str) -> bool:
    pattern = FIFO_QUEUE_NAME if is_fifo(queue_name) else QUEUE_NAME
    return bool(pattern.match(queue_name))
