"""Every audit action, once. The values are written into the log and its exports: never change
one (auditors filter on them and verify exported logs that contain them); add new ones."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    organization_created = "organization.created"
    api_key_created = "api_key.created"
    api_key_revoked = "api_key.revoked"
    signing_key_rotated = "signing_key.rotated"
    # Every stored key re-wrapped under another master key (consent-service keys rewrap).
    master_key_rewrapped = "master_key.rewrapped"

    holder_registered = "holder.registered"
    # A person's own account (flows/accounts.py): never the address or the password itself.
    account_email_confirmed = "account.email_confirmed"
    account_password_reset = "account.password_reset"
    account_password_changed = "account.password_changed"
    # The language a holder reads their pages, mail and notices in (the old and new codes only).
    holder_language_changed = "holder.language_changed"
    holder_verified = "holder.verified"
    holder_unverified = "holder.unverified"
    holder_exported = "holder.exported"
    holder_erased = "holder.erased"

    representative_added = "representative.added"
    representative_revoked = "representative.revoked"

    # Invitations (invitations/): ids only, never the address.
    invitation_created = "invitation.created"
    invitation_accepted = "invitation.accepted"
    invitation_declined = "invitation.declined"
    invitation_withdrawn = "invitation.withdrawn"
    invitation_expired = "invitation.expired"

    consent_request_created = "consent_request.created"
    consent_request_declined = "consent_request.declined"
    consent_granted = "consent.granted"
    consent_withdrawn = "consent.withdrawn"
    consent_revoked = "consent.revoked"
    consent_suspended = "consent.suspended"
    consent_resumed = "consent.resumed"
    consent_expired = "consent.expired"
    # The holder was told that the consent ends within 30 days (consents/lifecycle.py).
    consent_ending_soon = "consent.ending_soon"

    licence_issued = "licence.issued"
    licence_revoked = "licence.revoked"
    licence_suspended = "licence.suspended"
    licence_resumed = "licence.resumed"

    usage_recorded = "usage.recorded"

    reference_uploaded = "reference.uploaded"
    reference_downloaded = "reference.downloaded"
    reference_deleted = "reference.deleted"

    collective_agreement_created = "collective_agreement.created"
    collective_agreement_updated = "collective_agreement.updated"

    verification_requested = "verification.requested"
    verification_approved = "verification.approved"
    verification_rejected = "verification.rejected"
    verification_withdrawn = "verification.withdrawn"
    verification_evidence_viewed = "verification.evidence_viewed"

    # Death as a lifecycle event (flows/death.py, flows/estate.py).
    holder_death_recorded = "holder.death_recorded"
    estate_registered = "holder.estate_registered"
    consent_ended_by_death = "consent.ended_by_death"
    consent_cut_to_post_mortem_end = "consent.cut_to_post_mortem_end"

    # Webhooks (webhooks/) and deletion acknowledgements (deletions/).
    webhook_endpoint_created = "webhook_endpoint.created"
    webhook_endpoint_deleted = "webhook_endpoint.deleted"
    webhook_secret_rotated = "webhook_endpoint.secret_rotated"
    webhook_endpoint_enabled = "webhook_endpoint.enabled"
    webhook_endpoint_disabled = "webhook_endpoint.disabled"
    webhook_redelivery_requested = "webhook_endpoint.redelivery_requested"
    deletion_acknowledgement_due = "deletion.acknowledgement_due"
    deletion_acknowledged = "deletion.acknowledged"
    # Auditor accounts (accounts/auditors.py): a person of an auditor organization.
    auditor_created = "auditor.created"
    auditor_totp_enabled = "auditor.totp_enabled"
    # What an auditor read, by kind and ids (never the content): every read is on the log.
    auditor_read = "auditor.read"

    # The retention schedule was applied (retention/): what was deleted, by kind and count.
    retention_applied = "retention.applied"
