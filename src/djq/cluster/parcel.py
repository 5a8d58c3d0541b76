"""What travels from the pusher to a worker: a verified, still-serialized task.

The pusher checks each package's signature (an HMAC over the bytes, cheap) and passes the
body on *without deserializing it*: unpickling is the workers' job, done in parallel, and
the sentinel only moves bytes. A :class:`Parcel` is the verified header (JSON: id, name,
func, group...), the encoded body and the broker's delivery receipt and count.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from djq import signing
from djq.cluster import failures

logger = logging.getLogger("djq")


class Parcel(NamedTuple):
    ack_id: Any
    attempt: int
    header: dict
    body: str


def open_parcel(parcel: Parcel, conf) -> dict:
    """The package, with its receipt and delivery count.

    :raises signing.UnreadablePackage: the body does not deserialize.
    """
    package = signing.open_body(parcel.header, parcel.body, conf)
    package["ack_id"], package["attempt"] = parcel.ack_id, parcel.attempt
    return package


def package_of(parcel: Parcel, conf) -> dict:
    """The package for a failure the cluster records itself (timeout, dead worker,
    ``max_attempts``): decoded when it can be, else rebuilt from the header."""
    try:
        return open_parcel(parcel, conf)
    except signing.UnreadablePackage as exc:
        return failures.unreadable(parcel.header, parcel.ack_id, parcel.attempt, str(exc))


def unreadable(parcel: Parcel, exc: signing.UnreadablePackage) -> dict:
    logger.error("Task package %s (task %s) cannot be unpacked: %s", parcel.ack_id,
                 parcel.header.get("id"), exc)
    return failures.unreadable(parcel.header, parcel.ack_id, parcel.attempt, str(exc))
