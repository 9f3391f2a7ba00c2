"""The Merkle tree over the stored log, at any size, without reading every leaf.

Perfect subtrees of `SUBTREE_SIZE` leaves are hashed once and cached in `audit_subtree` (filled
lazily here, the first time a tree head or proof needs them). Any RFC 9162 subtree hash is then
composed from cached subtree hashes and the leaf hashes of at most the one or two subtrees that
a request touches: a tree head at 1,000,000 events reads about 1,000 cached hashes and at most
1,023 leaf hashes, whatever the size.

Only complete subtrees of committed events are cached: events below the committed head never
change, so a cached hash never goes stale.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from consent_service.audit import merkle, repository

SUBTREE_SIZE = 1024
# Leaf hashes read per query while filling the cache (64 subtrees, 2 MiB of hex at most).
_FILL_BATCH = 64

LeafLoader = Callable[[int, int], list[bytes]]


def ensure_subtrees(session: Session, tree_size: int) -> list[bytes]:
    """Cache the hash of every complete subtree below `tree_size`; return them in order.

    Costs nothing when the cache is up to date; otherwise reads the new leaf hashes once.
    The caller's transaction writes the cache (concurrent writers of the same rows are fine).
    """
    wanted = tree_size // SUBTREE_SIZE
    have = repository.subtree_count(session)
    for first in range(have, wanted, _FILL_BATCH):
        last = min(first + _FILL_BATCH, wanted)
        leaves = repository.leaf_hashes(session, first * SUBTREE_SIZE, last * SUBTREE_SIZE)
        if len(leaves) != (last - first) * SUBTREE_SIZE:
            raise RuntimeError("audit_event has a hole below the committed head")
        hashes = [
            merkle.root_hash(leaves[i * SUBTREE_SIZE : (i + 1) * SUBTREE_SIZE])
            for i in range(last - first)
        ]
        repository.add_subtree_hashes(session, first, hashes)
    return repository.subtree_hashes(session, wanted)


class LogTree:
    """Subtree hashes, root and proofs of the log at one `tree_size`.

    `subtrees` are the cached hashes of the complete subtrees below `tree_size` (from
    `ensure_subtrees`); `load_leaves(start, end)` reads leaf hashes for the rest. Results are
    memoised, so many proofs against the same tree (a filtered export) stay cheap; memory is
    O(tree_size / SUBTREE_SIZE + SUBTREE_SIZE).
    """

    def __init__(self, tree_size: int, subtrees: list[bytes], load_leaves: LeafLoader) -> None:
        self.tree_size = tree_size
        self._subtrees = subtrees
        self._load_leaves = load_leaves
        self._upper: dict[tuple[int, int], bytes] = {}
        self._chunk_index = -1
        self._chunk: list[bytes] = []
        self._lower: dict[tuple[int, int], bytes] = {}

    def _leaf(self, index: int) -> bytes:
        chunk_index = index // SUBTREE_SIZE
        if chunk_index != self._chunk_index:
            start = chunk_index * SUBTREE_SIZE
            end = min(start + SUBTREE_SIZE, self.tree_size)
            leaves = self._load_leaves(start, end)
            if len(leaves) != end - start:
                raise RuntimeError("audit_event has a hole below the committed head")
            self._chunk_index, self._chunk, self._lower = chunk_index, leaves, {}
        return self._chunk[index - chunk_index * SUBTREE_SIZE]

    def subtree_hash(self, start: int, end: int) -> bytes:
        """MTH of the leaves start .. end-1 (a subtree of the RFC 9162 recursion)."""
        size = end - start
        if size == 1:
            return self._leaf(start)
        if size == SUBTREE_SIZE and start % SUBTREE_SIZE == 0:
            index = start // SUBTREE_SIZE
            if index < len(self._subtrees):
                return self._subtrees[index]
        memo = self._upper if size >= SUBTREE_SIZE else self._lower
        cached = memo.get((start, end))
        if cached is not None:
            return cached
        k = merkle.split_point(size)
        left = self.subtree_hash(start, start + k)
        right = self.subtree_hash(start + k, end)
        node = merkle.hash_children(left, right)
        # The lower memo belongs to the chunk loaded last; computing `right` may have replaced it.
        memo = self._upper if size >= SUBTREE_SIZE else self._lower
        memo[(start, end)] = node
        return node

    def root(self) -> bytes:
        if self.tree_size == 0:
            return merkle.EMPTY_ROOT
        return self.subtree_hash(0, self.tree_size)

    def inclusion_proof(self, seq: int) -> list[bytes]:
        return merkle.inclusion_proof(seq, self.tree_size, self.subtree_hash)

    def consistency_proof(self, old_size: int) -> list[bytes]:
        return merkle.consistency_proof(old_size, self.tree_size, self.subtree_hash)


def open_tree(session: Session, tree_size: int) -> LogTree:
    """The tree at `tree_size` (<= the committed size), reading leaves through `session`."""
    subtrees = ensure_subtrees(session, tree_size)
    return LogTree(
        tree_size, subtrees, lambda start, end: repository.leaf_hashes(session, start, end)
    )
