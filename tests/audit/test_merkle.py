"""RFC 9162 Merkle tree: hand-computed trees, the RFC's definitions, proofs for sizes 1..64."""

from __future__ import annotations

import hashlib

import pytest

from consent_service.audit import merkle
from consent_service.audit.tree import SUBTREE_SIZE, LogTree

# The leaves and roots of the Certificate Transparency reference test vectors.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(entries: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, transcribed literally (the reference the fast code is checked against)."""
    n = len(entries)
    if n == 0:
        return sha(b"")
    if n == 1:
        return sha(b"\x00" + entries[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return sha(b"\x01" + mth(entries[:k]) + mth(entries[k:]))


def path(m: int, entries: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), literally."""
    n = len(entries)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return path(m, entries[:k]) + [mth(entries[k:])]
    return path(m - k, entries[k:]) + [mth(entries[:k])]


def subproof(m: int, entries: list[bytes], b: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b), literally."""
    n = len(entries)
    if m == n:
        return [] if b else [mth(entries)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, entries[:k], b) + [mth(entries[k:])]
    return subproof(m - k, entries[k:], False) + [mth(entries[:k])]


ENTRIES = [f"entry {i}".encode() for i in range(64)]
LEAVES = [merkle.hash_leaf(e) for e in ENTRIES]


def test_hand_computed_trees_of_one_two_and_three_leaves() -> None:
    a, b, c = (merkle.hash_leaf(x) for x in (b"a", b"b", b"c"))
    assert merkle.root_hash([]) == sha(b"")
    assert merkle.root_hash([a]) == sha(b"\x00a")
    assert merkle.root_hash([a, b]) == sha(b"\x01" + sha(b"\x00a") + sha(b"\x00b"))
    # Three leaves split 2 + 1: the lone right leaf is not paired with a copy of itself.
    assert merkle.root_hash([a, b, c]) == sha(b"\x01" + merkle.hash_children(a, b) + c)
    assert merkle.inclusion_proof(2, 3, merkle.memory_subtree_hash([a, b, c])) == [
        merkle.hash_children(a, b)
    ]


def test_roots_match_the_certificate_transparency_test_vectors() -> None:
    leaves = [merkle.hash_leaf(e) for e in CT_LEAVES]
    for size in range(1, 9):
        assert merkle.root_hash(leaves[:size]).hex() == CT_ROOTS[size - 1]


@pytest.mark.parametrize("size", range(1, 65))
def test_root_and_every_proof_follow_the_rfc_definitions(size: int) -> None:
    entries, leaves = ENTRIES[:size], LEAVES[:size]
    root = mth(entries)
    assert merkle.root_hash(leaves) == root
    hasher = merkle.memory_subtree_hash(leaves)
    for index in range(size):
        proof = merkle.inclusion_proof(index, size, hasher)
        assert proof == path(index, entries)
        assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
        # A proof for the wrong leaf, position or size does not verify.
        assert not merkle.verify_inclusion(LEAVES[(index + 1) % 64], index, size, proof, root)
        if size > 1:
            assert not merkle.verify_inclusion(leaves[index], (index + 1) % size, size, proof, root)
        # A path too long or too short for the tree is not a path of this tree.
        assert not merkle.verify_inclusion(leaves[index], index, size, [*proof, root], root)
        if proof:
            assert not merkle.verify_inclusion(leaves[index], index, size, proof[:-1], root)
    for old in range(1, size + 1):
        proof = merkle.consistency_proof(old, size, hasher)
        assert proof == subproof(old, entries, True)
        old_root = mth(entries[:old])
        assert merkle.verify_consistency(old, size, old_root, root, proof)
        assert not merkle.verify_consistency(old, size, sha(b"other"), root, proof)
        if old < size:
            assert not merkle.verify_consistency(old, size, old_root, sha(b"other"), proof)
            assert not merkle.verify_consistency(old, size, old_root, root, proof[:-1])


def test_a_tampered_proof_element_fails_verification() -> None:
    hasher = merkle.memory_subtree_hash(LEAVES[:13])
    root = merkle.root_hash(LEAVES[:13])
    proof = merkle.inclusion_proof(6, 13, hasher)
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = sha(bad[i])
        assert not merkle.verify_inclusion(LEAVES[6], 6, 13, bad, root)
    consistency = merkle.consistency_proof(5, 13, hasher)
    for i in range(len(consistency)):
        bad = list(consistency)
        bad[i] = sha(bad[i])
        assert not merkle.verify_consistency(5, 13, merkle.root_hash(LEAVES[:5]), root, bad)


def test_out_of_range_requests_are_refused() -> None:
    hasher = merkle.memory_subtree_hash(LEAVES[:4])
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(4, 4, hasher)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(0, 4, hasher)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(5, 4, hasher)
    assert not merkle.verify_inclusion(LEAVES[0], 0, 0, [], merkle.EMPTY_ROOT)


def test_compact_range_gives_the_root_at_every_size() -> None:
    compact = merkle.CompactRange()
    for size in range(1, 65):
        compact.append(LEAVES[size - 1])
        assert compact.root() == mth(ENTRIES[:size])


@pytest.mark.parametrize("size", [1, 1023, 1024, 1025, 2048, 3000, 4096 + 7])
def test_cached_subtrees_give_the_same_hashes_and_proofs_as_the_leaves(size: int) -> None:
    leaves = [merkle.hash_leaf(i.to_bytes(4, "big")) for i in range(size)]
    full = size // SUBTREE_SIZE
    subtrees = [
        merkle.root_hash(leaves[i * SUBTREE_SIZE : (i + 1) * SUBTREE_SIZE]) for i in range(full)
    ]
    loads: list[tuple[int, int]] = []

    def load(start: int, end: int) -> list[bytes]:
        loads.append((start, end))
        return leaves[start:end]

    tree = LogTree(size, subtrees, load)
    root = merkle.root_hash(leaves)
    assert tree.root() == root
    # A tree head reads at most the leaves of the partial subtree at the right edge.
    assert sum(end - start for start, end in loads) == size % SUBTREE_SIZE
    reference = merkle.memory_subtree_hash(leaves)
    for seq in {0, size // 2, size - 1, min(1500, size - 1)}:
        proof = tree.inclusion_proof(seq)
        assert proof == merkle.inclusion_proof(seq, size, reference)
        assert merkle.verify_inclusion(leaves[seq], seq, size, proof, root)
    for old in {1, size // 3 or 1, size}:
        assert tree.consistency_proof(old) == merkle.consistency_proof(old, size, reference)
