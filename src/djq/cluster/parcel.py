"""What travels from the pusher to a worker: a verified, still-serialized task.

The pusher checks each package's signature (an HMAC over the bytes, cheap) and passes the
payload on *without decoding it*: unpickling is the workers' job, done in parallel. A
:class:`Parcel` is the verified payload (header and body, both still encoded), the
broker's delivery receipt and its delivery count. The header (JSON: id, name, func,
group...) is decoded only when needed: the body holds all of it, and a package whose
body will not deserialize is recorded as a failure under its header's id.
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
    payload: str  # verified: "<b64 header>.<flag><b64 body>"

    @property
    def header(self) -> dict:
        return signing.header_of_payload(self.payload)

    @property
    def body(self) -> str:
        return self.payload.split(".", 1)[1]


def open_parcel(parcel: Parcel, conf) -> dict:
    """The package, with its receipt and delivery count.

    :raises signing.UnreadablePackage: the body does not deserialize.
    """
    package = signing.open_payload(parcel.payload, conf)
    package["ack_id"], package["attempt"] = parcel.ack_id, parcel.attempt
    return package


def package_of(parcel: Parcel, conf) -> dict:
    """The package for a failure the cluster records itself (timeout, dead worker,
    ``max_attempts``): decoded when it can be, else rebuilt from the header."""
    try:
        return open_parcel(parcel, conf)
    except signing.UnreadablePackage as exc:
        return failures.unreadable(exc.header, parcel.ack_id, parcel.attempt, str(exc))


def unreadable(parcel: Parcel, exc: signing.UnreadablePackage) -> dict:
    logger.error("Task package %s (task %s) cannot be unpacked: %s", parcel.ack_id,
                 exc.header.get("id"), exc)
    return failures.unreadable(exc.header, parcel.ack_id, parcel.attempt, str(exc))
