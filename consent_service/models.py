"""Every table, imported in one place for alembic's autogenerate and for tests."""

from consent_service.accounts.models import ApiKey, Login, Organization, RevokedToken
from consent_service.agreements.models import CollectiveAgreement
from consent_service.audit.models import AuditEvent, AuditHead, AuditSubtree
from consent_service.consents.models import ConsentGrant, ConsentReceipt, ConsentRequest
from consent_service.crypto.models import ServiceKey, SigningKey
from consent_service.db import metadata
from consent_service.holders.models import Holder
from consent_service.licences.models import Licence, StatusList
from consent_service.representatives.models import Representative
from consent_service.vault.models import Reference
from consent_service.verification.models import Challenge, Evidence, VerificationCase

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
    "Evidence",
    "Holder",
    "Licence",
    "Login",
    "Organization",
    "Reference",
    "Representative",
    "RevokedToken",
    "ServiceKey",
    "SigningKey",
    "StatusList",
    "VerificationCase",
    "metadata",
]
