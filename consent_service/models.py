"""Every table, imported in one place for alembic's autogenerate and for tests."""

from consent_service.accounts.models import ApiKey, Login, LoginToken, Organization, RevokedToken
from consent_service.agreements.models import CollectiveAgreement
from consent_service.audit.models import AuditEvent, AuditHead, AuditSubtree
from consent_service.consents.models import ConsentGrant, ConsentReceipt, ConsentRequest
from consent_service.crypto.models import ServiceKey, SigningKey
from consent_service.db import metadata
from consent_service.deletions.models import DeletionAcknowledgement
from consent_service.holders.models import Holder
from consent_service.invitations.models import Invitation
from consent_service.licences.models import Licence, StatusList
from consent_service.outbox.models import OutboxAttempt, OutboxMessage
from consent_service.representatives.models import Representative
from consent_service.usages.models import Usage
from consent_service.vault.models import Reference
from consent_service.verification.models import Challenge, Evidence, VerificationCase
from consent_service.webhooks.models import NoticeSent, WebhookEndpoint

__all__ = [
    "ApiKey",
    "AuditEvent",
    "AuditHead",
    "AuditSubtree",
    "CollectiveAgreement",
    "Challenge",
    "ConsentGrant",
    "ConsentReceipt",
    "ConsentRequest",
    "DeletionAcknowledgement",
    "Evidence",
    "Holder",
    "Invitation",
    "Licence",
    "Login",
    "LoginToken",
    "NoticeSent",
    "Organization",
    "OutboxAttempt",
    "OutboxMessage",
    "Reference",
    "Representative",
    "RevokedToken",
    "ServiceKey",
    "SigningKey",
    "StatusList",
    "Usage",
    "VerificationCase",
    "WebhookEndpoint",
    "metadata",
]
