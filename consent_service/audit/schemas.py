"""Response bodies of the audit routes (hashes are lower-case hex)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Checkpoint(BaseModel):
    tree_size: int
    root_hash: str
    timestamp: str
    signature: str = Field(
        description="Compact ES256 JWS (typ checkpoint+jwt) over the other three fields; "
        "verify with /.well-known/jwks.json"
    )


class EventLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int
    leaf_hash: str = Field(description="SHA-256(0x00 || RFC 8785 canonical event)")
    event: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventLine]
    next_after: int | None = Field(description="Pass as `after` for the next page; null at the end")


class InclusionProof(BaseModel):
    seq: int
    tree_size: int
    leaf_hash: str
    inclusion_proof: list[str] = Field(description="RFC 9162 §2.1.3 audit path, leaf to root")
    root_hash: str


class ConsistencyProof(BaseModel):
    from_size: int
    to_size: int
    from_root: str
    to_root: str
    consistency_proof: list[str] = Field(description="RFC 9162 §2.1.4 consistency proof")


class HolderEventProof(EventLine):
    inclusion_proof: list[str]
    checkpoint: Checkpoint


class CosignatureReceipt(BaseModel):
    tree_size: int = Field(description="The tree size of the cosigned checkpoint")
    witnesses: list[str] = Field(description="The witnesses whose cosignatures were kept")
