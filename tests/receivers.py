"""Local HTTP receivers standing in for Sentry and Rollbar in the reporter tests.

Each is a threaded ``http.server`` on 127.0.0.1 (a free port) that records what the real
SDKs POST: Sentry envelopes (``/api/<project>/envelope/``, gzip- or brotli-compressed) and
Rollbar items (``/api/1/item/``). Tests wait for what they expect with :meth:`Receiver.wait`.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from tests.services import free_port


class Receiver:
    """Records ``(path, headers, body)`` of every POST and answers 200 with ``reply``."""

    def __init__(self, reply: bytes = b"{}") -> None:
        self.requests: list[tuple[str, dict, bytes]] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.changed:
                    receiver.requests.append((self.path, dict(self.headers), body))
                    receiver.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def items(self) -> list[dict]:
        """Every decoded item received so far (subclasses decide what an item is)."""
        raise NotImplementedError

    def wait(self, predicate: Callable[[dict], bool], timeout: float = 20.0) -> dict:
        """The first received item ``predicate`` accepts; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [item for item in self.items() if predicate(item)]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"nothing matching arrived in {timeout}s; "
                                         f"received: {self.items()!r:.2000}")
                self.changed.wait(left)

    def clear(self) -> None:
        with self.changed:
            self.requests.clear()


class SentryReceiver(Receiver):
    """Sentry's envelope endpoint; ``dsn`` is for project 42."""

    @property
    def dsn(self) -> str:
        return f"http://key@127.0.0.1:{self.port}/42"

    def items(self) -> list[dict]:
        """The ``event`` items of every envelope POSTed to ``/api/42/envelope/``."""
        events = []
        for path, headers, body in self.requests:
            if path.split("?")[0] != "/api/42/envelope/":
                continue
            for item_header, payload in parse_envelope(decode(body, headers)):
                if item_header.get("type") == "event":
                    events.append(json.loads(payload))
        return events


class RollbarReceiver(Receiver):
    """Rollbar's item endpoint; ``endpoint`` is what ``rollbar.init`` takes."""

    def __init__(self) -> None:
        super().__init__(reply=b'{"err": 0, "result": {"uuid": "test"}}')

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/1/"

    def items(self) -> list[dict]:
        """The ``data`` of every item POSTed to ``/api/1/item/``."""
        return [json.loads(body)["data"] for path, _, body in self.requests
                if path.split("?")[0] == "/api/1/item/"]


def decode(body: bytes, headers: dict) -> bytes:
    encoding = {k.lower(): v for k, v in headers.items()}.get("content-encoding", "")
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":
        import brotli  # only when sentry-sdk found it installed, so it is there

        return brotli.decompress(body)
    return body


def parse_envelope(data: bytes) -> list[tuple[dict, bytes]]:
    """``[(item_header, payload)]`` of a Sentry envelope (header line, then items)."""
    _, _, rest = data.partition(b"\n")
    items = []
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        header = json.loads(line)
        if "length" in header:
            payload, rest = rest[:header["length"]], rest[header["length"]:]
            rest = rest[1:] if rest.startswith(b"\n") else rest
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((header, payload))
    return items


def closed_port() -> int:
    """A port nothing listens on (it was free a moment ago)."""
    return free_port()
