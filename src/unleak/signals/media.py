"""A piece of media to fingerprint: a file or bytes, sniffed once, decoded at most once."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from unleak.config import MediaLimits
from unleak.errors import LimitExceeded, MediaError
from unleak.media import MediaKind, decode_image, image_to_array, probe_video, sniff_bytes, sniff_file
from unleak.media.files import check_regular, open_regular

if TYPE_CHECKING:
    from unleak.signals.pdq_fast import FastImage


@dataclass
class Media:
    """An image or video from a path or bytes. Decoding is lazy and cached."""

    path: Path | None = None
    data: bytes | None = None
    name: str = ""
    limits: MediaLimits = field(default_factory=MediaLimits.from_env)
    kind: MediaKind = field(init=False)
    format: str = field(init=False)
    _pixels: np.ndarray | None = field(default=None, init=False, repr=False)
    _fast_pixels: FastImage | None = field(default=None, init=False, repr=False)
    _digests: dict[str, str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.path is not None and self.data is None:
            self.path = Path(self.path)
            self.name = self.name or str(self.path)
            size = check_regular(self.path).st_size  # a FIFO, device or link loop is an error here
            if size > self.limits.max_file_bytes:
                raise LimitExceeded(
                    f"{self.name}: file is {size:,} bytes, over the limit of {self.limits.max_file_bytes:,}",
                    hint="raise UNLEAK_MAX_FILE_BYTES if this file is genuine",
                )
            self.kind, self.format = sniff_file(self.path)
        elif self.data is not None and self.path is None:
            self.name = self.name or "<bytes>"
            found = sniff_bytes(self.data[:64])
            if found is None:
                raise MediaError(f"{self.name}: not a supported image or video")
            self.kind, self.format = found
        else:
            raise ValueError("give exactly one of path or data")

    @classmethod
    def open(cls, path: str | os.PathLike[str], limits: MediaLimits | None = None) -> Media:
        return cls(path=Path(path), limits=limits or MediaLimits.from_env())

    @property
    def source(self) -> Path | bytes:
        """The path, or the bytes when the media came as bytes."""
        if self.path is not None:
            return self.path
        assert self.data is not None  # __post_init__ makes sure exactly one is set
        return self.data

    def digests(self) -> dict[str, str]:
        """SHA-256 and MD5 of the raw bytes, read in one streaming pass."""
        if self._digests is None:
            sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
            source = self.source
            if isinstance(source, bytes):
                sha.update(source)
                md5.update(source)
            else:
                with open_regular(source) as fh:
                    while chunk := fh.read(1 << 20):
                        sha.update(chunk)
                        md5.update(chunk)
            self._digests = {"sha256": sha.hexdigest(), "md5": md5.hexdigest()}
        return self._digests

    def image(self, draft_size: tuple[int, int] | None = None) -> Image.Image:
        if self.kind is not MediaKind.IMAGE:
            raise MediaError(f"{self.name}: is a video, not an image")
        return decode_image(self.source, limits=self.limits, draft_size=draft_size, name=self.name)

    def pixels(self) -> np.ndarray:
        """Full-resolution pixels exactly as the reference PDQ pipeline sees them."""
        if self._pixels is None:
            self._pixels = image_to_array(self.image())
        return self._pixels

    @contextmanager
    def as_file(self) -> Iterator[Path]:
        """A path to the bytes (a private temporary file when the media came as bytes)."""
        source = self.source
        if isinstance(source, Path):
            yield source
            return
        fd, tmp = tempfile.mkstemp(suffix="." + self.format)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(source)
            yield Path(tmp)
        finally:
            os.unlink(tmp)

    def check_video(self) -> None:
        with self.as_file() as path:
            probe_video(path, self.limits)
