"""Exchanges: hash-sharing programmes that fill a platform bank (HMA's `/c/exchanges`).

One type is built: `local_file`, python-threatexchange's, which reads `<signal_type> <value>`
lines, the format `unleak bank export --format te` writes. Its file must lie inside the
directory the server was started with (`--exchange-dir`): a path that leaves it, by `..` or a
symbolic link, is refused, so a curator's request cannot make the server read any other file.

A fetch makes the bank hold exactly the list: new hashes are added, hashes gone from the list
are removed (a withdrawal upstream is a withdrawal here, matched no more from the next request).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from unleak import platform_banks as pb
from unleak.store.models import PlatformContent, PlatformExchange, PlatformSignal

APIS = ("local_file",)
MAX_LIST_BYTES = 512 * 1024 * 1024


def check_api(api: object) -> str:
    if api not in APIS:
        raise pb.Missing(f"No such exchange API '{str(api)[:60]}'; known: {', '.join(APIS)}")
    return str(api)


def api_schema(api: str) -> dict[str, object]:
    check_api(api)
    field = {
        "name": "path",
        "type": "str",
        "required": True,
        "default": None,
        "help": "a te list (`<signal_type> <value>` lines), relative to the server's --exchange-dir",
        "choices": None,
    }
    return {"config_schema": {"fields": [field]}, "credentials_schema": None}


def resolve_path(exchange_dir: Path | None, relative: object) -> Path:
    """The file `relative` names inside `exchange_dir`; refused when it would leave it."""
    if exchange_dir is None:
        raise pb.Forbidden("local_file exchanges are off: start the server with --exchange-dir DIR")
    if not isinstance(relative, str) or not relative or "\x00" in relative or len(relative) > 1000:
        raise pb.BadRequest("api_json.path must be a file name inside the exchange directory")
    root = exchange_dir.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise pb.Forbidden("api_json.path leaves the exchange directory")
    return target


def create(s: Session, exchange_dir: Path | None, payload: object) -> PlatformExchange:
    """HMA's `POST /c/exchanges {"api", "bank", "api_json"}`: the exchange and its bank, then a first fetch."""
    if not isinstance(payload, dict):
        raise pb.BadRequest("Expected a JSON object")
    api = check_api(payload.get("api"))
    name = pb.check_bank_name(payload.get("bank"))
    api_json = payload.get("api_json") or {}
    if not isinstance(api_json, dict) or set(api_json) - {"path"}:
        raise pb.BadRequest('api_json must be {"path": "<file in the exchange directory>"}')
    resolve_path(exchange_dir, api_json.get("path"))
    if s.scalar(select(PlatformExchange.id).where(PlatformExchange.name == name)) is not None:
        raise pb.Forbidden("Exchange already exists")
    pb.create_bank(s, name)
    ex = PlatformExchange(name=name, api=api, api_json=json.dumps(api_json), enabled=True)
    s.add(ex)
    s.flush()
    return ex


def get(s: Session, name: str) -> PlatformExchange:
    ex = s.scalar(select(PlatformExchange).where(PlatformExchange.name == name))
    if ex is None:
        raise pb.Missing("exchange not found")
    return ex


def names(s: Session) -> list[str]:
    return list(s.scalars(select(PlatformExchange.name).order_by(PlatformExchange.name)))


def config_json(ex: PlatformExchange) -> dict[str, object]:
    return {"name": ex.name, "api": ex.api, "enabled": ex.enabled, **json.loads(ex.api_json)}


def status_json(ex: PlatformExchange) -> dict[str, object]:
    return {
        "checkpoint_ts": ex.last_fetch_ts if ex.last_fetch_ok else -1,
        "running_fetch_start_ts": -1,
        "last_fetch_complete_ts": ex.last_fetch_ts,
        "last_fetch_succeeded": ex.last_fetch_ok,
        "up_to_date": ex.last_fetch_ok,
        "fetched_items": ex.fetched_items,
    }


def set_enabled(s: Session, name: str, payload: object) -> PlatformExchange:
    ex = get(s, name)
    if not isinstance(payload, dict) or not isinstance(payload.get("enabled"), bool):
        raise pb.BadRequest('Expected {"enabled": true|false}')
    ex.enabled = payload["enabled"]
    s.flush()
    return ex


def delete(s: Session, name: str) -> None:
    """Remove the exchange and its bank's hashes (HMA does the same); absent: no error."""
    ex = s.scalar(select(PlatformExchange).where(PlatformExchange.name == name))
    if ex is None:
        return
    pb.delete_bank(s, ex.name)
    s.delete(ex)
    s.flush()


def fetch(s: Session, exchange_dir: Path | None, name: str) -> dict[str, int]:
    """Make the exchange's bank hold exactly its list: `{"added", "removed", "total"}`.
    A list that cannot be read or holds a bad line changes nothing (and the status says so)."""
    ex = get(s, name)
    if not ex.enabled:
        raise pb.Forbidden("this exchange is disabled")
    path = resolve_path(exchange_dir, json.loads(ex.api_json).get("path"))
    try:
        if path.stat().st_size > MAX_LIST_BYTES:
            raise pb.TooLarge(f"the list is over {MAX_LIST_BYTES:,} bytes")
        lines = path.read_text(encoding="utf-8").splitlines()
        wanted = _parse(lines)
    except (OSError, UnicodeDecodeError, pb.PlatformError) as exc:
        ex.last_fetch_ts, ex.last_fetch_ok = int(time.time()), False
        s.flush()
        if isinstance(exc, pb.PlatformError):
            raise
        raise pb.BadRequest(f"cannot read the list {path.name}: {type(exc).__name__}") from None
    bank = pb.get_bank(s, ex.name)
    have: dict[tuple[str, str], int] = {
        (t, v): cid
        for cid, t, v in s.execute(
            select(PlatformSignal.content_id, PlatformSignal.type, PlatformSignal.value)
            .join(PlatformContent, PlatformContent.id == PlatformSignal.content_id)
            .where(PlatformContent.bank_id == bank.id, ~PlatformSignal.type.startswith(pb.VARIANT_PREFIX))
        )
    }
    added = 0
    for pair in wanted:
        if pair not in have:
            pb.add_content(s, bank.name, {pair[0]: pair[1]})
            added += 1
    gone = [cid for pair, cid in have.items() if pair not in wanted]
    for cid in gone:
        pb.delete_content(s, bank.name, cid)
    ex.fetched_items = len(wanted)
    ex.last_fetch_ts, ex.last_fetch_ok = int(time.time()), True
    s.flush()
    return {"added": added, "removed": len(gone), "total": len(wanted)}


def _parse(lines: list[str]) -> dict[tuple[str, str], None]:
    return dict.fromkeys(pb.parse_te(lines))
