"""Audit action values are part of exported logs: renaming one would break auditors' filters."""

from __future__ import annotations

from consent_service.audit import Action

# As written in every log exported so far. Add new actions here; never change one.
EXPORTED = {
    "organization.created",
    "api_key.created",
    "api_key.revoked",
    "signing_key.rotated",
    "master_key.rewrapped",
    "holder.registered",
    "account.email_confirmed",
    "account.password_reset",
    "account.password_changed",
    "holder.language_changed",
    "holder.verified",
    "holder.unverified",
    "holder.exported",
    "holder.erased",
    "representative.added",
    "representative.revoked",
    "invitation.created",
    "invitation.accepted",
    "invitation.declined",
    "invitation.withdrawn",
    "invitation.expired",
    "consent_request.created",
    "consent_request.declined",
    "consent.granted",
    "consent.withdrawn",
    "consent.revoked",
    "consent.suspended",
    "consent.resumed",
    "consent.expired",
    "consent.ending_soon",
    "licence.issued",
    "licence.revoked",
    "licence.suspended",
    "licence.resumed",
    "usage.recorded",
    "reference.uploaded",
    "reference.downloaded",
    "reference.deleted",
    "collective_agreement.created",
    "collective_agreement.updated",
    "verification.requested",
    "verification.approved",
    "verification.rejected",
    "verification.withdrawn",
    "verification.evidence_viewed",
    # Death as a lifecycle event.
    "holder.death_recorded",
    "holder.estate_registered",
    "consent.ended_by_death",
    "consent.cut_to_post_mortem_end",
    # Webhooks and deletion acknowledgements.
    "webhook_endpoint.created",
    "webhook_endpoint.deleted",
    "webhook_endpoint.secret_rotated",
    "webhook_endpoint.enabled",
    "webhook_endpoint.disabled",
    "webhook_endpoint.redelivery_requested",
    "deletion.acknowledgement_due",
    "deletion.acknowledged",
    # Auditor accounts and their reads.
    "auditor.created",
    "auditor.totp_enabled",
    "auditor.read",
    # Retention.
    "retention.applied",
}


def test_every_action_keeps_its_exported_value() -> None:
    assert {action.value for action in Action} == EXPORTED
    assert all(str(action) == action.value for action in Action)
