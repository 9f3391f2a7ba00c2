"""A real webhook receiver on loopback that verifies every delivery with `standardwebhooks`.

It serves HTTP on 127.0.0.1 (a thread of `ThreadingHTTPServer`), checks each request's
signature with `standardwebhooks.Webhook(secret).verify` against the secrets it was given for
the path, and records what it got. A delivery whose signature does not verify is answered 400
and counted in `bad_signatures`, so a test that expects deliveries fails on a bad signature.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    path: str
    webhook_id: str
    event_type: str
    data: dict[str, Any]
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    server: ThreadingHTTPServer | None = None
    # path -> secrets to verify with (any one must match, as a receiver mid-rotation would).
    secrets: dict[str, list[str]] = field(default_factory=dict)
    # path -> status codes to answer next (then 204); e.g. [500, 500].
    answers: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    delay_seconds: float = 0.0
    # When set, every request waits for it (a receiver that hangs until the test lets it go).
    hold: threading.Event | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    bad_signatures: int = 0
    requests: int = 0
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    max_in_flight_same_id: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    received_any: threading.Event = field(default_factory=threading.Event)
    tls: bool = False

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        if self.tls:
            return f"https://localhost:{port}"
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def of(self, path: str) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.path == path]

    def types(self, path: str) -> list[str]:
        return [d.event_type for d in self.of(path)]

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return bool(predicate())

    def _handle(self, handler: BaseHTTPRequestHandler) -> tuple[int, bytes]:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        webhook_id = headers.get("webhook-id", "")
        with self.lock:
            self.requests += 1
            self.in_flight[webhook_id] += 1
            self.max_in_flight_same_id = max(self.max_in_flight_same_id, self.in_flight[webhook_id])
        self.received_any.set()
        try:
            if self.hold is not None:
                self.hold.wait(30)
            if self.delay_seconds:
                time.sleep(self.delay_seconds)
            path = handler.path
            with self.lock:
                queued = self.answers.get(path)
                if queued:
                    return queued.pop(0), b""
                secrets = list(self.secrets.get(path, []))
            payload = None
            for secret in secrets:
                try:
                    payload = Webhook(secret).verify(body, headers)
                    break
                except WebhookVerificationError:
                    continue
            if payload is None:
                with self.lock:
                    self.bad_signatures += 1
                return 400, b"bad signature"
            with self.lock:
                self.deliveries.append(
                    Delivery(
                        path=path,
                        webhook_id=webhook_id,
                        event_type=payload["type"],
                        data=payload["data"],
                        body=body,
                        headers=headers,
                    )
                )
            return 204, b""
        finally:
            with self.lock:
                self.in_flight[webhook_id] -= 1

    def start(self, tls: ssl.SSLContext | None = None) -> Receiver:
        """Serve on a free loopback port; with `tls`, as HTTPS (then `base_url` names localhost)."""
        receiver = self
        self.tls = tls is not None

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                status, reply = receiver._handle(self)
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("location", receiver.url("/redirected"))
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def body_json(delivery: Delivery) -> dict[str, Any]:
    return dict(json.loads(delivery.body))
