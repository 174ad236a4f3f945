"""Shared fixtures: a store on SQLite and on the real PostgreSQL server, sample images, a CLI runner."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

PG_URL = os.environ.get("UNLEAK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure is reported below
        return False


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own data folder; nothing touches the user's real one."""
    home = tmp_path_factory.mktemp("unleak-home")
    monkeypatch.setenv("UNLEAK_HOME", str(home))
    monkeypatch.delenv("UNLEAK_DB", raising=False)
    return home


@pytest.fixture
def pg_url():
    """A fresh schema on the real PostgreSQL server, dropped afterwards."""
    if not _pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    """The store on both back ends."""
    from unleak.store import open_store

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'unleak.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    s = open_store(url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def samples() -> list[Path]:
    from unleak.samples import sample_images

    images = sample_images()
    assert len(images) >= 20, "scikit-image, scikit-learn and matplotlib sample images are needed"
    return images


@pytest.fixture
def cli(monkeypatch):
    """Run `unleak ...` in-process; returns (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from unleak.cli import app

    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


def make_video(
    path: Path, images: list[Path], seconds: int = 4, fps: int = 10, size=(320, 240), codec: str = "libx264"
) -> Path:
    """A short video that pans over sample photos, with a silent-ish audio track."""
    import av
    import numpy as np
    from PIL import Image

    frames = [np.asarray(Image.open(p).convert("RGB").resize((size[0] + 40, size[1] + 40))) for p in images]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(seconds * fps):
            src = frames[(i // fps) % len(frames)]
            dx = (i % fps) * 2
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(src[20 : 20 + size[1], dx : dx + size[0]]), format="rgb24"
            )
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="session")
def tiny_video(tmp_path_factory, samples) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4", [samples[i] for i in (2, 3, 13, 17)])


@pytest.fixture(scope="session")
def other_video(tmp_path_factory, samples) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "other.mp4", [samples[i] for i in (0, 6, 10, 23)])


_IMAGE_SAVE_FORMATS = {
    "jpg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "gif": "GIF",
    "bmp": "BMP",
    "tif": "TIFF",
    "heic": "HEIF",
    "avif": "AVIF",
}
_VIDEO_CODECS = {"mp4": "libx264", "mov": "libx264", "webm": "libvpx-vp9", "mkv": "libx264"}
MEDIA_EXTENSIONS = [*_IMAGE_SAVE_FORMATS, *_VIDEO_CODECS]


@pytest.fixture
def small_media(samples, tmp_path):
    """`small_media("avif")`: a small valid file of one supported format, made from sample photos."""
    from PIL import Image

    from unleak.media.image import _load_plugins

    def make(ext: str) -> Path:
        out = tmp_path / f"small.{ext}"
        if ext in _IMAGE_SAVE_FORMATS:
            _load_plugins()  # registers the HEIF and AVIF writers too
            Image.open(samples[3]).convert("RGB").resize((160, 120)).save(out, _IMAGE_SAVE_FORMATS[ext])
            return out
        return make_video(
            out, [samples[i] for i in (2, 13)], seconds=2, fps=5, size=(128, 96), codec=_VIDEO_CODECS[ext]
        )

    return make


@pytest.fixture
def broken_avif(small_media, tmp_path) -> Path:
    """An AVIF whose container is fine but whose image data makes libavif itself fail: Pillow's
    AVIF plugin then raises RuntimeError ("Failed to decode frame 0"), not an OSError."""
    import io

    from PIL import Image

    data = small_media("avif").read_bytes()
    for start in range(len(data) // 2, len(data) - 8, 8):  # the AV1 payload is at the end
        bad = data[:start] + bytes(b ^ 0xFF for b in data[start : start + 8]) + data[start + 8 :]
        try:
            Image.open(io.BytesIO(bad)).load()
        except RuntimeError:
            out = tmp_path / "broken.avif"
            out.write_bytes(bad)
            return out
        except Exception:  # noqa: BLE001 - any failure is reported below
            continue
    pytest.fail("no byte flip made libavif fail")
