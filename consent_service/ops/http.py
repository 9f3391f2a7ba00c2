"""HTTP details that hold for every route: HEAD, and the public, browser-readable resources.

- **HEAD** (RFC 9110 §9.3.2): FastAPI routes a GET only for GET. `HeadAsGet` answers a HEAD
  as the GET of the same URL would, with the same status and headers, and no body.
- **Public resources** (the JWKS and the status lists): read by verifiers in browsers, so they
  carry CORS headers for GET (Starlette's `CORSMiddleware`, any origin, no credentials), and
  are gzip-compressed when the client asks (Starlette's `GZipMiddleware`). Both are applied to
  those paths only: the rest of the API is neither cross-origin readable nor compressed (a
  compressed response mixing a secret with reflected input is what BREACH exploits).
- **Content negotiation** (RFC 9110 §12.5.1): `negotiate()` picks the media type a resource
  answers with from its `Accept` header, or refuses with 406.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consent_service.errors import NotAcceptable

PUBLIC_RESOURCE_PREFIXES = ("/.well-known/jwks.json", "/v1/status-lists/")


class HeadAsGet:
    """Serve HEAD as GET without the body (headers, Content-Length included, are kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # drop the chunks; the last (empty) one ends the response
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


class PublicResources:
    """CORS for GET and gzip on request, for the public resources' paths only."""

    def __init__(self, app: ASGIApp, *, prefixes: tuple[str, ...] = PUBLIC_RESOURCE_PREFIXES):
        self.app = app
        self.prefixes = prefixes
        self.public = CORSMiddleware(
            GZipMiddleware(app, minimum_size=0),
            allow_origins=["*"],
            allow_methods=["GET", "HEAD"],
            allow_credentials=False,
            max_age=86400,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefixes):
            await self.public(scope, receive, send)
        else:
            await self.app(scope, receive, send)


# The API reference pages load everything from the app (fastapi-offline's packaged Swagger UI
# and ReDoc). The policy keeps it so: ReDoc's footer would otherwise fetch its logo from the
# vendor's CDN, telling a third party who reads the docs.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})


class DocsPolicy:
    """A Content-Security-Policy on the API reference pages: nothing from other origins."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in DOCS_PATHS:
            await self.app(scope, receive, send)
            return

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                policy = (b"content-security-policy", DOCS_POLICY.encode())
                headers = [*message.get("headers", []), policy]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_policy)


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))
    return ranges


def _admits(media: str, candidate: str) -> bool:
    if media in ("*/*", candidate):
        return True
    return media.endswith("/*") and media[:-1] == candidate.split("/")[0] + "/"


def negotiate(accept: str | None, offered: tuple[str, ...]) -> str:
    """The media type to answer with: the first of `offered` that `accept` admits.

    `accept` is the request's Accept header (None when absent: anything goes). A 406 problem
    when it admits none of them.
    """
    if accept is None or not accept.strip():
        return offered[0]
    wanted = [(media, q) for media, q in _media_ranges(accept) if q > 0]
    for candidate in offered:
        if any(_admits(media, candidate) for media, _q in wanted):
            return candidate
    raise NotAcceptable(f"This resource is served as {', '.join(offered)}")
