"""The bank's PDQ index in a shared folder, memory-mapped by every worker (`UNLEAK_SHARED_INDEX`).

Without it each worker process builds the index from the database: every PDQ row read and
indexed once per worker, and one copy in memory per worker. With it, the first worker that needs
a bank's index at a given state (its `Bank.fingerprint()`) builds it once and publishes it as a
folder of files (the index in unleak.index's file format, and the rows' items and variants as
.npy arrays); every other worker, on any machine that mounts the folder, memory-maps it: the
operating system keeps one copy in its page cache per machine.

A folder's name is a digest of the case's identity (the database's URL without its password, the
case's id, name and creation time: two databases, e.g. staging and production or a recreated
one, may have a case 1 in the same state), the bank's state and the index format; meta.json
repeats them and a worker checks them before it maps the files.

A published index is never changed: a bank change gives a new fingerprint, so a new folder
(written under a temporary name, then renamed: a reader sees all of it or nothing). Old states
are left in the folder (a worker may still be using one): remove them between scans. Hashes are sensitive: the folder is
group-readable (0750 / 0640) and refused if open to everyone, like the marked copies' folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from unleak.atomicfile import fsync_dir
from unleak.errors import ConfigError, UnleakError

SHARED_INDEX_ENV = "UNLEAK_SHARED_INDEX"
FILE_MODE, DIR_MODE = 0o640, 0o750
FORMAT = 2  # of the folder's files; a change makes new folder names (an old worker never maps them)
log = logging.getLogger(__name__)


def shared_folder() -> Path | None:
    """The folder set by UNLEAK_SHARED_INDEX, or None (each worker builds its own index)."""
    value = os.environ.get(SHARED_INDEX_ENV, "").strip()
    return Path(value) if value else None


def _check_private(folder: Path) -> None:
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if os.stat(folder).st_mode & 0o007:
        raise ConfigError(
            f"{folder} is open to everyone: the bank's hashes must be readable by the cluster's group only",
            hint=f"chmod o-rwx {folder}",
        )


def case_identity(bank: Any) -> str:
    """A digest naming this case of this database: the same case id in another database (staging,
    a recreated database, a restored backup under another URL) gives another one."""
    from sqlalchemy import select

    from unleak.store.models import Case

    with bank.store.session() as s:
        case = s.execute(select(Case.id, Case.name, Case.created_at).where(Case.id == bank.case_id)).one()
    url = bank.store.engine.url.render_as_string(hide_password=True)
    return hashlib.sha256(repr((url, case.id, case.name, str(case.created_at))).encode()).hexdigest()


def _state(identity: str, fingerprint: tuple[Any, ...], variants: bool) -> dict[str, Any]:
    """What meta.json records of the index's source; a reader checks it (see open_published)."""
    return {"format": FORMAT, "case": identity, "fingerprint": [int(v or 0) for v in fingerprint], "variants": variants}


def index_dir(folder: Path, case_id: int, state: dict[str, Any]) -> Path:
    """Where the index of one case of one database in one state is published."""
    digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:24]
    return folder / f"pdq-v{FORMAT}-case{case_id}-{digest}"


def publish(index: Any, path: Path, state: dict[str, Any]) -> None:
    """Write a PdqBankIndex of the source `state` to `path` (a new folder), atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}")
    tmp.mkdir(mode=DIR_MODE)
    try:
        index.index.save(tmp / "hashes.idx")  # fsync'd by unleak.index
        meta = {**state, "variant_names": index.variant_names, "threshold": index.threshold}
        for name in ("signal_ids", "items", "variant_code", "hashes", "meta"):
            with open(tmp / (f"{name}.npy" if name != "meta" else "meta.json"), "wb") as f:
                if name == "meta":
                    f.write(json.dumps(meta).encode())
                else:
                    np.save(f, np.ascontiguousarray(getattr(index, name)))
                f.flush()
                os.fsync(f.fileno())  # the files on disk before the folder gets its name
        for written in tmp.iterdir():
            os.chmod(written, FILE_MODE)
        fsync_dir(tmp)
        try:
            os.rename(tmp, path)
        except OSError:  # another worker published the same state first: theirs is as good
            if not path.is_dir():
                raise
        fsync_dir(path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def open_published(path: Path, state: dict[str, Any]) -> Any:
    """A PdqBankIndex over the memory-mapped files of `path` (see publish), which must have been
    published from the source `state` (else ValueError)."""
    from unleak.index import open_index
    from unleak.signals.indexes import PdqBankIndex

    meta = json.loads((path / "meta.json").read_text())
    if any(meta.get(k) != v for k, v in state.items()):
        raise ValueError(f"{path} holds the index of another case, database or bank state")
    idx = PdqBankIndex.__new__(PdqBankIndex)  # its fields, from the files instead of from rows
    idx.threshold = int(meta["threshold"])
    idx.variant_names = list(meta["variant_names"])
    for name in ("signal_ids", "items", "variant_code", "hashes"):
        setattr(idx, name, np.load(path / f"{name}.npy", mmap_mode="r"))
    n = len(idx.signal_ids)
    if not (len(idx.items) == len(idx.variant_code) == len(idx.hashes) == n) or (
        n and int(idx.variant_code.max()) >= len(idx.variant_names)
    ):
        raise ValueError(f"{path}: its arrays do not agree (a damaged or partial index)")
    idx._by_item = np.argsort(idx.items, kind="stable")
    idx._item_sorted = idx.items[idx._by_item]
    is_crop = np.array([v.startswith("crop:") for v in idx.variant_names], bool)
    is_box = np.array([bool(v) and not v.startswith("crop:") for v in idx.variant_names], bool)
    idx._box_of_row = is_box[idx.variant_code]
    idx._crop_of_row = is_crop[idx.variant_code]
    idx.index = open_index(path / "hashes.idx", mmap=True, verify=True)
    if len(idx.index) != n:
        raise ValueError(f"{path}: its index holds {len(idx.index)} hashes, its arrays {n}")
    return idx


class _WithoutPdq:
    """A bank seen without its PDQ rows: the Matcher builds its other indexes (small) as usual."""

    def __init__(self, bank: Any) -> None:
        self._bank = bank

    def active_signals(self, signal_type: str, **kw: Any) -> list[tuple[Any, ...]]:
        return [] if signal_type == "pdq" else self._bank.active_signals(signal_type, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bank, name)


def shared_matcher(bank: Any, folder: Path, **options: Any) -> Any:
    """A Matcher of `bank` whose PDQ index is the one published in `folder` for the bank's
    current state (built and published here first if no worker has yet)."""
    from unleak.match import Matcher

    _check_private(folder)  # a configuration error: said, not worked around
    try:
        return _mapped_matcher(bank, folder, **options)
    except (OSError, ValueError, KeyError, UnleakError) as exc:  # damaged, disk full, another format: build here
        log.warning("shared index in %s not usable (%s): building this worker's own", folder, exc)
        return Matcher(bank, **options)


def _mapped_matcher(bank: Any, folder: Path, **options: Any) -> Any:
    from unleak.match import Matcher
    from unleak.signals.indexes import PdqBankIndex
    from unleak.signals.pdq import PdqSignal

    # The Matcher's own rule (match.matcher): `bank_variants` when given, else `variants`.
    bank_variants = options.get("bank_variants")
    variants = bool(options.get("variants", True) if bank_variants is None else bank_variants)
    state = _state(case_identity(bank), bank.fingerprint(), variants)
    path = index_dir(folder, bank.case_id, state)
    if not path.is_dir():  # rows read after the fingerprint: never older than the folder's name
        rows = bank.active_signals("pdq", with_variants=variants)
        publish(PdqBankIndex(rows, PdqSignal.threshold), path, state)
        del rows
    matcher = Matcher(_WithoutPdq(bank), **options)
    matcher.pdq = matcher.indexes[PdqSignal.name] = open_published(path, state)
    return matcher
