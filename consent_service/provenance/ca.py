"""A development certificate chain for signing C2PA manifests (`consent-service c2pa init-ca`).

DEVELOPMENT ONLY. Production brings a signing certificate from a CA that the platforms
checking its files trust (CONSENT_C2PA_CERT_CHAIN, CONSENT_C2PA_PRIVATE_KEY).

The chain is root CA -> intermediate CA -> signing certificate, all ECDSA P-256 with SHA-256
(C2PA `ES256`). The signing certificate follows the certificate profile of the C2PA
specification (2.x, "X.509 Certificates"), which c2pa-rs checks on every read:

- version 3, a positive serial number, a validity period that includes the signing time;
- `basicConstraints` cA=false; `keyUsage` present and critical with digitalSignature;
- `extendedKeyUsage` present, without anyExtendedKeyUsage, with a C2PA-permitted purpose: here
  id-kp-documentSigning (1.3.6.1.5.5.7.3.36), beside emailProtection (1.3.6.1.5.5.7.3.4) that
  older validators expect;
- `authorityKeyIdentifier` (not self-signed), `subjectKeyIdentifier`.

The CA certificates carry `basicConstraints` cA=true (critical) and `keyUsage` keyCertSign
(critical). The CA private keys are not kept: the directory holds what signing needs (chain and
signing key) and what verifiers need (the root certificate, as their trust anchor). Run
`init-ca` again for a new chain; verifiers then need the new root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# File names inside the CA directory.
ROOT_CERT = "root-ca.pem"
CHAIN = "signing-chain.pem"
SIGNING_KEY = "signing-key.pem"

# id-kp-documentSigning (RFC 9336), a purpose the C2PA certificate profile permits.
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
_BACKDATE = timedelta(minutes=5)  # tolerate clock differences with verifiers


@dataclass(frozen=True, slots=True)
class CaFiles:
    """Where `init_ca` wrote the chain: trust anchor, signing chain, signing key."""

    root_cert: Path
    chain: Path
    signing_key: Path


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DEVELOPMENT ONLY"),
        ]
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _signing_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _certificate(
    *,
    subject: x509.Name,
    subject_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    days: int,
    ca_path_length: int | None,
    now: datetime,
) -> x509.Certificate:
    """One certificate; `ca_path_length` None makes an end-entity (signing) certificate."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(subject_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key), critical=False)
    )
    if subject != issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if ca_path_length is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=ca_path_length), critical=True
        ).add_extension(_ca_key_usage(), critical=True)
    else:
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_signing_key_usage(), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                critical=False,
            )
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def init_ca(
    directory: Path,
    *,
    organisation: str = "consent_service development",
    days: int = 365,
    now: datetime | None = None,
) -> CaFiles:
    """Create a development root CA, an intermediate CA and a signing certificate in `directory`.

    Refuses (FileExistsError) to overwrite an existing chain. The signing key is written with
    mode 0600 and the directory with 0700.
    """
    now = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    files = CaFiles(directory / ROOT_CERT, directory / CHAIN, directory / SIGNING_KEY)
    for path in (files.root_cert, files.chain, files.signing_key):
        if path.exists():
            raise FileExistsError(f"{path} exists; choose an empty directory")

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("consent_service development root CA", organisation)
    root = _certificate(
        subject=root_name,
        subject_key=root_key.public_key(),
        issuer=root_name,
        issuer_key=root_key,
        days=days * 5,
        ca_path_length=1,
        now=now,
    )
    intermediate_key = ec.generate_private_key(ec.SECP256R1())
    intermediate_name = _name("consent_service development signing CA", organisation)
    intermediate = _certificate(
        subject=intermediate_name,
        subject_key=intermediate_key.public_key(),
        issuer=root_name,
        issuer_key=root_key,
        days=days * 2,
        ca_path_length=0,
        now=now,
    )
    signing_key = ec.generate_private_key(ec.SECP256R1())
    signing = _certificate(
        subject=_name("consent_service development C2PA signer", organisation),
        subject_key=signing_key.public_key(),
        issuer=intermediate_name,
        issuer_key=intermediate_key,
        days=days,
        ca_path_length=None,
        now=now,
    )

    files.root_cert.write_bytes(_pem(root))
    # The chain a manifest carries (x5chain): signing certificate first, then the intermediate;
    # the root stays out, the verifier has it as its trust anchor.
    files.chain.write_bytes(_pem(signing) + _pem(intermediate))
    key_pem = signing_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(files.signing_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
    return files
