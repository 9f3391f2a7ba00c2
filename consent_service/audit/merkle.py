"""Merkle tree hashing, inclusion and consistency proofs as in RFC 9162 (Certificate Transparency
v2, which keeps the RFC 6962 tree).

- Leaf hash: `SHA-256(0x00 || entry)`; interior node: `SHA-256(0x01 || left || right)`
  (RFC 9162 §2.1.1). The hash of the empty tree is `SHA-256("")`.
- The tree over `n` leaves splits at `k`, the largest power of two smaller than `n`
  (§2.1.1), so every subtree is either perfect and aligned, or the right edge of the tree.
- Proof *generation* (§2.1.3.1 PATH, §2.1.4.1 SUBPROOF) is written once, against a function
  `subtree_hash(start, end)` returning `MTH(D[start:end])`. Whoever holds the tree decides how
  to compute those hashes (from a list in memory, or from hashes cached in a database).
- Proof *verification* (§2.1.3.2, §2.1.4.2) follows the RFC's algorithms step by step.

This module is pure (hashlib only) so that the offline verifier can use it without a server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

SubtreeHash = Callable[[int, int], bytes]
"""`subtree_hash(start, end)`: the Merkle tree hash of the leaves `start .. end-1`."""


class ProofError(ValueError):
    """The arguments of a proof request are outside the tree (e.g. index >= size)."""


def hash_leaf(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1 leaf hash: `SHA-256(0x00 || entry)`."""
    return hashlib.sha256(b"\x00" + entry).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1 interior node hash: `SHA-256(0x01 || left || right)`."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two strictly smaller than `size` (`size` >= 2)."""
    if size < 2:
        raise ProofError("a tree of fewer than two leaves has no split point")
    return 1 << ((size - 1).bit_length() - 1)


class CompactRange:
    """Streaming root computation: append leaf hashes, read the root at any point.

    Keeps one hash per set bit of the number of leaves (the perfect subtrees on the left edge
    of the tree), so memory is O(log n) and each append costs one hash amortised.
    """

    __slots__ = ("_hashes", "_sizes", "size")

    def __init__(self) -> None:
        self._hashes: list[bytes] = []
        self._sizes: list[int] = []
        self.size = 0

    def append(self, leaf_hash: bytes) -> None:
        """Add the next leaf (its leaf hash, not its entry)."""
        hashes, sizes = self._hashes, self._sizes
        node, node_size = leaf_hash, 1
        sha256 = hashlib.sha256
        while sizes and sizes[-1] == node_size:
            node = sha256(b"\x01" + hashes.pop() + node).digest()
            node_size += sizes.pop()
        hashes.append(node)
        sizes.append(node_size)
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves appended so far (RFC 9162 §2.1.1)."""
        if not self._hashes:
            return EMPTY_ROOT
        # The right edge folds from the smallest subtree upwards: MTH splits at the largest
        # power of two, so the rightmost subtrees join first.
        node = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            node = hash_children(left, node)
        return node


def root_hash(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH over a sequence of leaf hashes, streamed in O(log n) memory."""
    compact = CompactRange()
    for leaf in leaf_hashes:
        compact.append(leaf)
    return compact.root()


def memory_subtree_hash(leaf_hashes: Sequence[bytes]) -> SubtreeHash:
    """A `subtree_hash` over leaf hashes held in memory (memoised; for tests and small trees)."""
    memo: dict[tuple[int, int], bytes] = {}

    def subtree_hash(start: int, end: int) -> bytes:
        if end - start == 1:
            return leaf_hashes[start]
        cached = memo.get((start, end))
        if cached is None:
            k = split_point(end - start)
            cached = hash_children(subtree_hash(start, start + k), subtree_hash(start + k, end))
            memo[(start, end)] = cached
        return cached

    return subtree_hash


# -- generation ---------------------------------------------------------------------------------


def inclusion_proof(index: int, size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[size]): the audit path of leaf `index`, leaf to root."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    # PATH recurses towards the leaf and appends on the way back, so the sibling nearest the
    # root comes last; iterate down and reverse at the end.
    while end - start > 1:
        k = split_point(end - start)
        if index - start < k:
            proof.append(subtree_hash(start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k))
            start = start + k
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true), for 0 < m <= n."""
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to size {new_size}")
    proof: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                proof.append(subtree_hash(start, end))
            break
        k = split_point(n)
        if m <= k:
            proof.append(subtree_hash(start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k))
            start, m, complete = start + k, m - k, False
    proof.reverse()
    return proof


# -- verification -------------------------------------------------------------------------------


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root implied by an audit path, or None if the path is malformed."""
    # 1. The leaf must be in the tree, every proof element a hash.
    if not 0 <= index < size or any(len(p) != HASH_SIZE for p in proof):
        return None
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        # 2. A path longer than the tree is deep is not a path of this tree.
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            # 3. Skip the levels where this node has no right sibling (the right edge).
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    # 4. A path shorter than the tree is deep leaves sn above zero.
    if sn != 0:
        return None
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True when `proof` shows leaf `index` with `leaf_hash` is in the tree of `size` → `root`."""
    return root_from_inclusion_proof(leaf_hash, index, size, proof) == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: True when the tree of `new_size` extends the tree of `old_size`."""
    # 1. Sizes in order; equal trees have an empty proof and the same root.
    if not 0 <= old_size <= new_size or any(len(p) != HASH_SIZE for p in proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        # Every tree extends the empty tree; nothing to prove.
        return not proof
    if not proof:
        return False
    # 2. When the old tree is a perfect subtree, its root is the first node of the path.
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    # 3. Climb past the levels where the old tree's last leaf is a right child.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    # 4. Both reconstructed roots must match and the path must reach the top of the new tree.
    return fr == old_root and sr == new_root and sn == 0
