"""415 for a body that is not JSON on a route that reads a JSON body.

FastAPI parses a body sent as `text/plain` (or XML, or a form) as raw bytes and then answers a
422 that blames the fields; a client that sent the wrong media type should be told that
instead. The check is an app-wide dependency, so it runs before the route and nothing is
written. Routes that take forms or uploads, and routes that read their body themselves, are
left alone.
"""

from __future__ import annotations

from email.message import Message

from fastapi import Request, params
from fastapi.routing import APIRoute

from consent_service.errors import UnsupportedMediaType


def is_json_media_type(content_type: str) -> bool:
    """`application/json` or any `application/*+json`, parameters ignored."""
    message = Message()
    message["content-type"] = content_type
    main, sub = message.get_content_maintype(), message.get_content_subtype()
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def takes_json_body(route: APIRoute) -> bool:
    # The test FastAPI itself makes to decide between a JSON body and a form (fastapi.routing).
    # A body declared with another media type (`Body(media_type="text/plain")`, the witnesses'
    # cosignature notes) is that route's own business.
    body = route.body_field
    if body is None or isinstance(body.field_info, params.Form):
        return False
    return is_json_media_type(getattr(body.field_info, "media_type", "application/json"))


async def require_json_body(request: Request) -> None:
    """Refuse (415 `unsupported_media_type`) a non-JSON body on a JSON-body route."""
    content_type = request.headers.get("content-type")
    if content_type is None or is_json_media_type(content_type):
        return
    route = request.scope.get("route")
    if isinstance(route, APIRoute) and takes_json_body(route):
        raise UnsupportedMediaType("This route takes a JSON body: send it as application/json")
