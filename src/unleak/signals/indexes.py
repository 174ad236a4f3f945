"""A bank's live signals held for matching: compact arrays and Hamming indexes, no per-item objects.

A 1M-item bank must open and match within a memory bound of 1.5 GB, so the
signals are kept as NumPy arrays (ids, hashes, variant codes), labels are looked up only for
the items that match, and exact digests are found by binary search instead of a dict of strings.

- :class:`PdqBankIndex`: PDQ hashes (originals and their derived variants) in the exact
  multi-index hash of :mod:`unleak.index`.
- :class:`ExactLookup`: SHA-256 / MD5 digests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from unleak.index import build_index
from unleak.signals.base import BankRow, IndexHit, Signal


def pack_hex(values: Iterable[str], width: int = 32) -> npt.NDArray[np.uint8]:
    data = b"".join(bytes.fromhex(v) for v in values)
    return np.frombuffer(data, np.uint8).reshape(-1, width)


class PdqBankIndex:
    """The live PDQ signals of a bank: signal ids, their items and variants, in a Hamming index.

    `rows` are `(signal id, item id, label, hex value, variant)` as from
    `Bank.active_signals("pdq", with_variants=True)`; the labels are not kept.
    """

    def __init__(self, rows: Sequence[BankRow], threshold: int = 31) -> None:
        n = len(rows)
        self.threshold = threshold  # for `query`; `search` takes its own radius
        self.signal_ids = np.fromiter((r[0] for r in rows), np.int64, n)
        self.items = np.fromiter((r[1] for r in rows), np.int64, n)
        names: dict[str, int] = {"": 0}
        self.variant_code = np.fromiter(
            (names.setdefault(r[4] if len(r) > 4 else "", len(names)) for r in rows), np.int32, n
        )
        self.variant_names = list(names)
        self.hashes = pack_hex(r[3] for r in rows) if n else np.zeros((0, 32), np.uint8)
        order = np.argsort(self.signal_ids, kind="stable")
        if n and not np.array_equal(order, np.arange(n)):
            self.signal_ids, self.items = self.signal_ids[order], self.items[order]
            self.variant_code, self.hashes = self.variant_code[order], self.hashes[order]
        # Per item: its rows (positions sorted by item) and how many box / crop variants it has.
        self._by_item = np.argsort(self.items, kind="stable")
        self._item_sorted = self.items[self._by_item]
        is_crop = np.array([v.startswith("crop:") for v in self.variant_names], bool)
        is_box = np.array([bool(v) and not v.startswith("crop:") for v in self.variant_names], bool)
        self._box_of_row = is_box[self.variant_code]
        self._crop_of_row = is_crop[self.variant_code]
        self.index = build_index(self.signal_ids, self.hashes)

    def __len__(self) -> int:
        return int(self.signal_ids.shape[0])

    def _rows_of(self, item_id: int) -> npt.NDArray[np.int64]:
        lo, hi = np.searchsorted(self._item_sorted, [item_id, item_id + 1])
        return self._by_item[lo:hi]

    def counts(self, item_id: int) -> tuple[int, int]:
        """(box variants, crop variants) stored for one bank item."""
        rows = self._rows_of(item_id)
        return int(self._box_of_row[rows].sum()), int(self._crop_of_row[rows].sum())

    def hashes_of_item(self, item_id: int) -> list[tuple[str, str]]:
        """(variant, hex) of every live PDQ hash of one bank item."""
        return [
            (self.variant_names[self.variant_code[r]], self.hashes[r].tobytes().hex()) for r in self._rows_of(item_id)
        ]

    def query(self, signal: Signal) -> list[IndexHit]:
        """Bank items with a hash (original or derived) within `threshold` of the query, at their nearest."""
        nearest: dict[int, int] = {}
        for item, _variant, dist in self.search([signal.value], self.threshold)[0]:
            nearest[item] = min(dist, nearest.get(item, dist))
        return [IndexHit(i, d) for i, d in sorted(nearest.items())]

    def search(self, hex_values: Sequence[str], radius: int) -> list[list[tuple[int, str, int]]]:
        """For each query: (item id, bank variant, distance) of every bank hash within `radius`."""
        out: list[list[tuple[int, str, int]]] = [[] for _ in hex_values]
        if len(self) == 0 or not hex_values:
            return out
        result = self.index.search(pack_hex(hex_values), radius)
        rows = np.searchsorted(self.signal_ids, result.item)
        items, codes = self.items[rows].tolist(), self.variant_code[rows].tolist()
        for q, item, code, dist in zip(result.query.tolist(), items, codes, result.distance.tolist()):
            out[q].append((item, self.variant_names[code], dist))
        return out


class ExactLookup:
    """Bank items by exact digest (SHA-256 or MD5), by binary search over sorted digests."""

    def __init__(self, rows: Sequence[BankRow], digest_bytes: int) -> None:
        n = len(rows)
        digests = pack_hex((r[3] for r in rows), digest_bytes) if n else np.zeros((0, digest_bytes), np.uint8)
        keys = digests[:, :8].copy().view(">u8").reshape(-1) if n else np.zeros(0, ">u8")
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order].astype(np.uint64)
        self.digests = digests[order]
        self.items = np.fromiter((r[1] for r in rows), np.int64, n)[order]

    def find(self, hex_digest: str) -> list[int]:
        """Bank item ids whose digest is exactly this one."""
        try:
            digest = np.frombuffer(bytes.fromhex(hex_digest), np.uint8)
        except ValueError:
            return []
        if digest.shape[0] != self.digests.shape[1] or self.keys.shape[0] == 0:
            return []
        key = np.uint64(int.from_bytes(digest[:8].tobytes(), "big"))
        lo, hi = np.searchsorted(self.keys, key, "left"), np.searchsorted(self.keys, key, "right")
        return [int(self.items[i]) for i in range(lo, hi) if np.array_equal(self.digests[i], digest)]
