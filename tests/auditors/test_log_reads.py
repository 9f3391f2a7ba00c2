"""An auditor's reads of the log itself are events of the log (issue 15 item 1).

The person signs in and reads the events page, the export (JSON Lines and CSV), the
checkpoint (JWS and signed note) and the proofs through the API, like a client. Each request
is one `auditor.read` event naming what was read (filters, range, tree sizes), never anything
personal. An admin's reads add nothing, a refused read adds nothing, and an export's own
checkpoint is never changed by the event that logs it: that event comes after the checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from consent_service.audit import offline
from tests.auditors.conftest import AuditorPerson
from tests.auditors.test_auditor_accounts import events
from tests.conftest import HolderAccount


def _since(client: TestClient, admin_headers: dict[str, str], size: int) -> list[dict[str, Any]]:
    """The events from `size` on, read as an admin (whose reads are not events)."""
    return [e["event"] for e in events(client, admin_headers)[size:]]


def _size(client: TestClient, admin_headers: dict[str, str]) -> int:
    r = client.get("/v1/audit/checkpoint", headers=admin_headers)
    assert r.status_code == 200, r.text
    return int(r.json()["tree_size"])


def test_each_read_of_the_log_by_an_auditor_is_one_event_naming_what_was_read(
    client: TestClient,
    auditor_person: AuditorPerson,
    holder: HolderAccount,
    admin_headers: dict[str, str],
) -> None:
    h = auditor_person.headers
    size = _size(client, admin_headers)
    assert _size(client, admin_headers) == size  # an admin's read adds nothing

    page = client.get(
        "/v1/audit/events",
        params={"holder_id": holder.id, "from": "2020-01-01T00:00:00Z", "limit": 50},
        headers=h,
    )
    assert page.status_code == 200, page.text
    shown = [i["seq"] for i in page.json()["items"]]
    assert shown  # the holder's sign-up is on the log
    checkpoint = client.get("/v1/audit/checkpoint", headers=h).json()
    note = client.get("/v1/audit/checkpoint", headers={**h, "Accept": "text/plain"})
    assert note.status_code == 200 and note.text.startswith("testserver/audit-log\n")
    note_size = int(note.text.split("\n")[1])
    inclusion = client.get("/v1/audit/proofs/inclusion", params={"seq": 0}, headers=h).json()
    consistency = client.get(
        "/v1/audit/proofs/consistency", params={"from_size": 1, "to_size": size}, headers=h
    ).json()

    logged = _since(client, admin_headers, size)
    assert [(e["action"], e["actor"]) for e in logged] == [("auditor.read", auditor_person.id)] * 5
    assert [e["subjects"] for e in logged] == [{"auditor_id": auditor_person.id}] * 5
    assert [e["payload"]["reads"] for e in logged] == [
        [
            {
                "kind": "audit_events",
                "filters": {"from": "2020-01-01T00:00:00.000000Z", "holder_id": holder.id},
                "after": -1,
                "limit": 50,
                "seqs": [shown[0], shown[-1]],
                "count": len(shown),
            }
        ],
        [{"kind": "audit_checkpoint", "tree_size": checkpoint["tree_size"]}],
        [{"kind": "audit_checkpoint", "tree_size": note_size}],
        [{"kind": "audit_inclusion_proof", "seq": 0, "tree_size": inclusion["tree_size"]}],
        [{"kind": "audit_consistency_proof", "from_size": 1, "to_size": consistency["to_size"]}],
    ]
    # Each read is logged after what it read: the checkpoint it was served is older.
    assert checkpoint["tree_size"] == size + 1  # the events read (one event) came before
    assert note_size == size + 2
    text = json.dumps(logged)
    assert auditor_person.email not in text and holder.email not in text


def test_an_export_is_one_read_event_after_its_own_checkpoint_and_still_verifies(
    client: TestClient,
    auditor_person: AuditorPerson,
    holder: HolderAccount,
    admin_headers: dict[str, str],
    tmp_path: Path,
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(client.get("/.well-known/jwks.json").text)
    keys = offline.load_jwks_file(jwks)
    exported: list[Path] = []
    for n, params in enumerate(({}, {"format": "csv", "holder_id": holder.id}, {})):
        size = _size(client, admin_headers)
        r = client.get("/v1/audit/export", params=params, headers=auditor_person.headers)
        assert r.status_code == 200, r.text
        # The export's checkpoint covers the log as it was before the read was logged...
        assert r.headers["Audit-Tree-Size"] == str(size)
        path = tmp_path / f"export-{n}.{params.get('format', 'jsonl')}"
        path.write_bytes(r.content)
        result = offline.verify_file(path, keys=keys)
        assert result.ok, result
        exported.append(path)
        # ...and the read is the one event after it, naming the filters and that size.
        [read] = _since(client, admin_headers, size)
        assert (read["action"], read["actor"]) == ("auditor.read", auditor_person.id)
        filters = {k: v for k, v in params.items() if k != "format"}
        assert read["payload"]["reads"] == [
            {
                "kind": "audit_export",
                "filters": filters,
                "format": params.get("format", "jsonl"),
                "tree_size": size,
            }
        ]
    # A later complete export holds the earlier exports' read events, and verifies.
    lines = [json.loads(line) for line in exported[2].read_text().splitlines()]
    reads = [x for x in lines if "event" in x and x["event"]["action"] == "auditor.read"]
    assert [x["event"]["payload"]["reads"][0]["kind"] for x in reads] == ["audit_export"] * 2


def test_a_refused_read_of_the_log_is_not_an_event(
    client: TestClient, auditor_person: AuditorPerson, admin_headers: dict[str, str]
) -> None:
    size = _size(client, admin_headers)
    h = auditor_person.headers
    refused = [
        client.get("/v1/audit/events", params={"studio": "org_x"}, headers=h),
        client.get("/v1/audit/export", params={"action": "consent.nope"}, headers=h),
        client.get("/v1/audit/proofs/inclusion", params={"seq": size + 5}, headers=h),
        client.get("/v1/audit/checkpoint", params={"tree_size": size + 5}, headers=h),
    ]
    assert [r.status_code for r in refused] == [422, 422, 400, 400], [r.text for r in refused]
    assert _since(client, admin_headers, size) == []
