"""The outbox channel that delivers webhooks (Standard Webhooks format, `standardwebhooks`).

`prepare` (in the worker's short read session) looks the endpoint up, builds the JSON body
`{"type", "timestamp", "data"}` and signs it with the endpoint's secret(s) through
`standardwebhooks.Webhook.sign`; `send` (no session open) checks the URL again, connects to a
checked address only and posts the body. Any 2xx is success; redirects are not followed (a 3xx
is a failure); 429/503 `Retry-After` is passed on to the outbox's backoff.
"""

from __future__ import annotations

import json
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlmodel import Session
from standardwebhooks import Webhook

from consent_service.crypto.keyring import Keyring
from consent_service.db import rfc3339, utcnow
from consent_service.outbox.channels import Outcome
from consent_service.outbox.models import OutboxMessage
from consent_service.webhooks import repository, service, urls
from consent_service.webhooks.models import EndpointStatus

log = logging.getLogger("consent_service.webhooks")

USER_AGENT = "consent-service-webhooks/1"


@dataclass(frozen=True, slots=True)
class PreparedDelivery:
    url: str
    headers: dict[str, str]
    body: bytes


def sign_headers(
    secrets: list[str], *, message_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The three Standard Webhooks headers; one `v1,` signature per secret, space-separated."""
    signatures = [
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)
        for secret in secrets
    ]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class WebhookChannel:
    name = service.CHANNEL
    max_age = timedelta(days=3)

    def __init__(
        self,
        *,
        keyring: Keyring,
        timeout_seconds: float,
        allow_private: bool,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.keyring = keyring
        self.timeout_seconds = timeout_seconds
        self.allow_private = allow_private
        # TLS trust: the system's CAs (True); tests pass a context trusting their own CA.
        self.verify = verify

    def prepare(self, session: Session, message: OutboxMessage) -> PreparedDelivery | None:
        endpoint = repository.get(session, message.destination)
        if endpoint is None or endpoint.status != EndpointStatus.enabled.value:
            return None  # deleted or disabled: cancelled, not retried
        # Sign at send time (not enqueue time): the receiver checks the timestamp is recent.
        now = utcnow().replace(microsecond=0)
        body = json.dumps(
            {
                "type": message.kind,
                "timestamp": rfc3339(message.created_at),
                "data": message.payload,
            },
            separators=(",", ":"),
            sort_keys=True,
        )
        headers = sign_headers(
            service.signing_secrets(session, self.keyring, endpoint, now),
            message_id=message.id,
            timestamp=now,
            body=body,
        )
        headers["content-type"] = "application/json"
        headers["user-agent"] = USER_AGENT
        return PreparedDelivery(url=endpoint.url, headers=headers, body=body.encode("utf-8"))

    def send(self, prepared: PreparedDelivery) -> Outcome:
        # 1. Check the URL again and resolve it (DNS may have changed since creation).
        try:
            target = urls.check(prepared.url, allow_private=self.allow_private)
        except urls.WebhookUrlNotAllowed as exc:
            return Outcome(ok=False, error=f"refused: {exc.detail}"[:200])
        except urls.InvalidWebhookUrl:
            return Outcome(ok=False, error="refused: invalid URL")
        # 2. Connect to a checked address, never to a second lookup's answer (in resolver
        #    order, the next one when a connection is refused: dual-stack hosts); TLS still
        #    verifies the certificate for the name (SNI and hostname check use `sni_hostname`).
        url = httpx.URL(prepared.url)
        headers = dict(prepared.headers)
        headers["host"] = url.netloc.decode("ascii")
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        response: httpx.Response | None = None
        failure = "connection failed"
        with httpx.Client(
            timeout=self.timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            verify=self.verify,
        ) as client:
            for address in target.addresses:
                try:
                    response = client.post(
                        url.copy_with(host=address),
                        content=prepared.body,
                        headers=headers,
                        extensions=extensions,
                    )
                    break
                except httpx.ConnectError as exc:
                    failure = f"connection failed: {type(exc).__name__}"
                    continue
                except httpx.TimeoutException:
                    return Outcome(ok=False, error="timeout")
                except httpx.HTTPError as exc:
                    return Outcome(ok=False, error=f"connection failed: {type(exc).__name__}")
        if response is None:
            return Outcome(ok=False, error=failure)
        # 3. Any 2xx is success; anything else (3xx included) is retried.
        if 200 <= response.status_code < 300:
            return Outcome(ok=True, status_code=response.status_code)
        return Outcome(
            ok=False,
            status_code=response.status_code,
            error=f"HTTP {response.status_code}",
            retry_after_seconds=(
                _retry_after(response) if response.status_code in (429, 503) else None
            ),
        )

    def on_dead(self, session: Session, message: OutboxMessage) -> None:
        service.disable_after_give_up(session, message.destination, message.id)


__all__ = ["PreparedDelivery", "WebhookChannel", "sign_headers"]
