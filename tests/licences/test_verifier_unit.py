"""The offline verifier and the status-list encoding as pure functions (no server)."""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consent_service.crypto import signing
from consent_service.licences import verifier
from consent_service.licences.status_list import encode_lst, status_list_claims
from consent_service.licences.verifier import CannotCheck, ProposedUse, Verifier
from consent_service.ops.rate_limit import RateLimiter

ISSUER = "https://consent.example"
LIST_URI = f"{ISSUER}/v1/status-lists/sl_test"


class Signer:
    def __init__(self) -> None:
        key = signing.generate_private_key()
        self.pem = signing.private_key_to_pem(key)
        self.jwk = signing.public_jwk_of(key)
        self.kid = self.jwk["kid"]

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}

    def sign(self, payload: dict[str, Any], typ: str) -> str:
        return signing.sign(payload, private_pem=self.pem, kid=self.kid, typ=typ)


def licence_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "hld_x",
        "aud": "org_y",
        "jti": "lic_z",
        "iat": now,
        "nbf": now - 10,
        "exp": now + 3600,
        "consent": "cns_w",
        "scope": {
            "attributes": ["face"],
            "purposes": ["film_tv"],
            "territories": ["GB", "IE"],
            "media": ["streaming"],
            "project": "Night Train",
            "prohibited_uses": ["political_endorsement"],
        },
        "status": {"status_list": {"idx": 7, "uri": LIST_URI}},
    }
    claims.update(overrides)
    return claims


def status_list_token(signer: Signer, entries: list[tuple[int, int]], **overrides: Any) -> str:
    claims = status_list_claims(
        issuer=ISSUER,
        uri=LIST_URI,
        lst=encode_lst(entries, size=131072),
        bits=2,
        ttl=300,
        now=datetime.now(UTC),
    )
    claims.update(overrides)
    return signer.sign(claims, verifier.STATUS_LIST_TYP)


def offline_for(signer: Signer) -> Verifier:
    return Verifier.from_documents(jwks=signer.jwks, status_lists=[status_list_token(signer, [])])


def test_status_list_encoding_follows_the_draft_bit_order():
    # The draft's example for bits=2: statuses [1,2,0,3, 0,1,0,1, 1,2,3,3] -> c9 44 f9.
    entries = list(enumerate([1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]))
    lst = encode_lst(entries, size=12, bits=2)
    data = zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))
    assert data == bytes([0xC9, 0x44, 0xF9])
    decoded = verifier.StatusList(LIST_URI, 2, verifier.decode_lst(lst), 0, None, None)
    assert [decoded.status_at(i) for i in range(12)] == [s for _i, s in entries]


def test_random_entries_round_trip_through_a_full_size_list():
    rng = random.Random(7)
    entries = {rng.randrange(131072): rng.choice([1, 2]) for _ in range(2000)}
    lst = encode_lst(entries.items(), size=131072)
    decoded = verifier.StatusList(LIST_URI, 2, verifier.decode_lst(lst), 0, None, None)
    assert len(decoded.data) == 131072 * 2 // 8
    for index in list(entries)[:500]:
        assert decoded.status_at(index) == entries[index]
    assert decoded.status_at(next(i for i in range(131072) if i not in entries)) == 0


def test_offline_verifier_reads_each_status_from_the_list():
    signer = Signer()
    status = status_list_token(signer, [(1, 1), (2, 2)])
    offline = Verifier.from_documents(jwks=signer.jwks, status_lists=[status])
    codes = {}
    for idx in (0, 1, 2):
        token = signer.sign(
            licence_claims(status={"status_list": {"idx": idx, "uri": LIST_URI}}),
            verifier.LICENCE_TYP,
        )
        codes[idx] = offline.verify(token).code
    assert codes == {0: "VALID", 1: "REVOKED", 2: "SUSPENDED"}


def test_time_checks_use_the_clock_skew_and_the_proposed_time():
    signer = Signer()
    offline = offline_for(signer)
    now = int(time.time())
    expired = signer.sign(licence_claims(exp=now - 120), verifier.LICENCE_TYP)
    early = signer.sign(licence_claims(nbf=now + 3600), verifier.LICENCE_TYP)
    assert offline.verify(expired).code == "EXPIRED"
    assert offline.verify(early).code == "NOT_YET_VALID"
    later = ProposedUse(at=datetime.now(UTC) + timedelta(minutes=61))
    early = signer.sign(licence_claims(nbf=now + 3600, exp=now + 7200), verifier.LICENCE_TYP)
    assert offline.verify(early, later).code == "VALID"


@pytest.mark.parametrize(
    ("use", "code"),
    [
        ("attribute=face,purpose=film_tv,territory=GB,medium=streaming", "VALID"),
        ("attribute=voice", "SCOPE_MISMATCH"),
        ("purpose=advertising", "SCOPE_MISMATCH"),
        ("territory=US", "SCOPE_MISMATCH"),
        ("territory=WORLDWIDE", "SCOPE_MISMATCH"),
        ("medium=broadcast", "SCOPE_MISMATCH"),
        ("project=Other", "SCOPE_MISMATCH"),
        ("attribute=face,category=political_endorsement", "SCOPE_MISMATCH"),
    ],
)
def test_proposed_use_is_checked_in_every_dimension(use: str, code: str):
    signer = Signer()
    offline = offline_for(signer)
    token = signer.sign(licence_claims(), verifier.LICENCE_TYP)
    assert offline.verify(token, ProposedUse.parse(use)).code == code


def test_a_worldwide_licence_covers_any_territory():
    scope = {"territories": ["WORLDWIDE"], "attributes": ["face"]}
    assert verifier.use_outside_scope(scope, ProposedUse(territory="JP")) is None
    assert verifier.use_outside_scope(scope, ProposedUse(territory="WORLDWIDE")) is None


def test_other_keys_algorithms_and_types_are_refused():
    signer, stranger = Signer(), Signer()
    offline = offline_for(signer)
    claims = licence_claims()
    assert offline.verify(stranger.sign(claims, verifier.LICENCE_TYP)).code == "UNKNOWN_KEY"
    # A stranger's signature under the trusted kid.
    forged = signing.sign(claims, private_pem=stranger.pem, kid=signer.kid, typ="licence+jwt")
    assert offline.verify(forged).code == "BAD_SIGNATURE"
    # Tampered payload, same signature.
    good = signer.sign(claims, verifier.LICENCE_TYP)
    header, _payload, sig = good.split(".")
    bigger = dict(claims, scope=dict(claims["scope"], attributes=["face", "voice"]))
    payload = base64.urlsafe_b64encode(json.dumps(bigger).encode()).rstrip(b"=").decode()
    assert offline.verify(f"{header}.{payload}.{sig}").code == "BAD_SIGNATURE"
    # alg none and HS256 are refused before any key is touched.
    for alg in ("none", "HS256"):
        head = (
            base64.urlsafe_b64encode(
                json.dumps({"alg": alg, "kid": signer.kid, "typ": "licence+jwt"}).encode()
            )
            .rstrip(b"=")
            .decode()
        )
        assert offline.verify(f"{head}.{payload}.").code == "MALFORMED"
    # A status list is not a licence.
    assert offline.verify(status_list_token(signer, [])).code == "MALFORMED"
    # Another issuer signing with a trusted key is not this issuer's licence.
    pinned = Verifier.from_documents(
        jwks=signer.jwks, status_lists=[status_list_token(signer, [])], issuer=ISSUER
    )
    other = signer.sign(licence_claims(iss="https://elsewhere.example"), verifier.LICENCE_TYP)
    assert pinned.verify(other).code == "MALFORMED"


def test_garbage_never_raises_and_is_malformed():
    signer = Signer()
    offline = offline_for(signer)
    rng = random.Random(1)
    alphabet = 'abcXYZ019-_.=/+ \x00é€😀{}":,'
    samples: list[Any] = ["", ".", "..", "...", "a.b.c", "e30.e30.", None, 42, b"x.y.z"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(80))) for _ in range(300)]
    for sample in samples:
        assert offline.verify(sample).code == "MALFORMED"


def test_a_stale_or_foreign_status_list_cannot_check():
    signer = Signer()
    stale = status_list_token(signer, [], exp=int(time.time()) - 120)
    with pytest.raises(CannotCheck, match="expired"):
        Verifier.from_documents(jwks=signer.jwks, status_lists=[stale])
    with pytest.raises(CannotCheck, match="does not verify"):
        Verifier.from_documents(jwks=Signer().jwks, status_lists=[status_list_token(signer, [])])
    # A licence pointing at a list we do not have.
    offline = offline_for(signer)
    elsewhere = {"status_list": {"idx": 1, "uri": f"{ISSUER}/v1/status-lists/sl_other"}}
    token = signer.sign(licence_claims(status=elsewhere), verifier.LICENCE_TYP)
    with pytest.raises(CannotCheck, match="no status list"):
        offline.verify(token)


def test_http_sources_are_cached_for_their_ttl():
    signer = Signer()
    fetched: list[str] = []
    clock = [time.time()]

    def fetch(url: str) -> tuple[bytes, dict[str, str]]:
        fetched.append(url)
        if url.endswith("/.well-known/jwks.json"):
            return json.dumps(signer.jwks).encode(), {"cache-control": "public, max-age=300"}
        assert url == LIST_URI
        # Like the service: a list built at fetch time, valid for its ttl.
        iat = int(clock[0])
        status = status_list_token(signer, [(7, 1)], iat=iat, exp=iat + 300)
        return status.encode(), {}

    online = Verifier.for_issuer(ISSUER, fetch=fetch)
    online.clock = lambda: clock[0]
    token = signer.sign(licence_claims(), verifier.LICENCE_TYP)
    assert online.verify(token).code == "REVOKED"
    assert online.verify(token).code == "REVOKED"
    assert len(fetched) == 2  # one JWKS, one status list
    clock[0] += 301
    assert online.verify(token).code == "REVOKED"
    assert len(fetched) == 4


def test_http_verifier_refuses_status_lists_of_other_origins():
    signer = Signer()

    def fetch(url: str) -> tuple[bytes, dict[str, str]]:
        assert url.endswith("/.well-known/jwks.json"), url
        return json.dumps(signer.jwks).encode(), {}

    online = Verifier.for_issuer(ISSUER, fetch=fetch)
    elsewhere = {"status_list": {"idx": 1, "uri": "http://169.254.169.254/latest"}}
    token = signer.sign(licence_claims(status=elsewhere), verifier.LICENCE_TYP)
    with pytest.raises(CannotCheck, match="not served by the issuer"):
        online.verify(token)


def test_a_file_status_list_older_than_its_ttl_cannot_be_used():
    # A withdrawal must reach offline verifiers within the list's ttl, also from files.
    signer = Signer()
    offline = offline_for(signer)
    token = signer.sign(licence_claims(), verifier.LICENCE_TYP)
    assert offline.verify(token).code == "VALID"
    offline.clock = lambda: time.time() + 301
    with pytest.raises(CannotCheck, match="expired"):
        offline.verify(token)


def test_rate_limiter_refuses_past_the_limit_per_address():
    limiter = RateLimiter(per_minute=3)
    assert [limiter.acquire("a") for _ in range(3)] == [None, None, None]
    assert limiter.acquire("a") is not None
    assert limiter.acquire("b") is None


def test_verifier_module_imports_nothing_of_the_server():
    code = (
        "import sys, consent_service.licences.verifier as v; "
        "bad = [m for m in sys.modules if m.startswith(('fastapi', 'sqlalchemy', 'sqlmodel',"
        " 'starlette', 'psycopg', 'consent_service')) and m not in ('consent_service',"
        " 'consent_service.crypto', 'consent_service.crypto.signing', 'consent_service.licences',"
        " 'consent_service.licences.verifier', 'consent_service.licences.scope')];"
        " print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_verifier_remembers_the_headers_it_has_checked():
    signer = Signer()
    first, second = offline_for(signer), offline_for(signer)
    token = signer.sign(licence_claims(), verifier.LICENCE_TYP)
    assert first.verify(token).code == "VALID"
    assert len(first._headers) == 1 and len(second._headers) == 0
    # A remembered header skips only the form checks: the signature is still checked.
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    assert first.verify(forged).code in ("BAD_SIGNATURE", "MALFORMED")
    assert first.verify(token).code == "VALID"
    # A bad header is never remembered.
    none_alg = base64.urlsafe_b64encode(b'{"alg":"none","kid":"x"}').rstrip(b"=").decode()
    assert first.verify(f"{none_alg}.{payload}.{signature}").code == "MALFORMED"
    assert len(first._headers) == 1


def test_the_header_cache_starts_over_when_full():
    headers = verifier.HeaderCache(max_entries=2)
    headers.remember("a", "kid-a")
    headers.remember("b", "kid-b")
    assert (headers.kid_of("a"), headers.kid_of("b"), headers.kid_of("c")) == (
        "kid-a",
        "kid-b",
        None,
    )
    headers.remember("c", "kid-c")
    assert (headers.kid_of("a"), headers.kid_of("c"), len(headers)) == (None, "kid-c", 1)


def test_a_demanded_assurance_is_met_only_by_an_equal_or_higher_claim():
    signer = Signer()
    offline = offline_for(signer)

    def code(claims: dict[str, Any], level: str | None) -> str:
        return offline.verify(signer.sign(claims, verifier.LICENCE_TYP), min_assurance=level).code

    document = licence_claims(holder_assurance="document_verified")
    assert code(document, None) == "VALID"
    assert code(document, "self_asserted") == "VALID"
    assert code(document, "document_verified") == "VALID"
    assert code(document, "liveness_verified") == "INSUFFICIENT_ASSURANCE"
    # A licence issued before the claim existed, or with a level nobody defined, meets none.
    assert code(licence_claims(), "self_asserted") == "INSUFFICIENT_ASSURANCE"
    assert code(licence_claims(holder_assurance="very_sure"), "self_asserted") == (
        "INSUFFICIENT_ASSURANCE"
    )
    # A revoked licence stays REVOKED whatever its level (status comes first).
    revoked = Verifier.from_documents(
        jwks=signer.jwks, status_lists=[status_list_token(signer, [(7, 1)])]
    )
    token = signer.sign(document, verifier.LICENCE_TYP)
    assert revoked.verify(token, min_assurance="liveness_verified").code == "REVOKED"
    verdict = offline.verify(token, min_assurance="liveness_verified")
    assert not verdict.valid and verdict.to_dict()["holder_assurance"] == "document_verified"
    with pytest.raises(ValueError):
        offline.verify(token, min_assurance="somewhat")


def test_a_licence_issued_to_another_organisation_answers_audience_mismatch():
    signer = Signer()
    offline = offline_for(signer)
    token = signer.sign(licence_claims(aud="org_y"), verifier.LICENCE_TYP)
    assert offline.verify(token, audience="org_y").code == "VALID"
    mismatch = offline.verify(token, audience="org_other")
    assert (mismatch.code, mismatch.valid, mismatch.studio_id) == (
        "AUDIENCE_MISMATCH",
        False,
        "org_y",
    )
    # The audience is checked before time and status: another studio learns nothing more.
    expired = signer.sign(licence_claims(exp=int(time.time()) - 600), verifier.LICENCE_TYP)
    assert offline.verify(expired, audience="org_other").code == "AUDIENCE_MISMATCH"
    assert offline.verify(expired, audience="org_y").code == "EXPIRED"
    # Without an audience nothing about it is checked (the old behaviour).
    assert offline.verify(token).code == "VALID"


class CountingKey:
    """A real public key that counts its signature verifications."""

    def __init__(self, key: Any) -> None:
        self.key, self.verifications = key, 0

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        self.verifications += 1
        return bool(self.key.verify(signing_input, signature))


def test_a_known_token_skips_only_the_signature_check():
    signer = Signer()
    key = CountingKey(signing.keys_from_jwks(signer.jwks)[signer.kid])
    published: dict[str, Any] = {signer.kid: key}
    statuses = {7: verifier.STATUS_VALID}
    known = verifier.KnownTokens()
    token = signer.sign(licence_claims(), verifier.LICENCE_TYP)

    def check(at: datetime | None = None, **options: Any) -> str:
        return verifier.check_licence(
            token,
            key_for=published.get,
            status_of=lambda _jti, ref: statuses[ref.idx],
            issuer=ISSUER,
            now=at,
            known=known,
            **options,
        ).code

    assert [check() for _ in range(5)] == ["VALID"] * 5
    assert key.verifications == 1 and len(known) == 1
    # Status, time, audience, assurance and use are checked on every call.
    statuses[7] = verifier.STATUS_SUSPENDED
    assert check() == "SUSPENDED"
    statuses[7] = verifier.STATUS_VALID
    assert check(at=datetime.now(UTC) + timedelta(hours=2)) == "EXPIRED"
    assert check(audience="org_other") == "AUDIENCE_MISMATCH"
    assert check(min_assurance="self_asserted") == "INSUFFICIENT_ASSURANCE"
    assert check(use=ProposedUse(territory="US")) == "SCOPE_MISMATCH"
    assert check(use=ProposedUse(territory="IE")) == "VALID"
    assert key.verifications == 1
    # A withdrawn key stops a known token at once; a new key object means a fresh check.
    del published[signer.kid]
    assert check() == "UNKNOWN_KEY"
    published[signer.kid] = CountingKey(key.key)
    assert check() == "VALID"
    assert published[signer.kid].verifications == 1
    # A bad token is never remembered.
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    bad = verifier.check_licence(
        forged, key_for=published.get, status_of=lambda *_: 0, issuer=ISSUER, known=known
    )
    assert bad.code in ("BAD_SIGNATURE", "MALFORMED")
    assert len(known) == 1 and known.get(forged) is None


def test_a_verdicts_scope_cannot_widen_what_the_next_check_allows():
    signer = Signer()
    offline = offline_for(signer)
    token = signer.sign(licence_claims(), verifier.LICENCE_TYP)
    first = offline.verify(token)
    assert first.scope is not None
    first.scope["territories"].append("US")
    assert offline.verify(token, ProposedUse(territory="US")).code == "SCOPE_MISMATCH"


def test_the_known_token_cache_drops_the_least_recently_used():
    signer = Signer()
    offline = offline_for(signer)
    known = verifier.KnownTokens(max_entries=2)
    tokens = [signer.sign(licence_claims(jti=f"lic_{i}"), verifier.LICENCE_TYP) for i in range(3)]

    def check(token: str) -> str:
        return verifier.check_licence(
            token,
            key_for=offline._key_for,
            status_of=offline._status_of,
            issuer=ISSUER,
            known=known,
        ).code

    assert [check(t) for t in tokens[:2]] == ["VALID", "VALID"]
    assert check(tokens[0]) == "VALID"  # now the most recently used
    assert check(tokens[2]) == "VALID"  # drops tokens[1]
    assert len(known) == 2
    assert known.get(tokens[0]) is not None and known.get(tokens[2]) is not None
    assert known.get(tokens[1]) is None
    with pytest.raises(ValueError):
        verifier.KnownTokens(max_entries=0)
