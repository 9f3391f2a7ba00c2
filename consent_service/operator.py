"""The registry's operator, as consent receipts name it: the PII controller.

A consent receipt names the party accountable for the processing (Kantara Consent Receipt v1.1
`piiControllers`, ISO/IEC TS 27560 `pii_controllers`), where the data is stored and for how
long. Those facts are the operator's, not the code's: they come from settings
(`Settings.operator`, CONSENT_CONTROLLER_* and CONSENT_POLICY_URL), which production requires;
development fills in placeholders that say they are placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass

# Development placeholders: `.invalid` (RFC 6761) never resolves, so nobody mistakes them for
# a real controller.
DEV_NAME = "consent_service development registry (not a real controller)"
DEV_CONTACT = "not configured: set CONSENT_CONTROLLER_CONTACT"
DEV_ADDRESS = "not configured: set CONSENT_CONTROLLER_ADDRESS"
DEV_EMAIL = "privacy@controller-not-configured.invalid"
DEV_PHONE = "not configured: set CONSENT_CONTROLLER_PHONE"
DEV_POLICY_URL = "https://controller-not-configured.invalid/privacy-policy"
NOT_STATED = "not stated by the operator"


@dataclass(frozen=True, slots=True)
class Operator:
    """Who answers for the registry, where it keeps the data and for how long."""

    name: str
    contact: str
    # One line of postal address (schema.org PostalAddress `streetAddress`) and, when known,
    # its ISO 3166-1 alpha-2 country (`addressCountry`).
    street_address: str
    country: str | None
    email: str
    phone: str
    url: str
    policy_url: str
    # Where the registry database, the key store and the reference-data vault are (a place or
    # a jurisdiction, as the operator states it).
    storage_location: str
    vault: str  # "local files" or "S3 object storage"
    # Retention schedule (docs/auditors.md), in days.
    evidence_retention_days: int
    pending_evidence_retention_days: int
    usage_retention_days: int

    @property
    def address(self) -> dict[str, str]:
        """The postal address as a schema.org PostalAddress (Kantara CR v1.1 `address`)."""
        found = {"streetAddress": self.street_address}
        if self.country:
            found["addressCountry"] = self.country
        return found
