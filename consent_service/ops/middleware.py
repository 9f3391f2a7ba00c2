"""ASGI middleware: request ids, body size limit, structured access log, Prometheus metrics.

The access log carries the route *template* (`/v1/holders/{holder_id}`), never the query string,
headers, credentials or bodies: no personal data or secrets reach the logs.
"""

from __future__ import annotations

import itertools
import json
import logging
import secrets
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consent_service.errors import (
    PROBLEM_JSON,
    InvalidCharacters,
    PayloadTooLarge,
    problem_type,
)

log = logging.getLogger("consent_service.access")

REQUESTS = Counter("consent_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "consent_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _request_id_source() -> Iterator[str]:
    # A random per-process prefix and a counter: unique across replicas, and no system call
    # for randomness on every request (the verify hot path).
    prefix = secrets.token_hex(5)
    return (f"{prefix}{n:06x}" for n in itertools.count())


_request_ids = _request_id_source()


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` when a body passes its limit; FastAPI maps it to a 413 problem."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The body exceeds the limit of {limit} bytes for this route")


class RequestMiddleware:
    """One pure ASGI middleware, so that streaming responses are not buffered."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        large_body_paths: dict[str, int],
        problem_base: str = "",
    ):
        self.app = app
        self.problem_base = problem_base  # problem `type` URIs are absolute (errors.problem_type)
        self.max_body_bytes = max_body_bytes
        # Path suffix -> limit, for upload routes that take more than JSON bodies do.
        self.large_body_paths = large_body_paths

    def _limit_for(self, path: str) -> int:
        for suffix, limit in self.large_body_paths.items():
            if path.endswith(suffix):
                return limit
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = next(_request_ids)
        started = time.perf_counter()
        limit = self._limit_for(scope["path"])
        status_holder: dict[str, Any] = {"status": 500, "started": False}

        if (
            "\x00" in scope["path"]
            or b"\x00" in scope.get("query_string", b"")
            or (b"%00" in scope.get("query_string", b""))
        ):
            await self._problem(
                send, 400, "invalid_characters", "The URL contains a NUL character", request_id
            )
            self._log(scope, 400, started, request_id)
            return

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(send, limit, request_id)
            self._log(scope, 413, started, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_wrapper)
        except BodyTooLarge:
            if not status_holder["started"]:
                await self._too_large(send, limit, request_id)
            status_holder["status"] = 413
        finally:
            self._log(scope, status_holder["status"], started, request_id)

    async def _too_large(self, send: Send, limit: int, request_id: str) -> None:
        detail = f"The body exceeds the limit of {limit} bytes for this route"
        await self._problem(send, 413, "payload_too_large", detail, request_id)

    async def _problem(
        self, send: Send, status: int, code: str, detail: str, request_id: str
    ) -> None:
        titles = {413: PayloadTooLarge.title, 400: InvalidCharacters.title}
        body = json.dumps(
            {
                "type": problem_type(self.problem_base, code),
                "title": titles.get(status, "Request cannot be processed"),
                "status": status,
                "detail": detail,
                "code": code,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _log(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        REQUESTS.labels(method, template, str(status)).inc()
        LATENCY.labels(method, template).observe(elapsed)
        log.info(
            "request",
            extra={
                "event": {
                    "request_id": request_id,
                    "method": method,
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                }
            },
        )


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        event = getattr(record, "event", None)
        if isinstance(event, dict):
            doc.update(event)
        if record.exc_info and record.exc_info[0] is not None:
            doc["exception"] = record.exc_info[0].__name__
        return json.dumps(doc)


def configure_logging(level: str) -> None:
    root = logging.getLogger("consent_service")
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
