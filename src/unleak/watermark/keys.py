"""The per-case watermark key: one secret from which every recipient's codeword is derived.

Kept in a JSON key file (mode 0600) in the data folder, never in the database, so a copy of
the database does not let anyone forge or strip marks.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from unleak.errors import UnleakError

from .code import CodeParams, new_case_key

DEFAULT_PSNR_DB = 45.0


@dataclass(frozen=True)
class WatermarkKey:
    """The case secret, the code parameters and the embedding strength (target PSNR)."""

    secret: bytes
    params: CodeParams = field(default_factory=CodeParams)
    psnr_db: float = DEFAULT_PSNR_DB

    @classmethod
    def generate(cls, params: CodeParams | None = None, psnr_db: float = DEFAULT_PSNR_DB) -> WatermarkKey:
        return cls(new_case_key(), params or CodeParams(), psnr_db)

    def to_json(self) -> dict:
        return {
            "version": 1,
            "secret": base64.b64encode(self.secret).decode("ascii"),
            "code_length": self.params.length,
            "cutoff": self.params.cutoff,
            "psnr_db": self.psnr_db,
        }

    @classmethod
    def from_json(cls, data: dict) -> WatermarkKey:
        if data.get("version") != 1:
            raise UnleakError("unknown watermark key file version", hint="upgrade unleak")
        return cls(
            base64.b64decode(data["secret"]),
            CodeParams(int(data["code_length"]), float(data["cutoff"])),
            float(data.get("psnr_db", DEFAULT_PSNR_DB)),
        )

    def save(self, path: Path) -> None:
        """Write the key file with owner-only permissions (0600), atomically."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.to_json(), fh)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> WatermarkKey:
        try:
            return cls.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            raise UnleakError(
                f"no watermark key at {path}", hint="add a recipient first: `unleak recipients add`"
            ) from None
        except (ValueError, KeyError) as exc:
            raise UnleakError(
                f"the watermark key file {path} is damaged: {exc}", hint="restore it from a backup"
            ) from None


def key_path(home: Path, case_name: str) -> Path:
    """Where a case's key file lives in the data folder."""
    safe = base64.urlsafe_b64encode(case_name.encode("utf-8")).decode("ascii").rstrip("=")
    return home / "watermark-keys" / f"{safe}.json"


def load_or_create(home: Path, case_name: str) -> WatermarkKey:
    """The case's key, generated on first use."""
    path = key_path(home, case_name)
    if path.exists():
        return WatermarkKey.load(path)
    key = WatermarkKey.generate()
    key.save(path)
    return key
