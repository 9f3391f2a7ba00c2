"""`consent-service audit verify` on CSV exports: recognised by content, checked on their own."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from tests.audit.test_offline_verify import verify
from tests.conftest import Org


def csv_export(client: TestClient, auditor: Org, tmp_path: Path, name: str = "log.txt") -> Path:
    r = client.get("/v1/audit/export", params={"format": "csv"}, headers=auditor.headers)
    assert r.status_code == 200
    path = tmp_path / name
    path.write_text(r.text)
    return path


def rewrite(path: Path, change: Callable[[list[list[str]]], None]) -> Path:
    rows = list(csv.reader(io.StringIO(path.read_text())))
    change(rows)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue())
    return path


def test_a_complete_csv_export_verifies_and_says_it_was_read_as_csv(
    client: TestClient,
    auditor: Org,
    make_events: Callable[[int], None],
    tmp_path: Path,
    jwks_file: Path,
) -> None:
    make_events(4)
    path = csv_export(client, auditor, tmp_path)
    code, out = verify(path, jwks_file)
    assert code == 0, out
    assert "complete export, read as CSV" in out
    code, out = verify(path, jwks_file, "--json")
    report = json.loads(out)
    assert report["ok"] and report["format"] == "csv" and report["complete"]
    # A kept CSV serves as the previous checkpoint of a later export.
    make_events(2)
    later = csv_export(client, auditor, tmp_path, "later.csv")
    code, out = verify(later, jwks_file, "--previous-checkpoint", str(path))
    assert code == 0 and "and the previous checkpoint" in out, out


def test_edits_to_a_csv_export_are_found(
    client: TestClient,
    auditor: Org,
    make_events: Callable[[int], None],
    tmp_path: Path,
    jwks_file: Path,
) -> None:
    make_events(4)
    original = csv_export(client, auditor, tmp_path)

    def fresh() -> Path:
        copy = tmp_path / "edited.csv"
        copy.write_text(original.read_text())
        return copy

    def readable_column(rows: list[list[str]]) -> None:
        rows[2][4] = "consent.withdrawn"  # the action column, not the signed event

    def event_column(rows: list[list[str]]) -> None:
        rows[2][7] = rows[2][7].replace('"actor":"', '"actor":"x', 1)

    def drop_row(rows: list[list[str]]) -> None:
        del rows[3]

    def drop_checkpoint(rows: list[list[str]]) -> None:
        del rows[-1]

    for change, code_name, line in (
        (readable_column, "EDITED_LINE", 3),
        (event_column, "EDITED_LINE", 3),
        (drop_row, "DROPPED_EVENTS", None),
        (drop_checkpoint, "MISSING_CHECKPOINT", None),
    ):
        code, out = verify(rewrite(fresh(), change), jwks_file, "--json")
        report = json.loads(out)
        assert code == 1 and report["format"] == "csv", (change.__name__, out)
        found = [(f["code"], f["line"]) for f in report["findings"]]
        assert any(c == code_name and (line is None or n == line) for c, n in found), (
            change.__name__,
            found,
        )
