"""Owner-side verification of videos on key frames: a few frames of the candidate are verified,
each as a picture, against the frames of the original videos (unleak.match.verify: local
features, a geometric model with an a-contrario bound, a photometric check).

Every original's frames are searched (by local features) when the bank has few videos, else
only the originals the hashes point to. A video is confirmed when one of its key frames is confirmed against one of an original's
frames. Its false-match rate is the best frame pair's, times the number of frame pairs tried
for that original (a union bound over every comparison made).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unleak.errors import MediaError

if TYPE_CHECKING:
    from unleak.match.verify import Features

KEY_FRAMES = 3  # of the candidate: at a quarter, half and three quarters of its length
ORIGINAL_FRAMES = 24  # of each original: its frames at most this many, spread over its length
FRAME_SIDE = 640
FRAMES_PER_KEY = 4  # original frames a key frame is verified against, per original
MAX_ITEMS = 4  # originals a key frame's local features may point to
SEARCH_ALL = 100  # banks with at most this many original videos: all are searched  # frames are kept this small (verification works at a smaller size anyway)


def spread_frames(path: str | Path, count: int, side: int = FRAME_SIDE) -> list[tuple[float, np.ndarray]]:
    """(time, RGB) of `count` frames spread over the video (its ends left out), reduced to `side`."""
    import av
    import cv2

    try:
        with av.open(str(path), metadata_errors="ignore") as c:
            if not c.streams.video:
                raise MediaError(f"{path}: the file has no video stream")
            s = c.streams.video[0]
            duration = float(c.duration / 1e6) if c.duration else 0.0
            wanted = [duration * (k + 1) / (count + 1) for k in range(count)] if duration > 0 else []
            out: list[tuple[float, np.ndarray]] = []
            frames = []
            for f in c.decode(s):
                t = float(f.time or 0.0)
                if wanted:
                    if t + 1e-6 >= wanted[len(out)]:
                        out.append((t, _small(f.to_ndarray(format="rgb24"), side, cv2)))
                        if len(out) == len(wanted):
                            break
                else:  # no duration: keep every frame, then pick
                    frames.append((t, _small(f.to_ndarray(format="rgb24"), side, cv2)))
            if not wanted and frames:
                picks = np.unique(np.linspace(0, len(frames) - 1, min(count, len(frames))).astype(int))
                out = [frames[int(i)] for i in picks]
            return out
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: cannot decode video: {exc}") from None


def _small(rgb: np.ndarray, side: int, cv2: Any) -> np.ndarray:
    h, w = rgb.shape[:2]
    if max(h, w) <= side:
        return rgb
    s = side / max(h, w)
    return np.asarray(cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA))


@dataclass
class VideoVerification:
    item_id: int
    accepted: bool
    false_match_rate: float
    inliers: int = 0
    transform: dict[str, Any] | None = None  # the confirmed key frame's, with the two frames' times


class VideoVerifier:
    """Verifies video candidates against the original videos on this machine (item id -> path).
    The originals' frames are decoded on first need and kept (small) for later candidates."""

    def __init__(self, originals: dict[int, str], *, rate: float, precise: bool = False) -> None:
        from unleak.match.verify import Verifier

        self.paths = originals
        self.rate = rate  # per candidate-original pair, every frame pair counted
        self._frames: list[tuple[int, float, np.ndarray]] = []  # (item id, time, pixels), by frame id
        self._by_item: dict[int, list[int]] = {}
        self._loaded: set[int] = set()
        self.frames = Verifier(lambda fid: self._frames[fid][2], [], precise=precise)

    def _load(self, item_ids: Iterable[int]) -> None:
        before = len(self._frames)
        for item in item_ids:
            if item in self._loaded or item not in self.paths:
                continue
            self._loaded.add(item)
            try:
                frames = spread_frames(self.paths[item], ORIGINAL_FRAMES)
            except MediaError:  # a moved or broken original: cannot verify, never a crash
                continue
            for t, px in frames:
                self._by_item.setdefault(item, []).append(len(self._frames))
                self.frames.item_ids.append(len(self._frames))
                self._frames.append((item, t, px))
        if len(self._frames) != before:
            self.frames._pool = None  # the shortlist's pool now has more frames

    def _votes(self, cand: Features, mirrored: Features) -> dict[int, int]:
        """Ratio-test votes per original frame. The frames of one video look alike, so a
        descriptor's second neighbour is taken from another video (within one video, the
        nearest frame wins): the image shortlist's plain ratio test would reject everything."""
        from unleak.match.verify import RATIO

        index, owner, _points = self.frames._pool_index()
        votes: dict[int, int] = {}
        if index is None or len(owner) < 2:
            return votes
        item_of = np.array([item for item, _, _ in self._frames], np.int64)
        k = min(16, len(owner))
        for f in (cand, mirrored):
            if len(f) < 2:
                continue
            idx, dist = index.knnSearch(f.descriptors, k, params={"checks": 48})
            frame = owner[idx]
            item = item_of[frame]
            other = item != item[:, :1]
            has = other.any(axis=1)
            d2 = np.where(has, dist[np.arange(len(dist)), other.argmax(axis=1)], np.inf)
            for fid in frame[(dist[:, 0] < RATIO * RATIO * d2), 0].tolist():
                votes[fid] = votes.get(fid, 0) + 1
        return votes

    def verify(self, candidate: str | Path, also: Iterable[int] = ()) -> list[VideoVerification]:
        """The verdict on every original the candidate's key frames point to (by local features,
        among every original video) or that `also` names (e.g. vPDQ found them)."""
        from unleak.match.verify import MIN_VOTES, extract

        also = list(also)
        # Every original's frames are searched by local features when the bank's videos are few;
        # in a larger bank, only those the hashes point to (decoding them all would take minutes).
        self._load(self.paths if len(self.paths) <= SEARCH_ALL else also)
        keys = spread_frames(candidate, KEY_FRAMES)
        best: dict[int, tuple[float, int, dict[str, Any] | None]] = {}
        tried: dict[int, int] = {}  # original -> frame pairs verified

        def pairs(item: int) -> int:  # every frame of the original counted: the shortlist chose among them
            return max(1, len(keys)) * max(1, len(self._by_item.get(item, [])))

        def confirmed(item: int) -> bool:
            return item in best and pairs(item) * best[item][0] <= self.rate

        for t, px in keys:
            cand = extract(px)
            mirrored = cand.mirrored()
            votes = self._votes(cand, mirrored)
            per_item: dict[int, int] = {}
            for fid, n in votes.items():
                item = self._frames[fid][0]
                per_item[item] = per_item.get(item, 0) + n
            items = [i for i, n in sorted(per_item.items(), key=lambda x: -x[1]) if n >= MIN_VOTES][:MAX_ITEMS]
            for item in dict.fromkeys([*also, *items]):
                if confirmed(item):
                    continue  # by an earlier key frame
                fids = self._by_item.get(item, [])
                # the frames with most votes, else a spread of the video
                ranked = sorted(fids, key=lambda f: -votes.get(f, 0))
                picks = (
                    ranked[:FRAMES_PER_KEY]
                    if votes.get(ranked[0] if ranked else -1)
                    else fids[:: max(1, len(fids) // FRAMES_PER_KEY)]
                )
                for fid in picks:
                    if confirmed(item):
                        break
                    tried[item] = tried.get(item, 0) + 1
                    v = self.frames.verify(fid, px, cand, (False, True), mirrored)
                    if v.accepted and (item not in best or v.false_match_rate < best[item][0]):
                        self.frames._describe(v, px)
                        ot = self._frames[fid][1]
                        transform = dict(v.transform or {}, candidate_time=round(t, 3), original_time=round(ot, 3))
                        best[item] = (v.false_match_rate, v.inliers, transform)
        out = []
        for item in sorted(set(tried) | set(also)):
            if item in best:
                rate = min(1.0, pairs(item) * best[item][0])
                out.append(VideoVerification(item, rate <= self.rate, rate, best[item][1], best[item][2]))
            else:
                out.append(VideoVerification(item, False, 1.0))
        return out
