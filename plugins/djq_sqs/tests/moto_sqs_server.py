"""``moto_server`` with one fix for the tests: an SQS receive is atomic, as on AWS.

moto's server is threaded, and its ``receive_message`` checks a message's visibility and
marks it received without a lock, so two concurrent receives can both take one message.
Real SQS hides a received message from every other consumer; the broker conformance kit
(concurrent consumers, no duplicates inside ``retry``) tests exactly that, so it needs a
server that does it. Receives are serialized here, except while one long-polls an empty
queue (the lock is released around that wait). Everything else is moto, unchanged.

Usage (what ``conftest.py`` runs): ``python moto_sqs_server.py -H 127.0.0.1 -p PORT``.
"""

from __future__ import annotations

import sys
import threading

from moto.server import main
from moto.sqs.models import Queue, SQSBackend

RECEIVE = threading.RLock()
_receive = SQSBackend.receive_message
_wait = Queue.wait_for_messages


def receive_message(self, *args, **kwargs):
    with RECEIVE:
        return _receive(self, *args, **kwargs)


def wait_for_messages(self, timeout):
    RECEIVE.release()  # long-polling an empty queue: let other receives run meanwhile
    try:
        return _wait(self, timeout)
    finally:
        RECEIVE.acquire()


SQSBackend.receive_message = receive_message
Queue.wait_for_messages = wait_for_messages

if __name__ == "__main__":
    main(sys.argv[1:])
