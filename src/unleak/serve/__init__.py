"""`unleak serve`: an HMA-compatible matching service for platforms, over platform banks.

The routes live in `unleak.serve.app`; the logic in `unleak.platform_banks`.
"""

from __future__ import annotations

import ipaddress
import multiprocessing
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from unleak.errors import UnleakError
from unleak.platform_banks import SharedIndex
from unleak.serve import guard
from unleak.serve.app import ROLES, ServeConfig, create_app, create_app_from_env

__all__ = [
    "ROLES",
    "ServeConfig",
    "access_mode",
    "check_listen",
    "create_app",
    "create_app_from_env",
    "parse_roles",
    "run",
]


# On SIGTERM or Ctrl-C: stop accepting, let requests in flight finish for up to this long, then exit.
GRACE_S = 10
HEALTHCHECK_S = 120
BIG_BANK = 1_000_000  # PDQ hashes from which the shared index is written by a process of its own


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen(host: str) -> None:
    """A listening address must be a plain host name or IP address."""
    if not host or any(c.isspace() for c in host) or "/" in host:
        raise UnleakError(f"bad --host {host!r}", hint="e.g. 127.0.0.1, or 0.0.0.0 for every interface")


def access_mode(cfg: ServeConfig) -> str:
    """One line for the start-up message: who can use this server."""
    from unleak.serve_keys import any_keys
    from unleak.store.db import open_store

    store = open_store(cfg.db_url)
    try:
        with store.session() as s:
            keys = any_keys(s)
    finally:
        store.close()
    if keys:
        return "API keys required on every request (Authorization: Bearer)"
    if cfg.beyond_loopback:
        return "no API key defined yet: every request is refused (401) until you add one with `unleak keys add`"
    return (
        "no API key defined: OPEN to every local user of this machine, as HMA is; "
        "`unleak keys add` locks it (within a second)"
    )


def parse_roles(text: str) -> tuple[str, ...]:
    roles = tuple(r.strip() for r in text.split(",") if r.strip())
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise UnleakError(f"unknown role {', '.join(unknown) or '(none)'}", hint=f"use some of {','.join(ROLES)}")
    return roles


def run(cfg: ServeConfig, host: str = "127.0.0.1", port: int = 5000, workers: int = 1) -> None:
    """Serve until interrupted. With several workers, the PDQ index is written to a file once,
    here, and every worker maps it (one copy in memory); each replays the store's change log
    from there and keeps its own small index of what changed since."""
    import uvicorn

    check_listen(host)
    cfg.beyond_loopback = cfg.beyond_loopback or not is_loopback(host)
    if workers < 1:
        raise UnleakError("--workers must be at least 1")
    if workers == 1:
        app = create_app(cfg)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=GRACE_S)
        return
    from unleak.store.db import open_store

    open_store(cfg.db_url).close()  # migrate once here, not in N workers racing each other
    # What the workers share (the PDQ index file they map, metrics files, rate-limit buckets): a
    # new private directory each run, so no count of an earlier run is ever added in; removed
    # when the server stops.
    cfg.run_dir = tempfile.mkdtemp(prefix="unleak-serve-")
    folder = Path(cfg.run_dir)
    try:
        guard.rate_limiter(cfg.run_dir)  # the buckets' file, made once before the workers map it
        if _pdq_count(cfg.db_url) < BIG_BANK:
            cfg.pdq_index = _write_index(cfg.db_url, folder / "pdq.uix")
        else:
            # In a process of its own: reading and indexing a big bank leaves memory behind that
            # this process, which only supervises the workers, would otherwise keep.
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                cfg.pdq_index = pool.submit(_write_index, cfg.db_url, folder / "pdq.uix").result()
        os.environ.update(cfg.to_env())
        uvicorn.run(
            "unleak.serve:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=GRACE_S,
            # uvicorn kills a worker that does not answer its ping in time (default 5 s): a busy
            # machine, or a worker opening a big bank, must not be taken for a hung one.
            timeout_worker_healthcheck=HEALTHCHECK_S,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_index(db_url: str | None, path: Path) -> SharedIndex:
    from unleak import platform_banks as pb
    from unleak.store.db import open_store

    store = open_store(db_url)
    try:
        with store.session() as s:
            return pb.write_pdq_index(s, path)
    finally:
        store.close()


def _pdq_count(db_url: str | None) -> int:
    from sqlalchemy import func, select

    from unleak.store.db import open_store
    from unleak.store.models import PlatformSignal

    store = open_store(db_url)
    try:
        with store.session() as s:
            return int(s.scalar(select(func.count()).where(PlatformSignal.type == "pdq")) or 0)
    finally:
        store.close()
