"""Marked copies are written whole or not at all, with their final mode from the first byte: a
killed or failed write leaves nothing behind, and never a partial or world-readable copy."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from unleak.watermark.imagefile import SourceImage, save_image


def _src() -> SourceImage:
    return SourceImage(np.zeros((32, 48, 3), np.uint8), "PNG", "RGB", {})


def test_a_copy_has_its_mode_and_is_on_disk_before_it_gets_its_name(tmp_path, monkeypatch):
    seen = []
    real_fsync = os.fsync

    def fsync(fd):
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            seen.append((stat.S_IMODE(st.st_mode), st.st_size, (tmp_path / "copy.png").exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    dst = save_image(_src().pixels, _src(), tmp_path / "copy.png", mode=0o640)
    size = os.stat(dst).st_size
    assert seen == [(0o640, size, False)]  # whole, 0640, and not yet under its name
    assert stat.S_IMODE(os.stat(dst).st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.png"]


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def fail(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        save_image(_src().pixels, _src(), tmp_path / "copy.png", mode=0o640)
    assert list(tmp_path.iterdir()) == []
