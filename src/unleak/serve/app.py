"""The HMA-compatible HTTP API: thin routes over `unleak.platform_banks`.

Paths, parameters, status codes, JSON shapes and error bodies (`{"message": ...}`) are those of
Meta's Hasher-Matcher-Actioner, so its clients work unchanged. docs/serve.md lists the differences.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from unleak import platform_banks as pb
from unleak import platform_exchanges as px
from unleak import serve_keys as ks
from unleak.config import MediaLimits
from unleak.errors import UnleakError
from unleak.serve import fast, guard, ops
from unleak.store.db import Store, open_store

ROLES = ("hasher", "matcher", "curator")
TITLE = "Open Media Match API"


class Message(BaseModel):
    """Every error's body, as HMA's: `{"message": "..."}`."""

    message: str


_WHY = {
    400: "Bad input: an invalid hash, type, name, field or file",
    401: "No API key, or an invalid or revoked one (once any key exists, or beyond loopback)",
    403: "The key lacks the role or bank, or the action is refused",
    404: "No such bank, content or route",
    413: "The body or file is too large, or decodes to too many pixels",
    429: "Too many requests for this key (see Retry-After)",
    503: "The index is not loaded yet",
}


def _codes(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": Message, "description": _WHY[code]} for code in codes}


GUARDED = (400, 401, 403, 413, 429)


@dataclass
class ServeConfig:
    """What `unleak serve` was started with."""

    roles: tuple[str, ...] = ROLES
    dev: bool = False
    db_url: str | None = None
    allow_networks: tuple[str, ...] = ()
    max_upload_bytes: int = pb.DEFAULT_MAX_UPLOAD
    limits: MediaLimits = field(default_factory=MediaLimits.from_env)
    beyond_loopback: bool = False  # listening beyond loopback: every request needs a key
    rate_per_s: float | None = None  # per key, unless the key sets its own; None: unlimited
    max_json_bytes: int = 1024 * 1024  # any body that is not a multipart upload
    access_log: bool = True  # JSON lines on stderr, without query strings
    exchange_dir: str | None = None  # local_file exchanges read only inside it; None: off
    # A private directory (0700) the workers of one run share: metrics files and rate-limit
    # buckets. None: one process, which keeps both in memory.
    run_dir: str | None = None
    pdq_index: pb.SharedIndex | None = None  # workers map this file instead of each building the index

    def to_env(self) -> dict[str, str]:
        """For worker processes, which build their app from the environment."""
        return {
            "UNLEAK_SERVE_ROLES": ",".join(self.roles),
            "UNLEAK_SERVE_DEV": "1" if self.dev else "",
            "UNLEAK_SERVE_ALLOW": ",".join(self.allow_networks),
            "UNLEAK_SERVE_MAX_UPLOAD": str(self.max_upload_bytes),
            "UNLEAK_SERVE_BEYOND_LOOPBACK": "1" if self.beyond_loopback else "",
            "UNLEAK_SERVE_RATE": "" if self.rate_per_s is None else str(self.rate_per_s),
            "UNLEAK_SERVE_ACCESS_LOG": "1" if self.access_log else "",
            "UNLEAK_SERVE_EXCHANGE_DIR": self.exchange_dir or "",
            "UNLEAK_SERVE_RUN_DIR": self.run_dir or "",
            "UNLEAK_SERVE_PDQ_INDEX": f"{self.pdq_index.seq}:{self.pdq_index.path}" if self.pdq_index else "",
            **({"UNLEAK_DB": self.db_url} if self.db_url else {}),
        }

    @classmethod
    def from_env(cls) -> ServeConfig:
        roles = tuple(r for r in os.environ.get("UNLEAK_SERVE_ROLES", ",".join(ROLES)).split(",") if r)
        allow = tuple(n for n in os.environ.get("UNLEAK_SERVE_ALLOW", "").split(",") if n)
        seq, _, index_path = os.environ.get("UNLEAK_SERVE_PDQ_INDEX", "").partition(":")
        return cls(
            roles=roles,
            dev=bool(os.environ.get("UNLEAK_SERVE_DEV")),
            db_url=os.environ.get("UNLEAK_DB"),
            allow_networks=allow,
            max_upload_bytes=int(os.environ.get("UNLEAK_SERVE_MAX_UPLOAD", pb.DEFAULT_MAX_UPLOAD)),
            beyond_loopback=bool(os.environ.get("UNLEAK_SERVE_BEYOND_LOOPBACK")),
            rate_per_s=float(rate) if (rate := os.environ.get("UNLEAK_SERVE_RATE")) else None,
            access_log=bool(os.environ.get("UNLEAK_SERVE_ACCESS_LOG", "1")),
            exchange_dir=os.environ.get("UNLEAK_SERVE_EXCHANGE_DIR") or None,
            run_dir=os.environ.get("UNLEAK_SERVE_RUN_DIR") or None,
            pdq_index=pb.SharedIndex(Path(index_path), int(seq)) if index_path else None,
        )

    def media_limits(self) -> MediaLimits:
        return MediaLimits(
            max_file_bytes=min(self.limits.max_file_bytes, self.max_upload_bytes),
            max_image_pixels=self.limits.max_image_pixels,
            max_video_seconds=self.limits.max_video_seconds,
            max_video_pixels=self.limits.max_video_pixels,
        )


def create_app_from_env() -> FastAPI:
    return create_app(ServeConfig.from_env())


def create_app(cfg: ServeConfig, store: Store | None = None) -> FastAPI:
    store = store or open_store(cfg.db_url)
    with store.session() as s:
        matcher = pb.PlatformMatcher(watch=pb.watch_for(s))
        matcher.load(s, cfg.pdq_index)
    limits = cfg.media_limits()
    bank_side = pb.BankSideVariants()  # published items' crops, for ?variants=true only

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        matcher.close()  # its watch's own connection and thread (PostgreSQL: the LISTEN)

    app = FastAPI(
        lifespan=lifespan,
        title=TITLE,
        version="1.1.7-unleak",
        description="HMA-compatible hash matching served by unleak",
        openapi_url="/openapi/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.store, app.state.matcher, app.state.cfg = store, matcher, cfg
    _errors(app)
    metrics = ops.Metrics(lambda: {name: matcher.size(name) for name in pb.SIGNAL_TYPES}, shared_dir=cfg.run_dir)
    if "matcher" in cfg.roles:  # innermost: keys, rate limits, size limits and metrics come first
        app.add_middleware(fast.FastLookup, matcher=matcher, on_lookup=metrics.lookup, routes=app.router)
    app.state.keys = guard.install(
        app, store, beyond_loopback=cfg.beyond_loopback, rate_per_s=cfg.rate_per_s, run_dir=cfg.run_dir
    )
    app.add_middleware(guard.BodyLimit, max_upload=limits.max_file_bytes, max_json=cfg.max_json_bytes)
    ops.install(app, metrics, access_log=cfg.access_log)
    app.state.metrics = metrics

    @contextmanager
    def session() -> Iterator[Session]:
        with store.session() as s:
            yield s

    def banks_param(banks: str | None) -> set[str] | None:
        return set(banks.split(",")) if banks else None

    # --- health --------------------------------------------------------------------------------
    @app.get("/status", response_class=PlainTextResponse, tags=["Core"], responses=_codes(503))
    def status() -> PlainTextResponse:
        if not matcher.loaded:
            return PlainTextResponse("INDEX-NOT-LOADED", status_code=503)
        return PlainTextResponse("I-AM-ALIVE")

    @app.get("/status/live", response_class=PlainTextResponse, tags=["Core"])
    def live() -> PlainTextResponse:
        return PlainTextResponse("I-AM-ALIVE")

    @app.get("/site-map", tags=["Core"])
    def site_map() -> list[str]:
        return sorted({"/", "/openapi/openapi.json", *app.openapi()["paths"]})

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/status", status_code=302)

    # --- hashing -------------------------------------------------------------------------------
    h = APIRouter(prefix="/h", tags=["Hashing"], responses=_codes(*GUARDED))

    @h.get("/hash")
    def hash_get(url: str, content_type: str | None = None, types: str | None = None) -> dict[str, str]:
        return _hash_url(url, content_type, types)

    def _hash_url(url: str, content_type: str | None, types: str | None) -> dict[str, str]:
        if content_type is not None:
            pb.content_type(content_type)
        data = pb.fetch_media(url, allow_networks=cfg.allow_networks, max_bytes=limits.max_file_bytes)
        return pb.hash_media(data, content_type, types.split(",") if types else None, limits)

    async def _read_upload(request: Request) -> tuple[str, bytes]:
        """The content type (the form field's name) and the bytes of a one-file multipart upload."""
        length = request.headers.get("content-length", "")
        declared = int(length) if length.isdigit() else 0
        if declared > limits.max_file_bytes + 1024 * 1024:
            raise pb.TooLarge(f"Content too large: over {limits.max_file_bytes:,} bytes")
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise pb.BadRequest("Missing multipart/form-data file upload")
        try:
            form = await request.form(max_files=2, max_fields=10)
        except pb.PlatformError:
            raise
        except StarletteHTTPException as exc:
            raise pb.BadRequest(f"bad multipart upload: {exc.detail}") from None
        except Exception as exc:  # noqa: BLE001 - the multipart parser raises several kinds
            raise pb.BadRequest(f"bad multipart upload: {exc}") from None
        try:
            files = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
            if not files:
                raise pb.BadRequest("Missing multipart/form-data file upload")
            if len(files) > 1:
                raise pb.BadRequest("Only one file allowed per request")
            field_name, upload = files[0]
            ct = pb.content_type(field_name)
            data = await upload.read(limits.max_file_bytes + 1)
        finally:
            await form.close()
        if len(data) > limits.max_file_bytes:
            raise pb.TooLarge(f"Content too large: over {limits.max_file_bytes:,} bytes")
        return ct, data

    async def _hash_upload(request: Request) -> dict[str, str]:
        ct, data = await _read_upload(request)
        types = request.query_params.get("types")
        return await run_in_threadpool(pb.hash_media, data, ct, types.split(",") if types else None, limits)

    @h.post("/hash")
    async def hash_post(request: Request) -> dict[str, str]:
        return await _hash_upload(request)

    # --- matching ------------------------------------------------------------------------------
    m = APIRouter(prefix="/m", tags=["Matching"], responses=_codes(*GUARDED))
    hasher_on = "hasher" in cfg.roles

    @m.get("/lookup")
    async def lookup_get(
        request: Request,
        signal: str | None = None,
        signal_type: str | None = None,
        url: str | None = None,
        content_type: str | None = None,
        types: str | None = None,
        banks: str | None = None,
        seed: str | None = None,
        bypass_coinflip: bool = False,  # accepted but, as in HMA, not applied to GET
        explain: bool = False,
        variants: bool = False,
    ) -> dict[str, Any]:
        wanted = guard.bank_scope(request, banks_param(banks))
        if not url and signal and signal_type:
            # The common case answers on the event loop, without a thread or the store.
            fast = pb.lookup_in_memory(matcher, signal_type, signal, banks=wanted, seed=seed, explain=explain)
            if fast is not None:
                metrics.lookup(signal_type, fast)
                return fast
        return await run_in_threadpool(
            _lookup_get, signal, signal_type, url, content_type, types, wanted, seed, explain, variants
        )

    def _lookup_get(
        signal: str | None,
        signal_type: str | None,
        url: str | None,
        content_type: str | None,
        types: str | None,
        wanted: set[str] | None,
        seed: str | None,
        explain: bool,
        variants: bool,
    ) -> dict[str, Any]:
        if url:
            if not hasher_on:
                raise pb.Forbidden("Hashing is disabled, missing role")
            if variants:
                data = pb.fetch_media(url, allow_networks=cfg.allow_networks, max_bytes=limits.max_file_bytes)
                with session() as s:
                    found: dict[str, Any] = pb.lookup_variants(
                        s, matcher, data, limits, banks=wanted, seed=seed, explain=explain, bank_side=bank_side
                    )
                metrics.lookup("pdq", found["pdq"])
                return found.get(signal_type, {}) if signal_type is not None else found
            hashes = _hash_url(url, content_type, types)
            with session() as s:
                resp = {
                    t: pb.lookup(s, matcher, t, v, banks=wanted, seed=seed, explain=explain) for t, v in hashes.items()
                }
            for t, answer in resp.items():
                metrics.lookup(t, answer)
            return resp.get(signal_type, {}) if signal_type is not None else resp
        if not signal or not signal_type:
            raise pb.BadRequest("Either url or both signal and signal_type are required")
        with session() as s:
            answer = pb.lookup(s, matcher, signal_type, signal, banks=wanted, seed=seed, explain=explain)
        metrics.lookup(signal_type, answer)
        return answer

    @m.post("/lookup")
    async def lookup_post(request: Request) -> dict[str, Any]:
        if not hasher_on:
            raise pb.Forbidden("Hashing is disabled, missing role")
        q = request.query_params
        if q.get("variants", "false") == "true":
            ct, data = await _read_upload(request)
            if ct != "photo":
                raise pb.BadRequest("variants=true applies to photos")
            wanted = guard.bank_scope(request, banks_param(q.get("banks")))

            def run_variants() -> dict[str, Any]:
                with session() as s:
                    return pb.lookup_variants(
                        s,
                        matcher,
                        data,
                        limits,
                        banks=wanted,
                        seed=q.get("seed"),
                        bypass_coinflip=q.get("bypass_coinflip", "false") == "true",
                        explain=q.get("explain", "false") == "true",
                        bank_side=bank_side,
                    )

            resp = await run_in_threadpool(run_variants)
            metrics.lookup("pdq", resp["pdq"])
            return resp
        hashes = await _hash_upload(request)
        bypass = q.get("bypass_coinflip", "false") == "true"
        explain = q.get("explain", "false") == "true"
        wanted, seed = guard.bank_scope(request, banks_param(q.get("banks"))), q.get("seed")

        def run() -> dict[str, Any]:
            with session() as s:
                return {
                    t: pb.lookup(s, matcher, t, v, banks=wanted, seed=seed, bypass_coinflip=bypass, explain=explain)
                    for t, v in hashes.items()
                }

        resp = await run_in_threadpool(run)
        for t, answer in resp.items():
            metrics.lookup(t, answer)
        return resp

    @m.get("/raw_lookup")
    def raw_lookup(
        request: Request, signal: str, signal_type: str, banks: str | None = None, include_distance: bool = False
    ) -> dict[str, list[Any]]:
        wanted = guard.bank_scope(request, banks_param(banks))
        with session() as s:
            hits = pb.raw_lookup(s, matcher, signal_type, signal, wanted)
        if include_distance:
            return {"matches": [{"bank_content_id": x.content_id, "distance": str(x.distance)} for x in hits]}
        return {"matches": [x.content_id for x in hits]}

    @m.post("/compare")
    def compare(payload: Any = Body(...)) -> dict[str, list[Any]]:
        return pb.compare(payload)

    @m.post("/feedback")
    def feedback(request: Request, payload: Any = Body(...)) -> dict[str, Any]:
        key = request.state.key
        with session() as s:
            row = pb.add_feedback(s, payload, key_name=key.name if key else "", bank_scope=key.bank if key else None)
            return {"id": row.id, "bank": row.bank, "bank_content_id": row.content_id, "verdict": row.verdict}

    @m.get("/index/status")
    def index_status(signal_type: str | None = None) -> dict[str, Any]:
        with session() as s:
            out = pb.index_status(s, matcher)
        if signal_type is not None:
            if signal_type not in out:
                raise pb.BadRequest(f"No such signal type '{signal_type}'")
            return {signal_type: out[signal_type]}
        return out

    # --- curation ------------------------------------------------------------------------------
    c = APIRouter(prefix="/c", tags=["Curation"], responses=_codes(*GUARDED, 404))

    def _json_object(payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise pb.BadRequest("Expected a JSON object")
        return payload

    @c.get("/banks")
    def banks_list() -> list[dict[str, Any]]:
        with session() as s:
            return [pb.bank_json(b) for b in pb.list_banks(s)]

    @c.post("/banks", status_code=201)
    def bank_create(payload: Any = Body(...)) -> dict[str, Any]:
        p = _json_object(payload)
        with session() as s:
            return pb.bank_json(pb.create_bank(s, p.get("name"), p.get("enabled_ratio"), p.get("enabled"), safety=p))

    @c.get("/bank/{bank_name}")
    def bank_get(bank_name: str) -> dict[str, Any]:
        with session() as s:
            return pb.bank_json(pb.get_bank(s, bank_name))

    @c.put("/bank/{bank_name}")
    def bank_update(bank_name: str, payload: Any = Body(...)) -> dict[str, Any]:
        p = _json_object(payload)
        with session() as s:
            bank = pb.update_bank(s, bank_name, p.get("name"), p.get("enabled_ratio"), p.get("enabled"), safety=p)
            return pb.bank_json(bank)

    @c.delete("/bank/{bank_name}")
    def bank_delete(bank_name: str) -> dict[str, str]:
        with session() as s:
            pb.delete_bank(s, bank_name)
        return {"message": "Done"}

    @c.post("/bank/{bank_name}/signal")
    def bank_add_signal(bank_name: str, payload: Any = Body(...)) -> dict[str, Any]:
        p = dict(_json_object(payload))
        note = p.pop("note", None)
        with session() as s:
            pb.get_bank(s, bank_name)
            signals = pb.check_signals(p)
            content = pb.add_content(s, bank_name, signals, note=note)
            return {"id": content.id, "signals": signals}

    @c.post("/bank/{bank_name}/content")
    async def bank_add_content(request: Request, bank_name: str) -> dict[str, Any]:
        def check_bank() -> None:
            with session() as s:
                pb.get_bank(s, bank_name)

        await run_in_threadpool(check_bank)
        q = request.query_params
        url = q.get("url")
        note: Any = None
        metadata: Any = None
        if url:
            hashes = await run_in_threadpool(_hash_url, url, q.get("content_type"), q.get("types"))
            if request.headers.get("content-type", "").startswith("application/json"):
                try:
                    body = await request.json()
                except ValueError:
                    raise pb.BadRequest("the body is not valid JSON") from None
                body = _json_object(body)
                note, metadata = body.get("note"), body.get("metadata")
        else:
            hashes = await _hash_upload(request)
            form = await request.form()
            note, metadata = form.get("note"), form.get("metadata")
        if not any(hashes.values()):
            raise pb.BadRequest("invalid signal: the media gave no usable hash (PDQ quality below 50?)")
        signals = {t: v for t, v in hashes.items() if v}

        def store_it() -> dict[str, Any]:
            with session() as s:
                checked = pb.check_signals(signals)
                content = pb.add_content(
                    s, bank_name, checked, note=note, metadata=metadata, original_media_uri=url or None
                )
                return {"id": content.id, "signals": checked}

        return await run_in_threadpool(store_it)

    @c.get("/bank/{bank_name}/content/{content_id}")
    def content_get(
        bank_name: str, content_id: int, include_signals: bool = False, include_metadata: bool = True
    ) -> dict[str, Any]:
        with session() as s:
            content = pb.get_content(s, bank_name, content_id)
            return pb.content_json(s, content, include_signals=include_signals, include_metadata=include_metadata)

    @c.put("/bank/{bank_name}/content/{content_id}")
    def content_update(bank_name: str, content_id: int, payload: Any = Body(...)) -> dict[str, Any]:
        p = _json_object(payload)
        with session() as s:
            content = pb.update_content(
                s, bank_name, content_id, disable_until_ts=p.get("disable_until_ts"), note=p.get("note")
            )
            return pb.content_json(s, content)

    @c.delete("/bank/{bank_name}/content/{content_id}")
    def content_delete(bank_name: str, content_id: int) -> dict[str, int]:
        with session() as s:
            return {"deleted": pb.delete_content(s, bank_name, content_id)}

    @c.get("/signal_type")
    def signal_types() -> list[dict[str, Any]]:
        with session() as s:
            return [{"name": name, "enabled_ratio": r} for name, r in pb.signal_type_ratios(s).items()]

    @c.put("/signal_type/{signal_type_name}")
    def signal_type_update(signal_type_name: str, payload: Any = Body(...)) -> dict[str, Any]:
        with session() as s:
            return pb.update_signal_type(s, signal_type_name, payload)

    exchange_dir = Path(cfg.exchange_dir) if cfg.exchange_dir else None

    @c.get("/exchanges/apis")
    def exchange_apis() -> list[str]:
        return list(px.APIS)

    @c.get("/exchanges/api/{api_name}")
    def exchange_api(api_name: str) -> dict[str, bool]:
        px.check_api(api_name)
        return {"supports_authentification": False, "has_set_authentification": False}

    @c.get("/exchanges/api/{api_name}/schema")
    def exchange_api_schema(api_name: str) -> dict[str, Any]:
        return px.api_schema(api_name)

    @c.post("/exchanges", status_code=201)
    def exchange_create(payload: Any = Body(...)) -> dict[str, str]:
        with session() as s:  # one transaction: a list that cannot be loaded leaves nothing behind
            px.fetch(s, exchange_dir, px.create(s, exchange_dir, payload).name)
        return {"message": "Created successfully"}

    @c.get("/exchanges")
    def exchange_list() -> list[str]:
        with session() as s:
            return px.names(s)

    @c.get("/exchange/{exchange_name}")
    def exchange_get(exchange_name: str) -> dict[str, Any]:
        with session() as s:
            return px.config_json(px.get(s, exchange_name))

    @c.get("/exchange/{exchange_name}/status")
    def exchange_status(exchange_name: str) -> dict[str, Any]:
        with session() as s:
            return px.status_json(px.get(s, exchange_name))

    @c.put("/exchange/{exchange_name}")
    def exchange_update(exchange_name: str, payload: Any = Body(...)) -> dict[str, Any]:
        with session() as s:
            return px.config_json(px.set_enabled(s, exchange_name, payload))

    @c.post("/exchange/{exchange_name}/fetch")
    def exchange_fetch(exchange_name: str) -> dict[str, int]:
        with session() as s:
            return px.fetch(s, exchange_dir, exchange_name)

    @c.delete("/exchange/{exchange_name}")
    def exchange_delete(exchange_name: str) -> dict[str, str]:
        with session() as s:
            px.delete(s, exchange_name)
        return {"message": "Exchange deleted"}

    @c.get("/flood")
    def flood() -> list[dict[str, Any]]:
        with session() as s:
            return pb.flood_list(s)

    @c.get("/feedback")
    def feedback_list(bank: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        with session() as s:
            return pb.feedback_list(s, bank, limit)

    @c.get("/audit")
    def audit(since: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        when = ks.parse_since(since)
        with session() as s:
            return [ks.audit_json(row) for row in ks.audit_since(s, when, limit)]

    @c.get("/signal_type/index")
    def signal_type_index() -> dict[str, Any]:
        with session() as s:
            return pb.signal_type_index(s, matcher)

    @c.get("/content_type")
    def content_types() -> list[dict[str, Any]]:
        return [{"name": name, "enabled": True} for name in pb.CONTENT_TYPES]

    for role, router in (("hasher", h), ("matcher", m), ("curator", c)):
        if role in cfg.roles:
            app.include_router(router)

    if cfg.dev:
        d = APIRouter(prefix="/dev", tags=["Development"], responses=_codes(401, 403, 429))

        @d.post("/factory_reset", status_code=302, response_class=RedirectResponse)
        def factory_reset() -> RedirectResponse:
            with session() as s:
                pb.factory_reset(s)
            with session() as s:
                matcher.sync(s)
            return RedirectResponse("/status", status_code=302)

        app.include_router(d)
    _real_status_codes(app)
    return app


def _real_status_codes(app: FastAPI) -> None:
    """The OpenAPI document lists the codes the server answers: FastAPI's default 422 is never
    sent (bad parameters are a 400 `{"message"}`, as in HMA), so it is taken out."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            for path in doc.get("paths", {}).values():
                for op in path.values():
                    responses = op.get("responses", {})
                    if responses.pop("422", None) is not None:
                        responses.setdefault("400", {"description": _WHY[400], "content": _message_content()})
            schemas = doc.get("components", {}).get("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _message_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Message"}}}


def _message(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def _errors(app: FastAPI) -> None:
    """Every error answers HMA's way: `{"message": ...}` with the status code; never a traceback."""

    async def platform_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UnleakError)
        status = exc.status if isinstance(exc, pb.PlatformError) else 400
        return _message(status, exc.message)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return _message(exc.status_code, str(exc.detail))

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
        return _message(400, "; ".join(parts) or "invalid request")

    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return _message(500, f"internal error ({type(exc).__name__})")

    handlers: dict[Any, Callable[..., Any]] = {
        UnleakError: platform_error,
        StarletteHTTPException: http_error,
        RequestValidationError: validation_error,
        Exception: unexpected,
    }
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)
