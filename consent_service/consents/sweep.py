"""The expiry sweep on a timer, inside the serving process.

Reads never write (consents.lifecycle), so the stored status of a grant past its end catches
up when the sweep runs: `consent-service consents expire` from cron, and
this thread, which `serve` starts in the app lifespan every `expiry_sweep_seconds` (0 turns it
off). Each run uses its own sessions, commits in batches, and a failure is logged and retried
on the next tick; stopping waits for the running batch to finish.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlmodel import Session

from consent_service.consents.lifecycle import announce_ending_grants, expire_due_grants
from consent_service.crypto.signer import Signer
from consent_service.db import utcnow

log = logging.getLogger("consent_service.consents.sweep")


def sweep_expired(open_session: Callable[[], Session], signer: Signer) -> list[str]:
    """Persist every due expiry, one committed batch at a time; return the grant ids.

    `open_session` is `Services.session`: its sessions carry the grant listeners, so each
    expiry cascades to the grant's licences in the same transaction.
    """
    expired: list[str] = []
    while True:
        with open_session() as session:
            batch = expire_due_grants(session, signer=signer, now=utcnow())
            session.commit()
        expired.extend(batch)
        if not batch:
            return expired


def sweep_ending(open_session: Callable[[], Session]) -> list[str]:
    """Record `consent.ending_soon` for every active grant ending within 30 days, once each."""
    told: list[str] = []
    while True:
        with open_session() as session:
            batch = announce_ending_grants(session, now=utcnow())
            session.commit()
        told.extend(batch)
        if not batch:
            return told


def drain(open_session: Callable[[], Session], sweep: Callable[[Session], int]) -> int:
    """Run a batch sweep (`sweep(session)` -> how many it handled, committed here) until a
    batch handles nothing; the total. For the extra sweeps an `ExpirySweeper` runs."""
    total = 0
    while True:
        with open_session() as session:
            done = sweep(session)
            session.commit()
        total += done
        if not done:
            return total


class ExpirySweeper:
    """A daemon thread running `sweep_expired` every `interval` seconds until `stop()`."""

    def __init__(
        self,
        *,
        open_session: Callable[[], Session],
        signer: Signer,
        interval: float,
        also: tuple[Callable[[], object], ...] = (),
    ) -> None:
        # Other domains' expiries (invitations): each ends up to a batch and says how many.
        self.also = tuple(also)
        self.open_session = open_session
        self.signer = signer
        self.interval = interval
        # Other sweeps run on the same tick, after the expiries (flows/notices.py).
        self.also = also
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[str]:
        expired = sweep_expired(self.open_session, self.signer)
        if expired:
            log.info("expiry sweep: %d consent(s) expired", len(expired))
        told = sweep_ending(self.open_session)
        if told:
            log.info("expiry sweep: %d holder(s) told their consent ends within 30 days", len(told))
        for sweep in self.also:
            sweep()
        return expired

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - keep sweeping; the next tick retries
                log.exception("expiry sweep failed; retrying on the next tick")

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name="consent-expiry-sweep", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
