"""`consent-service c2pa sign` and `verify`: round trips per format, tampering, refusals."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from consent_service.cli import app as cli_app
from consent_service.provenance.ca import DOCUMENT_SIGNING, CaFiles, init_ca
from consent_service.provenance.check import USAGE_RECEIPT_TYP
from consent_service.provenance.manifest import TRAINED_ALGORITHMIC_MEDIA
from tests.licences.conftest import Grant, licence_scope
from tests.provenance import media
from tests.provenance.conftest import Registry, run_c2pa

Sign = Callable[..., tuple[int, dict[str, Any]]]


def write(tmp_path: Path, kind: str, data: bytes, name: str = "render") -> Path:
    path = tmp_path / f"{name}{media.EXTENSIONS[kind]}"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", sorted(media.MAKERS))
def test_a_signed_file_verifies_offline_and_fails_once_edited(
    kind: str,
    tmp_path: Path,
    sign: Sign,
    licensed: dict[str, Any],
    registry: Registry,
    dev_ca: CaFiles,
):
    source = write(tmp_path, kind, media.MAKERS[kind]())
    signed = tmp_path / f"signed{media.EXTENSIONS[kind]}"
    use = "attribute=face,purpose=film_tv,territory=GB,medium=streaming"
    code, answer = sign(source, signed, licensed["token"], "--use", use, *registry.options())
    assert (code, answer["signed"]) == (0, True), answer
    assert answer["licence_id"] == licensed["id"]
    # The content survives signing, and the signed file still parses as its type (for MP4:
    # the frame offset moved with the inserted manifest box).
    original = media.content_of(kind, source.read_bytes())
    assert media.content_of(kind, signed.read_bytes()) == original
    if kind == "mp4":
        assert media.sample_of_mp4(signed.read_bytes()) == media.MP4_SAMPLE

    anchors = ("--trust-anchors", str(dev_ca.root_cert))
    code, verdict = run_c2pa("verify", str(signed), *registry.options(), *anchors)
    assert (code, verdict["code"]) == (0, "VALID"), verdict
    assert verdict["manifest"]["validation_state"] == "Trusted"
    assert verdict["manifest"]["digital_source_types"] == [TRAINED_ALGORITHMIC_MEDIA]
    entries = verdict["manifest"]["training_mining"]["entries"]
    assert {entry["use"] for entry in entries.values()} == {"notAllowed"}
    assert verdict["licence"]["licence_id"] == licensed["id"]
    assert verdict["licence"]["use_checked"] is True
    assert verdict["recorded"]["status_list"] == licensed["status_list"]
    assert verdict["recorded"]["issuer"] == "http://testserver"
    assert verdict["recorded"]["use"]["territory"] == "GB"

    edited = write(tmp_path, kind, media.tamper_content(kind, signed.read_bytes()), "edited")
    code, verdict = run_c2pa("verify", str(edited), *registry.options(), *anchors)
    assert (code, verdict["code"]) == (1, "MANIFEST_INVALID"), verdict
    assert any("mismatch" in failure for failure in verdict["manifest"]["failures"])

    broken = write(tmp_path, kind, media.break_claim_signature(signed.read_bytes()), "broken")
    code, verdict = run_c2pa("verify", str(broken), *registry.options(), *anchors)
    assert (code, verdict["code"]) == (1, "MANIFEST_INVALID"), verdict
    assert "claimSignature.mismatch" in verdict["manifest"]["failures"]


def test_the_development_ca_makes_a_chain_in_the_c2pa_certificate_profile(dev_ca: CaFiles):
    signing_cert, intermediate = x509.load_pem_x509_certificates(dev_ca.chain.read_bytes())
    root = x509.load_pem_x509_certificate(dev_ca.root_cert.read_bytes())
    # Each certificate is signed by the next one up (ECDSA P-256, SHA-256).
    signing_cert.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)
    assert isinstance(signing_cert.public_key(), ec.EllipticCurvePublicKey)
    assert signing_cert.signature_hash_algorithm is not None
    assert signing_cert.signature_hash_algorithm.name == "sha256"
    ext = signing_cert.extensions
    basic = ext.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca is False
    usage = ext.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    purposes = ext.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert DOCUMENT_SIGNING in purposes
    assert ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in purposes
    ext.get_extension_for_class(x509.AuthorityKeyIdentifier)
    ext.get_extension_for_class(x509.SubjectKeyIdentifier)
    for ca_cert in (intermediate, root):
        constraints = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical and constraints.value.ca is True
        assert ca_cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert stat.S_IMODE(os.stat(dev_ca.signing_key).st_mode) == 0o600


def test_init_ca_from_the_cli_refuses_to_overwrite_a_chain(tmp_path: Path):
    result = CliRunner().invoke(cli_app, ["c2pa", "init-ca", str(tmp_path / "ca")])
    assert result.exit_code == 0, result.output
    assert "not for production" in result.stdout
    assert (tmp_path / "ca" / "root-ca.pem").is_file()
    again = CliRunner().invoke(cli_app, ["c2pa", "init-ca", str(tmp_path / "ca")])
    assert again.exit_code == 2


def test_a_file_type_c2pa_cannot_sign_is_refused(
    tmp_path: Path, sign: Sign, licensed: dict[str, Any], registry: Registry
):
    source = tmp_path / "notes.txt"
    source.write_text("not media")
    output = tmp_path / "signed.txt"
    code, answer = sign(source, output, licensed["token"], *registry.options())
    assert (code, answer["signed"], answer["error"]) == (1, False, "unsupported_format")
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".c2pa-")] == []


def test_a_use_outside_the_licence_is_not_signed(
    tmp_path: Path, sign: Sign, licensed: dict[str, Any], registry: Registry
):
    source = write(tmp_path, "png", media.png())
    output = tmp_path / "signed.png"
    code, answer = sign(
        source, output, licensed["token"], "--use", "attribute=voice", *registry.options()
    )
    assert (code, answer["error"]) == (1, "licence_not_valid")
    assert answer["licence"]["code"] == "SCOPE_MISMATCH"
    assert not output.exists()
    code, answer = sign(source, output, "not-a-licence", *registry.options())
    assert (code, answer["licence"]["code"]) == (1, "MALFORMED")


def test_signing_needs_a_certificate_and_a_registry_source(
    tmp_path: Path, licensed: dict[str, Any], registry: Registry, dev_ca: CaFiles, sign: Sign
):
    source = write(tmp_path, "png", media.png())
    code, answer = run_c2pa(
        "sign", str(source), str(tmp_path / "o.png"), "--licence", licensed["token"]
    )
    assert (code, answer["error"]) == (2, "no_signing_certificate")
    code, answer = sign(source, tmp_path / "o.png", licensed["token"], "--jwks", "x.json")
    assert (code, answer["error"]) == (2, "cannot_check")
    # A key that does not belong to the certificate: c2pa refuses, nothing is written.
    other = init_ca(tmp_path / "other-ca")
    code, answer = run_c2pa(
        "sign",
        str(source),
        str(tmp_path / "o.png"),
        "--licence",
        licensed["token"],
        "--cert-chain",
        str(dev_ca.chain),
        "--private-key",
        str(other.signing_key),
        *registry.options(),
    )
    assert (code, answer["error"]) == (2, "signing_failed"), answer
    assert not (tmp_path / "o.png").exists()


def test_the_signer_is_judged_against_the_trust_anchors_given(
    tmp_path: Path, sign: Sign, licensed: dict[str, Any], registry: Registry
):
    source = write(tmp_path, "jpeg", media.jpeg())
    signed = tmp_path / "signed.jpg"
    assert sign(source, signed, licensed["token"], *registry.options())[0] == 0
    other = init_ca(tmp_path / "other-ca")
    code, verdict = run_c2pa(
        "verify", str(signed), *registry.options(), "--trust-anchors", str(other.root_cert)
    )
    assert (code, verdict["code"]) == (1, "UNTRUSTED_SIGNER")
    # Without anchors the signature and binding are checked, the chain is not judged.
    code, verdict = run_c2pa("verify", str(signed), *registry.options())
    assert (code, verdict["code"]) == (0, "VALID")
    assert verdict["manifest"]["trusted"] is False
    assert "not judged" in verdict["detail"]


def test_files_without_a_manifest_or_a_registry_source(tmp_path: Path, registry: Registry):
    plain = write(tmp_path, "jpeg", media.jpeg())
    code, verdict = run_c2pa("verify", str(plain), *registry.options())
    assert (code, verdict["code"]) == (1, "NO_MANIFEST")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    code, verdict = run_c2pa("verify", str(text), *registry.options())
    assert (code, verdict["code"]) == (1, "UNSUPPORTED_FORMAT")
    # The file's own issuer is never trusted by default: the verifier names its registry.
    code, verdict = run_c2pa("verify", str(plain))
    assert (code, verdict["error"]) == (2, "cannot_check")
    code, verdict = run_c2pa("verify", str(tmp_path / "missing.jpg"), *registry.options())
    assert code == 2


def test_a_licence_covering_ai_training_marks_training_as_constrained(
    tmp_path: Path,
    make_grant: Callable[..., Grant],
    issue: Callable[..., dict[str, Any]],
    client: TestClient,
    sign: Sign,
):
    grant = make_grant(purposes=["film_tv", "ai_training"])
    issued = issue(grant, scope=licence_scope(purposes=["ai_training"]))
    registry = Registry(
        client=client,
        jwks=tmp_path / "jwks.json",
        status_list=tmp_path / "status.jwt",
        status_path=issued["status_list"]["uri"].removeprefix("http://testserver"),
    )
    registry.refresh()
    source = write(tmp_path, "png", media.png())
    signed = tmp_path / "signed.png"
    code, answer = sign(source, signed, issued["token"], *registry.options())
    assert (code, answer["training_mining"]) == (0, "constrained")
    code, verdict = run_c2pa("verify", str(signed), *registry.options())
    assert code == 0, verdict
    entries = verdict["manifest"]["training_mining"]["entries"]
    assert set(entries) == {
        "cawg.data_mining",
        "cawg.ai_inference",
        "cawg.ai_generative_training",
        "cawg.ai_training",
    }
    assert {entry["use"] for entry in entries.values()} == {"constrained"}
    assert issued["id"] in entries["cawg.ai_training"]["constraint_info"]


def test_an_embedded_usage_receipt_is_verified_with_the_registry_keys(
    tmp_path: Path,
    sign: Sign,
    licensed: dict[str, Any],
    registry: Registry,
    app: FastAPI,
):
    services = app.state.services
    with services.session() as session:
        # The claims a usage receipt carries (usages/service.py), for this licence and another.
        receipt, elsewhere = (
            services.signer.sign(
                session,
                {"iss": "http://testserver", "licence": licence_id, "audit_seq": 7},
                typ=USAGE_RECEIPT_TYP,
            )
            for licence_id in (licensed["id"], "lic_someotherlicence00000000")
        )
        session.commit()
    head, payload, signature = receipt.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    cases = [
        (receipt, 0, "VALID", True),
        (forged, 1, "USAGE_RECEIPT_INVALID", False),
        (elsewhere, 1, "USAGE_RECEIPT_INVALID", False),
        ("opaque-receipt-42", 0, "VALID", None),
    ]
    for index, (given, exit_code, code, valid) in enumerate(cases):
        source = write(tmp_path, "png", media.png(), f"r{index}")
        signed = tmp_path / f"r{index}-signed.png"
        assert (
            sign(source, signed, licensed["token"], "--usage-receipt", given, *registry.options())[
                0
            ]
            == 0
        )
        result, verdict = run_c2pa("verify", str(signed), *registry.options())
        assert (result, verdict["code"]) == (exit_code, code), verdict
        assert verdict["usage_receipt"]["valid"] is valid
    assert verdict["usage_receipt"]["checked"] is False  # the opaque one


def test_consent_withdrawn_after_signing_answers_revoked_offline_with_a_fresh_status_list(
    tmp_path: Path,
    sign: Sign,
    grant: Grant,
    licensed: dict[str, Any],
    registry: Registry,
    client: TestClient,
):
    source = write(tmp_path, "wav", media.wav())
    signed = tmp_path / "signed.wav"
    assert sign(source, signed, licensed["token"], *registry.options())[0] == 0
    r = client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers)
    assert r.status_code == 200, r.text
    code, verdict = run_c2pa("verify", str(signed), *registry.options())
    assert (code, verdict["code"]) == (0, "VALID")  # the list fetched before the withdrawal
    registry.refresh()
    code, verdict = run_c2pa("verify", str(signed), *registry.options())
    assert (code, verdict["code"]) == (1, "REVOKED")
    assert verdict["manifest"]["validation_state"] == "Valid"  # the file itself is intact


def test_sign_and_verify_online_against_the_issuer(
    tmp_path: Path, live_issuer: str, grant: Grant, sign: Sign
):
    r = httpx.post(
        f"{live_issuer}/v1/licences",
        json={"consent_id": grant.id, "scope": licence_scope()},
        headers=grant.studio.headers,
    )
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    source = write(tmp_path, "mp4", media.mp4())
    signed = tmp_path / "signed.mp4"
    code, answer = sign(source, signed, token, "--issuer", live_issuer)
    assert code == 0, answer
    code, verdict = run_c2pa("verify", str(signed), "--issuer", live_issuer)
    assert (code, verdict["code"]) == (0, "VALID"), verdict
    assert verdict["recorded"]["issuer"] == live_issuer

    login = httpx.post(
        f"{live_issuer}/v1/auth/token",
        data={
            "grant_type": "password",
            "username": grant.holder.email,
            "password": grant.holder.password,
        },
    )
    holder_headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    httpx.post(
        f"{live_issuer}/v1/consents/{grant.id}/withdraw", json={}, headers=holder_headers
    ).raise_for_status()
    code, verdict = run_c2pa("verify", str(signed), "--issuer", live_issuer)
    assert (code, verdict["code"]) == (1, "REVOKED")
    code, verdict = run_c2pa("verify", str(signed), "--issuer", "http://127.0.0.1:9")
    assert code == 2
