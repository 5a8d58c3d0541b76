"""The monitor process (the spec's "Monitor"): save results in batches, then acknowledge.

A batch is whatever has arrived from the workers (and the sentinel) by the time the
previous one is saved (at least one result, at most about ``BATCH_SIZE``; see
:mod:`djq.cluster.inbox`). The batch is saved
with :func:`djq.results.save_results` (one transaction), and only then acknowledged on the
broker with one ``acknowledge_many`` — inside that transaction when the broker shares the
results' database, else from the :class:`~djq.cluster.acker.Acknowledger` thread while
the next batch is saved:

* successes always;
* failures when ``ack_failures`` or the task's ``ack_failure`` says so, or when the
  cluster recorded them itself as final (``ack``: max attempts, dead worker without
  receipts); unreadable packages are ``fail()``-ed instead.

If the batch cannot be saved (after ``SAVE_TRIES``), each result is retried alone so one bad result cannot
sink the others; what still fails is logged and left unacknowledged (it comes back).
Acknowledgements that fail (the broker is away) are retried with capped backoff
(:func:`acknowledge`).
"""

from __future__ import annotations

import logging
import os
import time
from multiprocessing import current_process, parent_process

from djq.cluster.acker import Acknowledger
from djq.cluster.context import bootstrap

logger = logging.getLogger("djq")

LINGER = 0.002
SAVE_TRIES = 3
ACK_RETRY_LIMIT = 30.0
ACK_BACKOFF_CAP = 5.0


def acknowledgeable(package: dict, conf) -> bool:
    if package.get("success") or package.get("ack"):
        return True
    return bool(conf.ack_failures or package.get("ack_failure"))


def ack_lists(saved: list[dict], conf) -> tuple[list, list]:
    """``(to acknowledge, to fail)``: broker receipts of saved packages, by the rules."""
    acks = [p["ack_id"] for p in saved if p.get("ack_id") is not None
            and not p.get("broker_fail") and acknowledgeable(p, conf)]
    fails = [p["ack_id"] for p in saved
             if p.get("broker_fail") and p.get("ack_id") is not None]
    return acks, fails


def shares_database(broker) -> bool:
    """Can the broker acknowledge inside the transaction that saves results?"""
    from django.db import router

    from djq.models import Task

    check = getattr(broker, "acknowledges_in", None)
    return bool(check and check(router.db_for_write(Task)))


def save_batch(batch: list[dict], broker, conf, reporters, ack=None) -> list[dict]:
    """Save, then acknowledge; returns the packages that were saved. ``ack(acks, fails)``
    sends the acknowledgements (default: :func:`acknowledge`, here and now)."""
    from django.db import close_old_connections

    from djq.cluster.reporting import report
    from djq.results import save_results

    notices = [p for p in batch if p.get("report_only")]  # reported, never saved or acked
    batch = [p for p in batch if not p.get("report_only")]
    saved = None
    acked: list[bool] = []

    def acknowledge_inside() -> None:
        # The broker keeps its queue in the results' database: the acknowledgement
        # commits with the results, or neither does (no result saved twice after a crash).
        acks, fails = ack_lists(batch, conf)
        if acks:
            broker.acknowledge_many(acks)
        for ack_id in fails:
            broker.fail(ack_id)
        acked.append(True)

    joint = acknowledge_inside if shares_database(broker) else None
    for attempt in range(SAVE_TRIES):
        acked.clear()
        try:
            save_results(batch, conf, broker=broker, in_transaction=joint)
            saved = batch
            break
        except Exception as exc:  # e.g. SQLite's "database is locked" under contention
            logger.warning("Saving %s results failed (try %s of %s): %r", len(batch),
                           attempt + 1, SAVE_TRIES, exc)
            close_old_connections()
            time.sleep(0.1 * (attempt + 1))
    if saved is None:
        logger.error("Saving a batch of %s results failed; saving them one by one", len(batch))
        saved = []
        for package in batch:
            try:
                save_results([package], conf, broker=broker)
                saved.append(package)
            except Exception as one_exc:
                logger.error("Could not save the result of task %s (%s): %r",
                             package.get("name"), package.get("id"), one_exc)
    if not (saved is batch and acked):
        if ack is None:
            acknowledge(broker, *ack_lists(saved, conf), conf)
        else:
            ack(*ack_lists(saved, conf))
    for package in saved:
        if not package.get("success"):
            logger.error("Failed [%s] - %s : %s", package.get("name"), package.get("id"),
                         str(package.get("result"))[:2000])
    report(reporters, saved + notices)
    return saved


def acknowledge(broker, acks: list, fails: list, conf) -> None:
    """``acknowledge_many(acks)`` and ``fail()`` each of ``fails``; while the broker is away
    (e.g. its server restarts), retry with capped exponential backoff for up to half of
    ``retry`` (at most ``ACK_RETRY_LIMIT`` s). Past that the packages are delivered again
    anyway: their results are saved, and a rerun keeps an earlier success."""
    from django.db import close_old_connections

    deadline = time.monotonic() + min(float(conf.retry) / 2, ACK_RETRY_LIMIT)
    delay, tries = 0.1, 0
    while acks or fails:
        tries += 1
        try:
            if acks:
                broker.acknowledge_many(acks)
                acks = []
            while fails:
                broker.fail(fails[0])
                fails = fails[1:]
            if tries > 1:
                logger.info("Acknowledged on the broker after %s tries", tries)
            return
        except Exception as exc:
            close_old_connections()
            left = deadline - time.monotonic()
            if left <= 0:  # unacknowledged work comes back after retry
                logger.error("Could not acknowledge %s tasks: %r", len(acks) + len(fails),
                             exc)
                return
            logger.warning("Could not acknowledge %s tasks (try %s): %r; retrying in %.1fs",
                           len(acks) + len(fails), tries, exc, min(delay, left))
            time.sleep(min(delay, left))
            delay = min(delay * 2, ACK_BACKOFF_CAP)


def saver(outlet, control, table, close=()) -> None:
    """Process target: save what the workers (and the sentinel, through ``outlet``) send
    until the sentinel's poison pill or its exit. ``control``: the sentinel's notes of new
    workers' pipes; ``table``: the :class:`~djq.cluster.slots.SlotTable`; ``close``:
    inherited descriptors of other processes."""
    for conn in close:
        conn.close()
    outlet.reading_end()
    control.receiver()
    bootstrap("monitor")
    from djq.brokers import get_broker
    from djq.cluster.inbox import Inbox
    from djq.cluster.reporting import build_reporters, close_reporters
    from djq.conf import conf

    name = current_process().name
    parent = parent_process()
    broker = get_broker()
    reporters = build_reporters(conf)
    acker = None
    if not shares_database(broker):
        acker = Acknowledger(lambda acks, fails: acknowledge(broker, acks, fails, conf))
    inbox = Inbox(outlet, control, table, parent)
    logger.info("%s monitoring at %s", name, os.getpid())
    linger = 0.0
    while True:
        batch, stop = inbox.collect(linger)
        if batch:
            save_batch(batch, broker, conf, reporters, acker.submit if acker else None)
        linger = LINGER if len(batch) > 1 else 0.0
        if stop or (not batch and parent is not None and not parent.is_alive()):
            break
    inbox.close()
    if acker is not None:
        acker.close()  # what is saved gets acknowledged before the monitor leaves
    close_reporters(reporters)  # deliver what they still hold, briefly
    broker.close()
    logger.info("%s stopped monitoring results", name)
