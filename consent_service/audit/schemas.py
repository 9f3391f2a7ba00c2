"""Response bodies of the audit routes (hashes are lower-case hex)."""

from __future__ import annotations

from datetime import datetime
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


class KeptCosignature(BaseModel):
    witness: str = Field(description="The witness's key name")
    cosigned_at: datetime = Field(description="The timestamp the witness signed")
    received_at: datetime
    signature_line: str = Field(description="The C2SP tlog-cosignature note line, as sent")


class KeptCheckpoint(BaseModel):
    tree_size: int
    root_hash: str
    signed_at: datetime = Field(description="When a checkpoint of this size was first signed")
    signature: str = Field(description="The first JWS checkpoint of this size (checkpoint+jwt)")
    note: str = Field(
        description="The first C2SP signed note of this size, with the log's own signature"
    )
    cosignatures: list[KeptCosignature] = Field(description="Witnesses' cosignatures of it")


class CheckpointHistory(BaseModel):
    items: list[KeptCheckpoint]
    next_before: int | None = Field(
        description="Newest-first pages: pass as `before` for the next page; null at the end"
    )
    next_after: int | None = Field(
        description="Pages asked for with `after`: pass as `after` for the next; null at the end"
    )
