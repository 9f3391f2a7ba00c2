"""Migration 0009 moves existing data: holders registered dead before the death flow existed
count as having their death recorded (so recording it again is 409, nothing changes)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from consent_service import migrations


def test_0009_marks_holders_registered_dead_as_recorded(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'old.db').as_posix()}"
    migrations.upgrade(url, "0008")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for holder_id, died in (("hld_dead", b"ciphertext"), ("hld_alive", None)):
            conn.execute(
                sa.text(
                    "INSERT INTO holder (id, jurisdiction, verification, created_at, "
                    "date_of_death_enc) VALUES (:id, 'US-CA', 'unverified', "
                    "'2026-11-01 10:00:00.000000', :died)"
                ),
                {"id": holder_id, "died": died},
            )
    migrations.upgrade(url)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT id, death_recorded_at FROM holder")).all())
    assert rows["hld_dead"] is not None and str(rows["hld_dead"]).startswith("2026-11-01")
    assert rows["hld_alive"] is None
    migrations.downgrade(url, "0008")
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("holder")}
    assert "death_recorded_at" not in columns
    engine.dispose()
