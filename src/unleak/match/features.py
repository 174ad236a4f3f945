"""The originals' local features, computed once and kept in the data folder.

Owner-side verification (unleak.match.verify) compares a candidate's SIFT features with its
originals'. Computing an original's features costs a decode of the file and a SIFT pass (0.1-0.3 s
each); doing it for every original on every `unleak match` made one match of one file take minutes
with a thousand originals. So the features are computed at protect time (and, for banks protected
before, on first use) and kept here:

- ``features/items/<sha256[:2]>/<sha256>.npz``: one protected file's keypoints, raw SIFT
  descriptors (uint8, exact: OpenCV's SIFT descriptors are whole numbers 0-255), responses, the
  work image's size and scale, and a JPEG of the grey work image for the photometric check.
  Keyed by the SHA-256 the bank recorded, i.e. by the protected content.
- ``features/pools/<key>.npz`` + ``.flann``: the shortlist's pool (the ``POOL_PER_ITEM``
  strongest descriptors of every original of a bank, and where each lies in its original) with
  its saved kd-tree, keyed by the set of originals; another set (an item protected or removed)
  makes a new one, the older are removed.

These are as sensitive as the hashes (descriptors can be partly inverted to an image, and the
JPEG *is* a small grey copy): they live in the private data folder (0700/0600), are never part
of any export, and are deleted with the folder.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np

from unleak.config import private_dir, write_private
from unleak.registration.align import seed_kd_trees

VERSION = 1  # bump when the extraction changes: older files are then recomputed
POOL_FORMAT = 2  # 2: the pool keeps its keypoints' positions (the shortlist checks their geometry)
POOL_PER_ITEM = 300  # strongest descriptors per original in the shortlist's pool
POOL_TREES = 4
KEEP_POOLS = 4


def raw_sift(gray_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points (n, 2) float32, raw descriptors (n, 128) uint8, responses (n,) float32) of a work image."""
    from unleak.match.verify import CLAHE, sift

    kps, found = sift().detectAndCompute(CLAHE.apply(gray_u8), None)
    if found is None or len(kps) == 0:
        return np.zeros((0, 2), np.float32), np.zeros((0, 128), np.uint8), np.zeros(0, np.float32)
    pts = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
    resp = np.array([k.response for k in kps], np.float32)
    return pts, np.clip(np.rint(found), 0, 255).astype(np.uint8), resp


class FeatureCache:
    """Per-original features and per-bank shortlist pools under `root` (the data folder's
    ``features``). Every write is private (0600 files in 0700 folders) and atomic."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> FeatureCache:
        from unleak.config import home

        return cls(home() / "features")

    # --- one original --------------------------------------------------------------------
    def _item_path(self, sha256: str) -> Path:
        return self.root / "items" / sha256[:2] / f"{sha256}.npz"

    def has(self, sha256: str) -> bool:
        return self._item_path(sha256).is_file()

    def put(self, sha256: str, pixels: np.ndarray) -> None:
        """Compute and store the features of a protected image."""
        from unleak.match.verify import gray_work

        gray, scale = gray_work(np.asarray(pixels))
        pts, des, resp = raw_sift(gray)
        ok, jpg = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, 92])
        a = np.asarray(pixels)
        buf = io.BytesIO()
        np.savez(
            buf,
            version=np.array([VERSION]),
            points=pts,
            descriptors=des,
            response=resp,
            shape=np.array([a.shape[0], a.shape[1], gray.shape[0], gray.shape[1]], np.int64),
            scale=np.array([scale]),
            gray=jpg.ravel() if ok else np.zeros(0, np.uint8),
        )
        path = self._item_path(sha256)
        private_dir(path.parent)
        write_private(path, buf.getvalue())

    def get(self, sha256: str) -> dict[str, np.ndarray] | None:
        """The stored arrays, or None when absent, unreadable or of another version."""
        try:
            with np.load(self._item_path(sha256)) as z:
                if int(z["version"][0]) != VERSION:
                    return None
                return {k: z[k] for k in ("points", "descriptors", "response", "shape", "scale", "gray")}
        except (OSError, ValueError, KeyError, EOFError):
            return None

    def ensure(self, sha256: str, load: Callable[[], np.ndarray]) -> dict[str, np.ndarray] | None:
        """The stored arrays, computed from `load()` first when missing (an older bank)."""
        got = self.get(sha256)
        if got is None:
            self.put(sha256, load())
            got = self.get(sha256)
        return got

    # --- the shortlist's pool ----------------------------------------------------------------
    @staticmethod
    def pool_key(digests: Iterable[str]) -> str:
        h = hashlib.blake2b(digest_size=12)
        h.update(f"v{VERSION}/{POOL_PER_ITEM}/{POOL_TREES}/p{POOL_FORMAT}\n".encode())
        for d in sorted(digests):
            h.update(d.encode() + b"\n")
        return h.hexdigest()

    def load_pool(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], cv2.flann.Index] | None:
        """(descriptors float32, owner index per descriptor, keypoint positions (n, 2) in their
        originals' work images, digests, kd-tree) of a saved pool."""
        base = self.root / "pools" / key
        try:
            with np.load(base.with_suffix(".npz")) as z:
                raw, owner, points = z["descriptors"], z["owner"], z["points"]
                names = [str(x) for x in z["digests"]]
            des = root_sift(raw)
            index = cv2.flann.Index()
            if not index.load(des, str(base.with_suffix(".flann"))):
                return None
        except (OSError, ValueError, KeyError, EOFError, cv2.error):
            return None
        return des, owner, points, names, index

    def save_pool(
        self, key: str, raw: np.ndarray, owner: np.ndarray, points: np.ndarray, digests: list[str]
    ) -> cv2.flann.Index:
        """Build the pool's kd-tree, save both (private), remove the older pools; the tree."""
        des = root_sift(raw)
        seed_kd_trees()
        index = cv2.flann.Index(des, {"algorithm": 1, "trees": POOL_TREES})
        folder = private_dir(self.root / "pools")
        base = folder / key
        buf = io.BytesIO()
        np.savez(buf, descriptors=raw, owner=owner, points=points, digests=np.array(digests))
        try:
            tmp = folder / f"{key}.flann.tmp"
            index.save(str(tmp))
            os.chmod(tmp, 0o600)
            os.replace(tmp, base.with_suffix(".flann"))
            write_private(base.with_suffix(".npz"), buf.getvalue())
            pools = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in pools[KEEP_POOLS:]:
                old.unlink(missing_ok=True)
                old.with_suffix(".flann").unlink(missing_ok=True)
        except OSError:
            pass  # a read-only or full disk: the pool works from memory this time
        return index


def root_sift(raw: np.ndarray) -> np.ndarray:
    """RootSIFT (L1-normalised, square root) of raw SIFT descriptors, float32."""
    des = np.asarray(raw, dtype=np.float32)
    des = des / (des.sum(axis=1, keepdims=True) + 1e-7)
    out: np.ndarray = np.sqrt(des)
    return out


def strongest(response: np.ndarray, n: int = POOL_PER_ITEM) -> np.ndarray:
    """Indices of the `n` strongest keypoints."""
    if len(response) <= n:
        return np.arange(len(response))
    out: np.ndarray = np.argsort(-response, kind="stable")[:n]
    return out


# A horizontal mirror of the image permutes a SIFT descriptor exactly (up to sampling): the 4x4
# spatial grid's rows (across the keypoint's orientation) reverse, and each 8-bin orientation
# histogram's bins are negated. So a mirrored candidate's descriptors need no second SIFT pass.
_GRID = np.arange(128).reshape(4, 4, 8)
MIRROR_PERMUTATION = _GRID[::-1, :, (-np.arange(8)) % 8].reshape(-1)
