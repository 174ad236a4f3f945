"""`unleak mark --cluster`: marked copies for many recipients, made on the Dask workers.

The case's watermark key never leaves the client. The client decodes the original once and
derives, for each recipient, the only thing a worker needs: the sign of every coefficient of the
mark's frequency band, in the band's natural (row-major) order, i.e. the recipient's pattern
before it is shaped and added to the photo. A task carries those signs (one bit per coefficient,
about 800 bytes a recipient) and the band's positions (fixed by the image's size: no secret).
The keyed order of the band, the chips, the codeword and the case's biases stay on the client.

A task holds what the copies it writes tell anyone who also holds the original ((copy -
original) / amplitude is that same pattern); but several recipients' signs of one photo, compared,
group the band by code bit and give away much of the case's codebook relative to one recipient.
So marking tasks run only on workers with the Dask resource MARK_RESOURCE (trusted ones; see
docs/cluster.md).

Workers write the copies into the output folder (shared storage) under a unique temporary name,
already 0640 and the group's before the first byte, fsync'd, then renamed (unleak.atomicfile):
group-readable and never world-readable, whole or absent; the folder must not be open to
everyone. The client records who got which copy, as `unleak mark` does.
"""

from __future__ import annotations

import grp
import hashlib
import os
import stat
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from unleak.errors import ConfigError, MediaError, UnleakError
from unleak.media.sniff import MediaKind, sniff_file
from unleak.watermark import MarkResult, WatermarkKey, _safe_name, mark_file
from unleak.watermark.code import bias_vector, recipient_code
from unleak.watermark.imagefile import SourceImage, extension_for, load_image, save_image
from unleak.watermark.spread import SCHEME, Layout, apply_delta, jnd_amplitude, layout, pattern, photo_tag

from . import MARK_RESOURCE, batch_size, cpu_slot

if TYPE_CHECKING:
    from . import Cluster

GROUP_ENV = "UNLEAK_CLUSTER_GROUP"
COPY_MODE = 0o640  # the owner writes, the configured group reads, nobody else


@dataclass(frozen=True)
class Band:
    """The mark's frequency band on the work grid, in natural order: public, fixed by the size."""

    grid: tuple[int, int]
    index: np.ndarray  # flat indices (row * cols + col) of the band's coefficients, ascending


@dataclass(frozen=True)
class Plan:
    """What the client sends with a batch: no key, no codeword, no keyed order."""

    original: str
    sha256: str  # of the original the client read: a worker refuses a file that differs
    out_dir: str
    target_rms: float  # the mark's RMS ceiling in grey levels (from the key's or the given PSNR)
    band: Band
    group: str | None


def recipient_signs(key: WatermarkKey, pixels: np.ndarray, recipient_ids: Sequence[str]) -> tuple[Band, list[bytes]]:
    """On the client: the band, and per recipient the packed signs of its pattern's coefficients
    (as `image_marker` of scheme 2 would place them)."""
    from unleak.registration.align import to_gray

    luma_shape = to_gray(pixels).shape
    lay = layout(key.secret, luma_shape, key.params.length, photo_tag(key.secret, pixels))
    flat = lay.rows.astype(np.int64) * lay.grid[1] + lay.cols
    order = np.argsort(flat, kind="stable")
    p = bias_vector(key.secret, key.params)
    signs = []
    for rid in recipient_ids:
        sym = 2 * recipient_code(key.secret, rid, key.params, p).astype(np.int8) - 1
        signs.append(np.packbits((lay.chips * sym[lay.bit])[order] > 0).tobytes())
    return Band(lay.grid, flat[order].astype(np.int32)), signs


# --- on a worker ------------------------------------------------------------------------------
_photos: dict[tuple, tuple[SourceImage, np.ndarray]] = {}  # per worker process: the last originals
_photos_lock = threading.Lock()


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _photo(path: str, sha256: str, target_rms: float) -> tuple[SourceImage, np.ndarray]:
    """The decoded original and its mark amplitude, once per worker (a batch is one of many).
    MediaError if the file is not the one the client read (another file at the same path on this
    machine, or changed since): a copy of it would carry signs derived from another photo."""
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size, sha256, target_rms)
    with _photos_lock:
        if key in _photos:
            return _photos[key]
        from unleak.registration.align import to_gray

        if file_sha256(path) != sha256:
            raise MediaError(f"{path} on this worker is not the original the client read (its SHA-256 differs)")
        src = load_image(Path(path))
        amp = jnd_amplitude(to_gray(src.pixels), target_rms)
        if len(_photos) >= 2:
            _photos.pop(next(iter(_photos)))
        _photos[key] = (src, amp)
        return src, amp


def _gid(group: str | None) -> int:
    if not group:
        return -1
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ConfigError(f"no group {group!r} on this machine", hint=f"create it, or set {GROUP_ENV}") from None


def mark_batch(plan: Plan, items: list[tuple[str, bytes]]) -> list[MarkResult]:
    """On a worker: one marked copy per (label, packed signs), written into the output folder."""
    try:
        src, amp = _photo(plan.original, plan.sha256, plan.target_rms)
        gid = _gid(plan.group)
    except (UnleakError, OSError) as exc:
        msg = str(exc) if isinstance(exc, UnleakError) else f"{plan.original}: {exc.strerror or exc}"
        return [MarkResult(label, None, msg) for label, _ in items]
    band = plan.band
    n = len(band.index)
    rows, cols = np.divmod(band.index, band.grid[1])
    ones = np.ones(n, np.uint8)
    shape = amp.shape
    out = []
    for label, packed in items:
        dst = Path(plan.out_dir) / f"{Path(plan.original).stem}.{_safe_name(label)}{extension_for(src)}"
        chips = np.unpackbits(np.frombuffer(packed, np.uint8))[:n].astype(np.float64) * 2 - 1
        # The same pattern as image_marker's: its coefficients, in another order.
        lay = Layout(band.grid, rows, cols, chips, np.arange(n), n)
        try:
            with cpu_slot():
                pat = pattern(lay, ones, shape)
                np.multiply(pat, amp, out=pat)
                save_image(apply_delta(src.pixels, pat), src, dst, mode=COPY_MODE, gid=gid)
            out.append(MarkResult(label, str(dst), scheme=SCHEME))
        except (OSError, ValueError) as exc:
            out.append(MarkResult(label, None, f"cannot write {dst}: {exc}"))
    return out


# --- on the client ----------------------------------------------------------------------------
def prepare_out_dir(out_dir: Path, group: str | None) -> None:
    """Create the output folder and refuse one open to everyone. With a group: the group's (2770:
    the workers, in the group, write there; new files keep the group); else 0750."""
    out_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    if group:
        os.chown(out_dir, -1, _gid(group))
        os.chmod(out_dir, stat.S_IMODE(os.stat(out_dir).st_mode) | stat.S_ISGID | 0o070)
    if os.stat(out_dir).st_mode & 0o007:
        raise ConfigError(
            f"{out_dir} is open to everyone: marked copies must be readable by the cluster's group only",
            hint=f"chmod o-rwx {out_dir} (and chgrp it to the group set by {GROUP_ENV} or --group)",
        )


def mark_on_cluster(
    cluster: Cluster,
    original: Path,
    out_dir: Path,
    key: WatermarkKey,
    recipients: Sequence[tuple[str, str]],
    *,
    psnr_db: float | None = None,
    group: str | None = None,
    batch: int = 0,
) -> list[MarkResult]:
    """`mark_file` with the copies made on the cluster's workers (images; a video is marked here).

    ``original`` and ``out_dir`` must be on storage every worker mounts at the same path.
    Results come back in the order of ``recipients``.
    """
    original, out_dir = Path(original).resolve(), Path(out_dir).resolve()
    group = group or os.environ.get(GROUP_ENV) or None
    try:
        kind, _ = sniff_file(original)
        pixels = load_image(original, estimate_quality=False).pixels if kind is MediaKind.IMAGE else None
    except (MediaError, OSError):
        pixels = None
    prepare_out_dir(out_dir, group)
    if pixels is not None and not cluster.has_resource(MARK_RESOURCE):
        raise ConfigError(
            f"no worker of the cluster is trusted to mark (none has the Dask resource {MARK_RESOURCE})",
            hint=f"start the trusted workers with `dask worker ... --resources {MARK_RESOURCE}=1` (docs/cluster.md)",
        )
    if pixels is None:  # a video (marked here: its frames share one layout) or an unreadable file
        return mark_file(original, out_dir, key, recipients, psnr_db=psnr_db)
    band, signs = recipient_signs(key, pixels, [rid for rid, _ in recipients])
    psnr = key.psnr_db if psnr_db is None else psnr_db
    plan = Plan(str(original), file_sha256(original), str(out_dir), 255.0 / 10 ** (psnr / 20), band, group)
    items = [(label, s) for (_, label), s in zip(recipients, signs)]
    batch = batch or batch_size(len(items), cluster.threads(), 8)
    batches = [items[i : i + batch] for i in range(0, len(items), batch)]
    executor = cluster.executor(resources={MARK_RESOURCE: 1})  # the designated, trusted workers only
    try:
        results = [m for ms in executor.map(mark_batch, [plan] * len(batches), batches) for m in ms]
    finally:
        executor.shutdown(wait=False)
    return [_seen_here(r) for r in results]


def _seen_here(result: MarkResult) -> MarkResult:
    """A copy a worker wrote where this machine cannot see it is an error: the output folder is
    not the shared storage it should be, and nobody here could send that copy."""
    if result.path is None or os.path.isfile(result.path):
        return result
    return MarkResult(
        result.recipient,
        None,
        f"a worker wrote {result.path}, but it is not there on this machine: is --out on storage every worker shares?",
    )
