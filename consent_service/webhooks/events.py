"""The webhook event types: what a studio can subscribe to, and what each carries.

Every payload holds ids, codes and times, never personal data (no names, emails, free text):
a receiver that needs more reads it through the API with its own key.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    consent_request_accepted = "consent_request.accepted"
    consent_request_declined = "consent_request.declined"
    consent_withdrawn = "consent.withdrawn"
    consent_revoked = "consent.revoked"
    consent_suspended = "consent.suspended"
    consent_resumed = "consent.resumed"
    consent_expired = "consent.expired"
    consent_ended_by_death = "consent.ended_by_death"
    licence_issued = "licence.issued"
    licence_revoked = "licence.revoked"
    licence_suspended = "licence.suspended"
    licence_resumed = "licence.resumed"  # valid again: the consent that held it was resumed
    licence_expiring = "licence.expiring"  # expires within 7 days; sent once per licence
    holder_erased = "holder.erased"
    invitation_accepted = "invitation.accepted"
    deletion_acknowledgement_due = "deletion.acknowledgement_due"
    webhook_endpoint_disabled = "webhook.endpoint_disabled"


# A grant's new status -> the event it raises (consents/events.GrantStatusChange.new_status).
CONSENT_EVENTS: dict[str, EventType] = {
    "withdrawn": EventType.consent_withdrawn,
    "revoked": EventType.consent_revoked,
    "suspended": EventType.consent_suspended,
    "active": EventType.consent_resumed,
    "expired": EventType.consent_expired,
    "ended_by_death": EventType.consent_ended_by_death,
}

# How far ahead `licence.expiring` warns.
EXPIRY_WARNING_DAYS = 7
