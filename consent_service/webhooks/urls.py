"""Where a webhook may point: https, and only to public addresses (no SSRF into the network).

A URL is checked when an endpoint is created and again at every delivery (DNS may have changed
since: a name that resolved to a public address may now resolve to 10.0.0.1). At delivery the
name is resolved once, every address is checked, and the connection goes to a checked address
(the TLS handshake still verifies the certificate for the name), so a second lookup between the
check and the connect cannot swap in another address. Redirects are never followed.

Outside production (`Settings.webhook_private_urls_allowed`) plain http and loopback or
private addresses are allowed, for development receivers and tests.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from consent_service.errors import DomainError


class InvalidWebhookUrl(DomainError):
    code, status, title = (
        "invalid_webhook_url",
        422,
        "The webhook URL is not an absolute http(s) URL",
    )


class WebhookUrlNotAllowed(DomainError):
    code, status, title = (
        "webhook_url_not_allowed",
        422,
        "The webhook URL must be https and resolve only to public addresses",
    )


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # the name (or literal address) from the URL, without brackets
    port: int
    addresses: tuple[str, ...]  # resolved and checked, in resolver order


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an absolute http(s) URL without credentials, or InvalidWebhookUrl."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidWebhookUrl(str(exc)) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl("Give an absolute URL such as https://hooks.example.com/consent")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("The URL must not carry credentials")
    if any(c.isspace() for c in url):
        raise InvalidWebhookUrl("The URL must not contain spaces")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def is_public(address: str) -> bool:
    """True for a globally routable unicast address (not loopback, private, link-local, ...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address `host` resolves to (a literal address resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookUrlNotAllowed(f"The host does not resolve ({type(exc).__name__})") from exc
    seen: dict[str, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        seen[str(sockaddr[0])] = None
    if not seen:
        raise WebhookUrlNotAllowed("The host does not resolve")
    return tuple(seen)


def check(url: str, *, allow_private: bool) -> Target:
    """Check a webhook URL and resolve it; every resolved address must be allowed.

    1. An absolute http(s) URL without credentials.
    2. https, unless private targets are allowed (outside production).
    3. The host resolves, and every address it resolves to is public, unless allowed.
    """
    scheme, host, port = parse(url)
    if scheme != "https" and not allow_private:
        raise WebhookUrlNotAllowed("Webhook URLs must use https")
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise WebhookUrlNotAllowed(
                    "The host resolves to a loopback, private or link-local address"
                )
    return Target(scheme=scheme, host=host, port=port, addresses=addresses)
