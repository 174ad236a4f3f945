"""What the fuzzer feeds: one function per parser of untrusted bytes.

A target may refuse its input only with `unleak.errors.UnleakError` (a one-line error a person can
read); any other exception, a hang or a crash is a finding. The same targets run without atheris
in tests/test_fuzz_corpus.py over the kept corpus and every past crash.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

from unleak.bank import Bank
from unleak.config import MediaLimits
from unleak.errors import UnleakError
from unleak.evidence.verify import _check_warc
from unleak.media.image import decode_image, image_to_array
from unleak.media.sniff import sniff_bytes
from unleak.media.video import iter_frames, probe_video
from unleak.net.html import nesting_depth, parse_page
from unleak.net.robots import Robots
from unleak.signals.pdq import PdqSignal, hash_pixels
from unleak.signals.vpdq import parse_frames
from unleak.store import Store
from unleak.watermark.registry import Registry

# Small limits: the fuzzer looks for wrong answers to bad bytes, not for slow decoding of big ones.
_LIMITS_KW = {
    "max_file_bytes": 1 << 20,
    "max_image_pixels": 1 << 20,
    "max_video_seconds": 5.0,
    "max_video_pixels": 1 << 20,
}


def _scratch() -> Path:
    return Path(_scratch_dir()) / "input"


@cache
def _scratch_dir() -> str:
    return tempfile.mkdtemp(prefix="unleak-fuzz-")


def _as_file(data: bytes, suffix: str = "") -> Path:
    path = _scratch().with_suffix(suffix)
    path.write_bytes(data)
    return path


def sniff(data: bytes) -> None:
    sniff_bytes(data)


def image(data: bytes) -> None:
    """Sniff, decode with limits, and hash: what protect, match and a scan do with a download."""
    picture = decode_image(data, limits=MediaLimits(**_LIMITS_KW), name="fuzz")
    hash_pixels(image_to_array(picture))


def video(data: bytes) -> None:
    path = _as_file(data, ".mp4")
    limits = MediaLimits(**_LIMITS_KW)
    probe_video(path, limits)
    for n, _ in enumerate(iter_frames(path, limits=limits)):
        if n >= 3:
            break


def html(data: bytes) -> None:
    nesting_depth(data)
    info = parse_page(data, "https://forum.example/t/1")
    for ref in info.media:
        assert ref.url.startswith(("http://", "https://")), ref.url


def robots(data: bytes) -> None:
    rules = Robots.parse(data.decode("utf-8", "replace"), "unleak")
    rules.allowed("https://forum.example/a/b?c=d")


def warc(data: bytes) -> None:
    """The WARC check of `evidence verify`: a bundle comes from whoever hands it over."""
    problem, _count, _ids = _check_warc(_as_file(data, ".warc.gz"))
    assert problem is None or isinstance(problem, str)


def hash_list(data: bytes) -> None:
    Bank(_store()).import_file(_as_file(data, ".txt"))


def recipients_csv(data: bytes) -> None:
    Registry(_store()).import_csv(_as_file(data, ".csv"))


def signal_text(data: bytes) -> None:
    """Hash values as text, from an imported list or an API request."""
    text = data.decode("utf-8", "replace")
    for parse in (PdqSignal.validate, parse_frames):
        try:
            parse(text)
        except ValueError:  # the documented refusal of a malformed value; callers add the context
            pass


@cache
def _store():  # one SQLite store per fuzzing process, in its scratch folder
    os.environ["UNLEAK_HOME"] = str(Path(_scratch_dir()) / "home")
    return Store(f"sqlite:///{_scratch_dir()}/fuzz.db")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "sniff": sniff,
    "image": image,
    "video": video,
    "html": html,
    "robots": robots,
    "warc": warc,
    "hash_list": hash_list,
    "recipients_csv": recipients_csv,
    "signal_text": signal_text,
}


def run_one(target: str, data: bytes) -> None:
    """Feed `data` to `target`; only an UnleakError is an acceptable refusal."""
    try:
        TARGETS[target](data)
    except UnleakError:
        pass
