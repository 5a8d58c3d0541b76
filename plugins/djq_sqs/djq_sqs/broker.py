"""The Amazon SQS broker: one SQS queue per cluster, named after the cluster.

* **Receipts.** A receive hides the message for ``retry`` seconds (its visibility
  timeout); ``acknowledge`` deletes it by receipt handle, ``acknowledge_many`` with
  ``DeleteMessageBatch`` (ten per call). An unacknowledged message is visible again after
  ``retry`` and comes back with ``ApproximateReceiveCount`` one higher (``Delivery.attempt``).
* **fail / delete** discard the message, as for every djq broker: the core fails only
  packages that can never run (a bad signature, or a body that no longer unpacks after
  its ``Failure`` was recorded), so showing them again would only repeat that forever.
  :meth:`SqsBroker.release` is SQS's "visible again at once" for callers that want it.
* **Long polling.** ``dequeue`` waits up to ``receive_message_wait_time_seconds`` for
  work instead of busy polling; unset, the broker's ``max_wait``: 1 s, and up to SQS's
  20 s while the cluster idles (fewer empty receives, which SQS bills), the pusher
  interrupting the wait when it must stop.
* **Bulk** 1-10 per receive (SQS's limit; the core's check ``djq.E012`` rejects more).
* **FIFO queues** (a cluster name ending in ``.fifo``): ``MessageGroupId`` is the task's
  ``group`` or else the cluster name, so ungrouped tasks, and each group's tasks, are
  delivered in enqueue order; ``MessageDeduplicationId`` is the task id, so enqueueing one
  task twice within SQS's five-minute window queues it once.
* **Sizes** from ``ApproximateNumberOfMessages`` / ``...NotVisible``: SQS's counters are
  eventually consistent and may lag by a moment.

The queue is created on first use if missing (FIFO attributes for ``.fifo`` names).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from typing import Any, Iterable

from djq.brokers import Broker, Delivery
from djq.errors import BadSignature, ConfigurationError
from djq.registry import BrokerCapabilities
from djq_sqs.options import (MAX_BULK, MAX_MESSAGE_SIZE, MAX_VISIBILITY,
                             MAX_WAIT, is_fifo, sqs_options)

logger = logging.getLogger("djq")

CAPABILITIES = BrokerCapabilities(receipts=True, bulk=True, max_bulk=MAX_BULK, atomic=True,
                                  blocking=True, max_message_size=MAX_MESSAGE_SIZE,
                                  needs_cache=True)

SQS_ID = re.compile(r"^[!-~]{1,128}$")
NON_EXISTENT = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


def _error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


class SqsBroker(Broker):
    capabilities = CAPABILITIES

    def __init__(self, list_key: str | None = None, conf: Any = None) -> None:
        self._queue_url: str | None = None
        self._lock = threading.Lock()
        super().__init__(list_key, conf)

    # -- connection -------------------------------------------------------------------------
    @property
    def options(self) -> dict[str, Any]:
        return sqs_options(self.conf.raw)

    def get_connection(self, list_key: str | None = None):
        """A boto3 SQS client: the configured region and keys, else boto3's own chain
        (environment, ``~/.aws``, instance roles)."""
        import boto3
        from botocore.config import Config
        from botocore.exceptions import NoRegionError

        options = self.options
        session = boto3.session.Session(
            aws_access_key_id=options.get("aws_access_key_id"),
            aws_secret_access_key=options.get("aws_secret_access_key"),
            region_name=options.get("aws_region"))
        # The read timeout must outlast the longest long poll.
        config = Config(connect_timeout=5, read_timeout=self.longest_wait + 10,
                        retries={"max_attempts": 3, "mode": "standard"})
        try:
            return session.client("sqs", endpoint_url=options.get("endpoint_url"),
                                  config=config)
        except NoRegionError as exc:
            raise ConfigurationError(
                "The SQS broker needs an AWS region: set Q_CLUSTER['sqs']['aws_region'] "
                "or the AWS_DEFAULT_REGION environment variable.") from exc

    @property
    def client(self):
        if self.connection is None:
            self.connection = self.get_connection(self.list_key)
        return self.connection

    @property
    def wait_time(self) -> int:
        """``receive_message_wait_time_seconds`` if set, else the broker's ``max_wait``
        (1 s; longer while the cluster idles), in SQS's 1-20 s."""
        given = self._configured_wait()
        return given if given is not None else min(max(int(self.max_wait), 1), MAX_WAIT)

    @property
    def longest_wait(self) -> int:
        given = self._configured_wait()
        return given if given is not None else MAX_WAIT

    def _configured_wait(self) -> int | None:
        given = self.options.get("receive_message_wait_time_seconds")
        return int(given) if given is not None else None

    @property
    def fifo(self) -> bool:
        return is_fifo(self.list_key)

    @property
    def queue_url(self) -> str:
        """The queue's URL, creating the queue on first use if it does not exist."""
        if self._queue_url is None:
            with self._lock:
                if self._queue_url is None:
                    self._queue_url = self._find_queue() or self._create_queue()
        return self._queue_url

    def _find_queue(self) -> str | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_queue_url(QueueName=self.list_key)["QueueUrl"]
        except ClientError as exc:
            if _error_code(exc) in NON_EXISTENT:
                return None
            raise

    def _create_queue(self) -> str:
        attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} \
            if self.fifo else {}
        return self.client.create_queue(QueueName=self.list_key,
                                        Attributes=attributes)["QueueUrl"]

    def close(self) -> None:
        """Drop the client; the next call builds a new one (and looks the queue up)."""
        client, self.connection, self._queue_url = self.connection, None, None
        if client is not None:
            client.close()

    # -- queueing ---------------------------------------------------------------------------
    def _message(self, task: str) -> dict[str, Any]:
        """``SendMessage`` arguments for a package: FIFO ids read from its signed header."""
        if not self.fifo:
            return {"MessageBody": task}
        from djq import signing

        try:
            header, _ = signing.verify(task, self.conf)
        except BadSignature:  # not ours to read: still queued, grouped with the rest
            header = {}
        dedup = header.get("id") or hashlib.sha256(task.encode()).hexdigest()
        group = header.get("group") or self.list_key
        return {"MessageBody": task, "MessageGroupId": _sqs_id(group),
                "MessageDeduplicationId": _sqs_id(dedup)}

    def enqueue(self, task: str) -> str:
        return self.client.send_message(QueueUrl=self.queue_url,
                                        **self._message(task))["MessageId"]

    def enqueue_many(self, tasks: Iterable[str]) -> list[str]:
        """``SendMessageBatch``, ten per call (SQS's limit; 256 KB per call as well, so a
        chunk that would exceed it is sent as smaller batches)."""
        ids: list[str] = []
        for chunk in _chunks(list(tasks), MAX_BULK, MAX_MESSAGE_SIZE):
            entries = [{"Id": str(i), **self._message(t)} for i, t in enumerate(chunk)]
            response = self.client.send_message_batch(QueueUrl=self.queue_url,
                                                      Entries=entries)
            failed = response.get("Failed") or []
            if failed:
                raise RuntimeError(f"SQS refused {len(failed)} of {len(chunk)} messages: "
                                   f"{failed[0].get('Message') or failed[0].get('Code')}")
            by_id = {e["Id"]: e["MessageId"] for e in response.get("Successful", [])}
            ids += [by_id[str(i)] for i in range(len(chunk))]
        return ids

    def dequeue(self) -> list[Delivery] | None:
        response = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(self.bulk, MAX_BULK)),
            VisibilityTimeout=self.visibility_timeout,
            WaitTimeSeconds=self.wait_time,
            MessageSystemAttributeNames=["ApproximateReceiveCount"])
        messages = response.get("Messages") or []
        return [Delivery(m["ReceiptHandle"], m["Body"],
                         int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)))
                for m in messages] or None

    @property
    def visibility_timeout(self) -> int:
        """``retry`` as SQS's visibility timeout: whole seconds, 1 to 12 hours."""
        return min(max(math.ceil(float(self.conf.retry)), 1), MAX_VISIBILITY)

    # -- receipts ---------------------------------------------------------------------------
    def acknowledge(self, task_id: Any) -> None:
        self.delete(task_id)

    def acknowledge_many(self, task_ids: Iterable[Any]) -> None:
        """``DeleteMessageBatch``, ten receipt handles per call. A handle SQS refuses
        (it expired: the message was already handed out again) is logged; that message
        comes back, as at-least-once delivery allows."""
        handles = list(task_ids)
        for start in range(0, len(handles), MAX_BULK):
            chunk = handles[start:start + MAX_BULK]
            response = self.client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)])
            for failure in response.get("Failed") or []:
                logger.warning("SQS did not delete message %s: %s",
                               chunk[int(failure["Id"])][:40], failure.get("Message"))

    def fail(self, task_id: Any) -> None:
        self.delete(task_id)

    def release(self, task_id: Any) -> None:
        """Make a received message visible again at once (SQS's negative acknowledgement)."""
        self.client.change_message_visibility(QueueUrl=self.queue_url,
                                              ReceiptHandle=task_id, VisibilityTimeout=0)

    def delete(self, task_id: Any) -> None:
        self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=task_id)

    # -- queue management -------------------------------------------------------------------
    def purge_queue(self) -> None:
        """``PurgeQueue``. On AWS a purge may take up to a minute to complete, and a queue
        can be purged once every 60 seconds."""
        self.client.purge_queue(QueueUrl=self.queue_url)

    def delete_queue(self) -> None:
        """Delete the queue if it exists (AWS lets you recreate the name after 60 s)."""
        url = self._queue_url or self._find_queue()
        if url is not None:
            self.client.delete_queue(QueueUrl=url)
        self._queue_url = None

    def _counter(self, name: str) -> int:
        attributes = self.client.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=[name])["Attributes"]
        return int(attributes.get(name, 0))

    def queue_size(self) -> int:
        return self._counter("ApproximateNumberOfMessages")

    def lock_size(self) -> int:
        return self._counter("ApproximateNumberOfMessagesNotVisible")

    def ping(self) -> bool:
        """``True`` when SQS answers for this queue (errors propagate with their reason)."""
        self.client.get_queue_attributes(QueueUrl=self.queue_url,
                                         AttributeNames=["QueueArn"])
        return True

    def info(self) -> str:
        options = self.options
        where = options.get("endpoint_url") or self.client.meta.region_name or "aws"
        kind = "FIFO queue" if self.fifo else "queue"
        return f"Amazon SQS ({where}, {kind} {self.list_key!r})"


def _sqs_id(value: Any) -> str:
    """A FIFO group or deduplication id: SQS takes up to 128 printable ASCII characters;
    anything else is replaced by its SHA-256 (stable, so grouping still holds)."""
    text = str(value)
    if SQS_ID.match(text):
        return text
    return hashlib.sha256(text.encode()).hexdigest()


def _chunks(tasks: list[str], count: int, size: int) -> Iterable[list[str]]:
    """Consecutive runs of at most ``count`` tasks and ``size`` bytes in total."""
    chunk: list[str] = []
    total = 0
    for task in tasks:
        length = len(task.encode())
        if chunk and (len(chunk) == count or total + length > size):
            yield chunk
            chunk, total = [], 0
        chunk.append(task)
        total += length
    if chunk:
        yield chunk
