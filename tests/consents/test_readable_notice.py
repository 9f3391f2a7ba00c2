"""The notice a person reads (template 2026-11-v3): headings, words, dates in the holder's time
zone, no hard line breaks, and still one canonical text hashed byte for byte."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from tests.consents.conftest import DESCRIPTION, ask


def test_dates_are_in_words_in_the_holders_time_zone(client: TestClient, register_holder, studio):
    holder = register_holder(time_zone="America/Los_Angeles")
    r = ask(
        client,
        studio,
        holder.id,
        valid_from="2027-03-01T00:00:00Z",
        valid_until="2028-07-01T12:30:00Z",
    )
    assert r.status_code == 201, r.text
    text = r.json()["notice"]["text"]
    # Midnight UTC on 1 March is the afternoon before in Los Angeles (PST, UTC-8); 1 July is
    # in summer time (PDT, UTC-7).
    assert "From 28 February 2027 at 16:00 until 1 July 2028 at 05:30" in text
    assert "Times are in America/Los_Angeles." in text
    assert "2027-03-01" not in text


def test_a_holder_without_a_time_zone_reads_utc(client: TestClient, holder, studio):
    r = ask(client, studio, holder.id, valid_from="2027-03-01", valid_until="2028-03-01")
    text = r.json()["notice"]["text"]
    assert "From 1 March 2027 at 00:00 until 1 March 2028 at 00:00" in text
    assert "Times are in UTC." in text


def test_an_unknown_time_zone_is_refused(client: TestClient):
    r = client.post(
        "/v1/holders",
        json={
            "legal_name": "Imogen Testperson",
            "email": "tz@example.org",
            "password": "a long enough passphrase",
            "date_of_birth": "1990-05-17",
            "jurisdiction": "GB",
            "time_zone": "Mars/Olympus_Mons",
        },
    )
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error"


def test_one_block_per_line_with_headings_and_words_not_codes(client: TestClient, holder, studio):
    r = ask(client, studio, holder.id, territories=["GB", "FR"], media=["theatrical"])
    notice = r.json()["notice"]
    text = notice["text"]
    assert notice["sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert notice["template_version"] == "2026-11-v3"
    lines = text.split("\n")
    assert lines[0] == "# Consent notice"
    assert "## What it may be used for" in lines and "## For how long" in lines
    # No hard line breaks: the studio's long description is one line, not wrapped.
    assert f"What the studio intends to do, in its own words: {DESCRIPTION}" in lines
    assert "- Uses: film and television" in lines
    assert "- Where it may be shown: cinemas" in lines
    assert "- Where in the world: France, United Kingdom" in lines
    for code in ("film_tv", "theatrical", "POST ", "DELETE "):
        assert code not in text
