"""Who is calling: the authenticated principal and its role."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    holder = "holder"
    studio = "studio"
    auditor = "auditor"
    # Registry staff who review identity and authority evidence (verification/).
    verifier = "verifier"


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    # The id written to the audit log as the actor (api key, holder or representative id).
    actor_id: str
    # Studio or auditor organization, for org keys.
    organization_id: str | None = None
    # The holder this principal is or acts for (role holder).
    holder_id: str | None = None
    # Set when a representative acts for the holder: "guardian", "agent", "executor", …
    representative_kind: str | None = None
    representative_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    def acts_for(self, holder_id: str) -> bool:
        """True when this is the holder `holder_id` itself or a representative acting for it."""
        return self.role is Role.holder and self.holder_id == holder_id

    def is_org(self, org_id: str) -> bool:
        """True when this principal speaks for the organization (studio or auditor) `org_id`."""
        return self.role in (Role.studio, Role.auditor) and self.organization_id == org_id
