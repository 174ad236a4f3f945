"""The web layer of `unleak app`: routes, sessions, CSRF, security headers. No logic of its own:
each action is a call to the library (the same ones the CLI makes), made `acting_as` the account
so that the case's evidence log names who did it."""

from __future__ import annotations

import asyncio
import hmac
import io
import ipaddress
import json
import secrets
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from unleak import accounts
from unleak.accounts import WebSession
from unleak.app.jobs import Job, Jobs
from unleak.config import MediaLimits
from unleak.errors import ConfigError, UnleakError
from unleak.evidence.log import acting_as
from unleak.store import Store, open_store
from unleak.text import neutralize

HERE = Path(__file__).parent
SESSION_COOKIE = "unleak_session"
LOGIN_COOKIE = "unleak_login"
SESSION_SECONDS = int(accounts.SESSION_LIFETIME.total_seconds())
PAGE_SIZE = 50
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, *, has_accounts: bool, tls: bool, behind_proxy: str | None) -> None:
    """Refuse to listen beyond this machine without accounts, and without TLS unless a named reverse
    proxy terminates it (`ConfigError`, one line saying what to do)."""
    if is_loopback(host):
        return
    if not has_accounts:
        raise ConfigError(
            f"refusing to listen on {host} without accounts: anyone who reaches it could open every case",
            hint="add one first with `unleak users add NAME --role admin`, or listen on 127.0.0.1",
        )
    if not tls and not behind_proxy:
        raise ConfigError(
            f"refusing to listen on {host} without TLS: passwords and cases would cross the network in clear",
            hint="give --tls-cert and --tls-key, or --behind-proxy NAME for the reverse proxy that terminates TLS",
        )


@dataclass
class AppConfig:
    db_url: str | None = None
    roots: tuple[Path, ...] = ()
    host: str = "127.0.0.1"
    tls: bool = False
    behind_proxy: str | None = None
    login_token: str | None = None  # the one-time token printed at start
    max_upload_bytes: int = 200 * 1024 * 1024

    @property
    def secure_cookies(self) -> bool:
        return self.tls or bool(self.behind_proxy)

    @property
    def helpline(self) -> bool:
        """Serving others (beyond loopback): the media is not on this machine."""
        return not is_loopback(self.host)


class Forbidden(HTTPException):
    def __init__(self) -> None:
        super().__init__(403, "You may not open this case.")


def clean(value: Any) -> str:
    """A value from the outside world for a page: control and direction characters shown as escapes
    (Jinja's autoescape then handles HTML)."""
    if value is None:
        return ""
    return neutralize(str(value), one_line=False)


def fmt_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "" if value is None else str(value)


def create_app(config: AppConfig | None = None, store: Store | None = None) -> FastAPI:
    config = config or AppConfig()
    store = store or open_store(config.db_url)
    jobs = Jobs()
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["clean"] = clean
    templates.env.filters["when"] = fmt_time
    templates.env.autoescape = True
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config, app.state.store, app.state.jobs = config, store, jobs
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    token_box = {"token": config.login_token}
    charts: dict[tuple[str, tuple[int, str | None]], bytes] = {}

    def warm_up() -> None:  # matplotlib takes a second or two to import: not on the first chart's request
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.figure

    threading.Thread(target=warm_up, name="unleak-app-warm-up", daemon=True).start()

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        # the server's own time for the page, for the browser's tools and bench/app_pages.py
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        if config.secure_cookies:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    # --- sessions ---------------------------------------------------------------------------
    _none = object()

    def current(request: Request) -> WebSession | None:
        """The request's session, from the database (so it survives a restart and is shared by
        every worker); looked up once per request."""
        cached = getattr(request.state, "unleak_session", _none)
        if cached is not _none:
            return cached  # type: ignore[return-value]
        sess = accounts.load_session(store, request.cookies.get(SESSION_COOKIE, ""))
        request.state.unleak_session = sess
        return sess

    def start_session(response: Response, actor: str, account: accounts.Account | None) -> None:
        token, _ = accounts.start_session(store, actor, account)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=config.secure_cookies,
            max_age=SESSION_SECONDS,
            path="/",
        )

    def need(request: Request) -> WebSession:
        sess = current(request)
        if sess is None:
            raise HTTPException(303, headers={"Location": "/login"})
        return sess

    async def form_of(request: Request, sess: WebSession) -> dict[str, Any]:
        """The posted form, after its CSRF token was checked (403 otherwise)."""
        form = await request.form(max_part_size=config.max_upload_bytes)
        token = str(form.get("csrf") or request.headers.get("X-CSRF-Token") or "")
        if not hmac.compare_digest(token, sess.csrf):
            raise HTTPException(403, "This form has expired. Go back, reload the page and try again.")
        return dict(form.multi_items())

    def open_case(sess: WebSession, case: str) -> str:
        if not accounts.may_open(store, sess.account, case):
            raise Forbidden()
        with store.session() as s:
            store.case(s, case)  # NotFound for an unknown case
        return case

    @contextmanager
    def acting(sess: WebSession) -> Iterator[None]:
        with acting_as(f"app:{sess.actor}"):
            yield

    def page(request: Request, sess: WebSession | None, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        flash = list(sess.flash) if sess else []
        if sess and flash:
            sess.flash.clear()
            accounts.save_session(store, sess)
        return templates.TemplateResponse(
            request,
            name,
            {"sess": sess, "csrf": sess.csrf if sess else "", "config": config, "flash": flash, **ctx},
            status_code=status,
        )

    def back(url: str, sess: WebSession | None = None, message: str | None = None, kind: str = "ok") -> Response:
        if sess is not None and message:
            sess.flash.append((kind, message))
            accounts.save_session(store, sess)
        return RedirectResponse(url, status_code=303)

    def case_url(case: str, rest: str = "") -> str:
        return f"/c/{quote(case, safe='')}{rest}"

    @app.exception_handler(UnleakError)
    async def unleak_error(request: Request, exc: UnleakError):
        from unleak.errors import NotFound

        status = 404 if isinstance(exc, NotFound) else 400
        return page(request, current(request), "error.html", status=status, message=exc.message, hint=exc.hint)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if exc.status_code in (301, 302, 303) and exc.headers:
            return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
        return page(request, current(request), "error.html", status=exc.status_code, message=exc.detail, hint=None)

    # --- login ------------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, token: str | None = None):
        if token:
            expected = token_box["token"]
            if expected and hmac.compare_digest(token, expected):
                token_box["token"] = None  # one time only
                first = getattr(app.state, "first_case", None)
                response = RedirectResponse(case_url(first) if first else "/", status_code=303)
                start_session(response, "owner", None)
                return response
            return page(
                request,
                None,
                "login.html",
                status=403,
                error="This login link was already used or is wrong. Start `unleak app` again for a new one.",
            )
        return login_form(request, accounts_exist=accounts.has_accounts(store))

    def login_form(request: Request, status: int = 200, **ctx: Any) -> HTMLResponse:
        """The login page, with a CSRF token bound to a cookie (there is no session yet)."""
        token = secrets.token_urlsafe(32)
        response = page(request, None, "login.html", status=status, login_csrf=token, **ctx)
        response.set_cookie(
            LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=config.secure_cookies, path="/login"
        )
        return response

    @app.post("/login")
    async def login(request: Request):
        form = await request.form()
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(str(form.get("csrf") or ""), expected):
            raise HTTPException(403, "This form has expired. Go back, reload the page and try again.")
        name, password = str(form.get("name") or ""), str(form.get("password") or "")
        address = request.client.host if request.client else None
        try:
            account = accounts.authenticate(store, name, password, address) if name and password else None
        except accounts.LoginLocked as exc:
            refused = login_form(request, status=429, error=str(exc), accounts_exist=True)
            wait = (exc.retry_at - datetime.now(UTC)).total_seconds()
            refused.headers["Retry-After"] = str(max(1, int(wait) + 1))
            return refused
        if account is None:
            return login_form(request, status=401, error="Wrong name or password.", accounts_exist=True)
        response = RedirectResponse("/", status_code=303)
        start_session(response, account.name, account)
        return response

    @app.post("/logout")
    async def logout(request: Request):
        sess = need(request)
        await form_of(request, sess)
        accounts.end_session(store, request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # --- start --------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def start(request: Request):
        sess = need(request)
        from unleak.cases import list_cases

        visible = set(accounts.visible_cases(store, sess.account))
        cases = [c for c in list_cases(store) if c.name in visible]
        return page(request, sess, "start.html", cases=cases)

    @app.post("/cases")
    async def new_case(request: Request):
        sess = need(request)
        form = await form_of(request, sess)
        from unleak.cases import create_case

        with acting(sess):
            c = create_case(store, str(form.get("name", "")), str(form.get("description", "")))
        if sess.account is not None and not sess.account.is_admin:
            accounts.assign_case(store, sess.account.name, c.name)
        return back(case_url(c.name), sess, f"Case {c.name} opened.")

    # --- case overview ----------------------------------------------------------------------------
    def case_context(case: str, *, full: bool = False) -> dict[str, Any]:
        """What every page of a case shows; `full` adds the log check and key (overview, evidence)."""
        from unleak.cases import case_summary, get_case_setting, show_case
        from unleak.store.models import Case

        detail = show_case(store, case) if full else case_summary(store, case)
        with store.session() as s:
            row = s.get(Case, detail.id)
            minor = bool(row.minor) if row is not None else False
        hidden = get_case_setting(store, case, "hide_thumbnails") == "1"
        return {"case": detail, "case_name": case, "minor": minor, "thumbs_hidden": hidden or minor}

    @app.get("/c/{case}", response_class=HTMLResponse)
    def overview(request: Request, case: str):
        sess = need(request)
        open_case(sess, case)
        from unleak.takedown.notices import notice_status

        ctx = case_context(case, full=True)
        now = datetime.now(UTC)
        rows = notice_status(store, case, now=now, include_closed=False)
        overdue = [r for r in rows if r.overdue]
        from unleak.evidence.sightings import page_sightings

        reuploads = page_sightings(store, case, status="up", reupload=True, limit=20)[0]
        from unleak.takedown.drafting import unreported_count

        unreported = unreported_count(store, case)
        return page(
            request,
            sess,
            "overview.html",
            **ctx,
            overdue=overdue,
            reuploads=reuploads,
            unreported=unreported,
            open_notices=rows,
        )

    @app.get("/c/{case}/timeline.svg")
    def timeline(request: Request, case: str):
        sess = need(request)
        open_case(sess, case)
        from unleak.evidence.views import case_timeline, log_head, timeline_svg

        key = (case, log_head(store, case))  # every change to a case appends to its log
        svg = charts.get(key)
        if svg is None:
            svg = timeline_svg(case_timeline(store, case))
            charts.clear() if len(charts) > 32 else None
            charts[key] = svg
        return Response(svg, media_type="image/svg+xml")

    # --- protect and import (Start page flows, per case) ----------------------------------------
    def resolve_under_roots(path: str) -> Path:
        p = Path(path).expanduser().resolve()
        for root in config.roots:
            r = root.resolve()
            if p == r or r in p.parents:
                return p
        raise UnleakError(
            "that folder is outside the folders this app may read",
            hint="choose a folder under: " + ", ".join(str(r) for r in config.roots),
        )

    @app.get("/c/{case}/protect", response_class=HTMLResponse)
    def protect_page(request: Request, case: str, folder: str | None = None):
        sess = need(request)
        open_case(sess, case)
        here = resolve_under_roots(folder) if folder else None
        subfolders: list[Path] = []
        if here is not None and here.is_dir():
            try:
                subfolders = sorted(p for p in here.iterdir() if p.is_dir() and not p.name.startswith("."))[:500]
            except OSError:
                subfolders = []
        return page(
            request, sess, "protect.html", **case_context(case), here=here, subfolders=subfolders, roots=config.roots
        )

    @app.post("/c/{case}/protect")
    async def protect(request: Request, case: str):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        if config.helpline:
            raise UnleakError(
                "on a helpline's server the photos are not here",
                hint="protect them on the person's own machine and import the hash list they export",
            )
        folder = resolve_under_roots(str(form.get("folder", "")))
        from unleak.bank import Bank
        from unleak.media.files import iter_media_paths

        def work(job: Job) -> str:
            bank = Bank(store, case)
            files = list(iter_media_paths([folder], on_skip=lambda p, why: job.lines.append(f"{p}: {why}")))
            job.total = len(files)
            added = skipped = failed = 0
            for path in files:
                r = bank.protect_one(path, variants=True)
                job.done += 1
                if r.error:
                    failed += 1
                    job.lines.append(r.error)
                elif r.refused:
                    job.lines.append(r.refused)
                elif r.skipped:
                    skipped += 1
                else:
                    added += 1
            return f"Protected {added} new file(s); {skipped} already protected; {failed} could not be read."

        job = jobs.start(case, "protect", f"app:{sess.actor}", work)
        return back(case_url(case, f"/jobs/{job.id}"))

    @app.post("/c/{case}/import")
    async def import_hashes(request: Request, case: str):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        upload = form.get("hashes")
        from unleak.bank import Bank

        with uploaded(upload) as path, acting(sess):
            added, refused = Bank(store, case).import_file(path, None, label=str(form.get("label") or "imported"))
        return back(case_url(case), sess, f"Imported {added} hash(es); {refused} already there or removed before.")

    @contextmanager
    def uploaded(upload: Any, suffix: str = "") -> Iterator[Path]:
        """An uploaded file in a private temporary folder for the length of the request only."""
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise UnleakError("no file was chosen", hint="choose a file, then press the button")
        limit = min(config.max_upload_bytes, MediaLimits.from_env().max_file_bytes)
        folder = Path(tempfile.mkdtemp(prefix="unleak-app-"))
        try:
            name = Path(upload.filename).name or "upload"
            path = folder / (neutralize(name).replace("\\", "_")[:100] + suffix)
            size = 0
            with path.open("wb") as out:
                while chunk := upload.file.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        raise UnleakError(f"the file is over the upload limit of {limit:,} bytes")
                    out.write(chunk)
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # --- jobs ------------------------------------------------------------------------------------
    def job_for(sess: WebSession, case: str, job_id: str) -> Job:
        open_case(sess, case)
        job = jobs.get(job_id)
        if job is None or job.case != case:
            raise HTTPException(404, "No such task.")
        return job

    @app.get("/c/{case}/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(request: Request, case: str, job_id: str):
        sess = need(request)
        job = job_for(sess, case, job_id)
        return page(request, sess, "job.html", **case_context(case), job=job)

    @app.get("/c/{case}/jobs/{job_id}/events")
    async def job_events(request: Request, case: str, job_id: str):
        sess = need(request)
        job = job_for(sess, case, job_id)

        async def stream():
            last = None
            while True:
                state = json.dumps(job.state())
                if state != last:
                    yield f"data: {state}\n\n"
                    last = state
                if job.finished or await request.is_disconnected():
                    return
                await asyncio.sleep(0.25)

        return StreamingResponse(stream(), media_type="text/event-stream")

    # --- sightings ------------------------------------------------------------------------------------
    @app.get("/c/{case}/sightings", response_class=HTMLResponse)
    def sightings(
        request: Request,
        case: str,
        status: str | None = None,
        host: str | None = None,
        item: str | None = None,
        page_no: int = 1,
        view: str = "table",
    ):
        sess = need(request)
        open_case(sess, case)
        from unleak.cases import case_hosts
        from unleak.evidence.sightings import page_sightings

        bank_id = int(item) if item and item.isdigit() else None
        page_no = max(1, page_no)
        rows, total = page_sightings(
            store,
            case,
            status=status or None,
            host=host or None,
            bank_id=bank_id,
            offset=(page_no - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        ctx = case_context(case)
        notice_of = notice_states(ctx["case"].id, [r.id for r in rows])
        filters = {k: v for k, v in {"status": status, "host": host, "item": item, "view": view}.items() if v}
        pages = max(1, -(-total // PAGE_SIZE))
        return page(
            request,
            sess,
            "sightings.html",
            **ctx,
            rows=rows,
            total=total,
            page_no=page_no,
            pages=pages,
            filters=filters,
            view=view if view in ("table", "gallery") else "table",
            hosts=sorted(case_hosts(store, case)),
            notice_of=notice_of,
            query=lambda **kw: urlencode({**filters, **kw}),
        )

    def notice_states(case_id: int, sighting_ids: list[int]) -> dict[int, str]:
        from sqlalchemy import select

        from unleak.store.models import Notice, NoticeItem

        out: dict[int, str] = {}
        with store.session() as s:
            for sid, status, nid in s.execute(
                select(NoticeItem.sighting_id, Notice.status, Notice.id)
                .join(Notice, Notice.id == NoticeItem.notice_id)
                .where(Notice.case_id == case_id, NoticeItem.sighting_id.in_(sighting_ids))
                .order_by(Notice.id)
            ):
                if sid is not None:
                    out[sid] = f"notice #{nid}: {status}"
        return out

    @app.get("/c/{case}/sightings/{sighting_id}/thumb.jpg")
    def thumb(request: Request, case: str, sighting_id: int):
        sess = need(request)
        open_case(sess, case)
        ctx = case_context(case)
        if ctx["thumbs_hidden"]:
            raise HTTPException(404, "Pictures are not shown in this case.")
        from unleak.evidence.views import sighting_thumbnail

        data = sighting_thumbnail(store, case, sighting_id, blur=sighting_id not in sess.revealed)
        if data is None:
            raise HTTPException(404, "No picture was captured for this copy.")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @app.post("/c/{case}/sightings/{sighting_id}/reveal")
    async def reveal(request: Request, case: str, sighting_id: int):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        if form.get("hide"):
            sess.revealed.discard(sighting_id)
        else:
            sess.revealed.add(sighting_id)
        accounts.save_session(store, sess)
        target = str(form.get("back") or "")
        if not target.startswith(case_url(case) + "/") or "//" in target or "\\" in target:
            target = case_url(case, "/sightings?view=gallery")  # only back into this case: never elsewhere
        return back(target)

    @app.post("/c/{case}/settings/thumbnails")
    async def hide_thumbnails(request: Request, case: str):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        from unleak.cases import set_case_setting

        with acting(sess):
            set_case_setting(store, case, "hide_thumbnails", "1" if form.get("hide") else "0")
        sess.revealed.clear()
        accounts.save_session(store, sess)
        return back(case_url(case, "/sightings"), sess, "Setting saved.")

    # --- sources and scans ------------------------------------------------------------------------
    @app.get("/c/{case}/sources", response_class=HTMLResponse)
    def sources(request: Request, case: str):
        sess = need(request)
        open_case(sess, case)
        from unleak.monitor.sources import list_sources, source_kinds

        return page(
            request,
            sess,
            "sources.html",
            **case_context(case),
            sources=list_sources(store, case),
            kinds=sorted(source_kinds()),
            watches=jobs.running(case, "watch"),
        )

    @app.post("/c/{case}/sources")
    async def add_source(request: Request, case: str):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        from unleak.monitor.sources import SourceOptions
        from unleak.monitor.sources import add_source as add

        targets = [t.strip() for t in str(form.get("targets", "")).split() if t.strip()]
        allow = [n.strip() for n in str(form.get("allow_network", "")).split(",") if n.strip()]
        if str(form.get("kind")) == "folder":
            targets = [str(resolve_under_roots(t)) for t in targets]
        with acting(sess):
            info = add(
                store,
                case,
                str(form.get("kind", "crawl")),
                targets,
                SourceOptions([], None, None, allow, {}),
                name=str(form.get("name") or "") or None,
            )
        return back(case_url(case, "/sources"), sess, f"Added source {info.id}: {info.name}.")

    @app.post("/c/{case}/sources/{source_id}/remove")
    async def remove_source(request: Request, case: str, source_id: int):
        sess = need(request)
        await form_of(request, sess)
        open_case(sess, case)
        from unleak.monitor.sources import remove_source as remove

        with acting(sess):
            remove(store, case, source_id)
        return back(case_url(case, "/sources"), sess, f"Removed source {source_id}; its evidence is kept.")

    @app.post("/c/{case}/scan")
    async def scan(request: Request, case: str):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        from unleak.monitor.scan import Scanner, ScanOptions
        from unleak.net.fetch import FetchPolicy

        try:
            rate = float(form.get("rate") or 1.0)
            every_hours = float(form.get("every_hours") or 0)
        except ValueError:
            raise UnleakError("give numbers for the rate and the hours between scans") from None
        watch = bool(form.get("watch"))
        if watch and every_hours <= 0:
            raise UnleakError("give the hours between scans", hint="for example 6")

        def once(job: Job) -> str:
            found = {"n": 0}

            def on_sighting(event) -> None:
                found["n"] += 1
                job.lines.append(f"found: {neutralize(event.media_url)}" + (" (re-upload)" if event.reupload else ""))

            def on_progress(done: int, total: int) -> None:
                job.done, job.total = done, total

            options = ScanOptions(policy=FetchPolicy(rate=rate or None))
            reports = Scanner(store, case, options, on_sighting=on_sighting, on_progress=on_progress).scan_all()
            refused = failed = 0
            for r in reports:
                refused += r.stats["blocked"]
                failed += r.stats["failed"]
                for ref in r.stats["refusals"][:5]:
                    job.lines.append(f"refused {neutralize(ref['url'])}: {ref['reason']}")
            return (
                f"Scan finished: {found['n']} sighting(s) from {len(reports)} source(s); "
                f"{refused} refused, {failed} failed."
            )

        def keep_watching(job: Job) -> str:
            """As `unleak watch`: scan, re-check the URLs of sent notices, wait, again, until stopped."""
            from unleak.takedown.verify import verify_case

            while True:
                job.lines.append(once(job))
                try:
                    report = verify_case(store, case, policy=FetchPolicy(rate=rate or None))
                    if report.checks:
                        job.lines.append(
                            f"Removal check: {report.gone} gone, {report.up} still up, {report.errors} not checked."
                        )
                except UnleakError as exc:
                    job.lines.append(f"removal check failed, will try again: {exc}")
                job.runs += 1
                if job.stop.wait(every_hours * 3600):
                    return f"Watch stopped after {job.runs} scan(s)."

        if watch:
            job = jobs.start(case, "watch", f"app:{sess.actor}", keep_watching)
        else:
            job = jobs.start(case, "scan", f"app:{sess.actor}", once)
        return back(case_url(case, f"/jobs/{job.id}"))

    @app.post("/c/{case}/jobs/{job_id}/stop")
    async def stop_job(request: Request, case: str, job_id: str):
        sess = need(request)
        await form_of(request, sess)
        job = job_for(sess, case, job_id)
        job.stop.set()
        return back(case_url(case, f"/jobs/{job.id}"), sess, "Stopping after the current step.")

    # --- notices -------------------------------------------------------------------------------------
    @app.get("/c/{case}/notices", response_class=HTMLResponse)
    def notices(request: Request, case: str):
        sess = need(request)
        open_case(sess, case)
        from unleak.takedown.claimant import get_claimant
        from unleak.takedown.notices import notice_status

        rows = notice_status(store, case, now=datetime.now(UTC), include_closed=True)
        return page(request, sess, "notices.html", **case_context(case), rows=rows, claimant=get_claimant(store, case))

    @app.post("/c/{case}/claimant")
    async def claimant(request: Request, case: str):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        from unleak.takedown.claimant import set_claimant

        fields = ("name", "email", "postal_address", "phone", "on_behalf_of")
        with acting(sess):
            set_claimant(
                store,
                case,
                **{k: str(form.get(k) or "") or None for k in fields},
                roles=str(form.get("role") or "depicted_person"),
            )
        return back(case_url(case, "/notices"), sess, "Saved who signs the notices.")

    @app.post("/c/{case}/notices/draft")
    async def draft(request: Request, case: str):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        from unleak.takedown.drafting import draft_notices

        recipients = {}
        if form.get("host") and form.get("recipient"):
            recipients[str(form["host"]).strip()] = str(form["recipient"]).strip()
        with acting(sess):
            outcomes = draft_notices(store, case, search=bool(form.get("search")), recipients=recipients)
        if not outcomes:
            return back(case_url(case, "/notices"), sess, "No copy is waiting for a notice: nothing to draft.")
        return back(case_url(case, "/notices"), sess, f"Drafted {len(outcomes)} notice(s). Open each to read it.")

    def notice_of_case(case: str, notice_id: int):
        from unleak.store.models import Notice

        with store.session() as s:
            cid = store.case(s, case).id
        with store.session() as s:
            n = s.get(Notice, notice_id)
            if n is None or n.case_id != cid:
                raise HTTPException(404, "No such notice in this case.")
            return dict(n.fields or {})

    @app.get("/c/{case}/notices/{notice_id}", response_class=HTMLResponse)
    def notice(request: Request, case: str, notice_id: int):
        sess = need(request)
        open_case(sess, case)
        fields = notice_of_case(case, notice_id)
        from unleak.takedown.bases import get_basis
        from unleak.takedown.content import form_fields
        from unleak.takedown.notices import get_notice
        from unleak.takedown.sections import notice_sections

        n = get_notice(store, notice_id)
        asks = {e.key: e.ask for e in get_basis(n.basis).elements if e.ask}
        try:
            form_values = form_fields(fields) if n.channel == "webform" else []
        except (UnleakError, KeyError):
            form_values = []
        return page(
            request,
            sess,
            "notice.html",
            **case_context(case),
            n=n,
            sections=notice_sections(n.body, fields.get("basis", n.basis)),
            form_values=form_values,
            asks=asks,
        )

    @app.post("/c/{case}/notices/{notice_id}/edit")
    async def notice_edit(request: Request, case: str, notice_id: int):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        notice_of_case(case, notice_id)
        from unleak.takedown.drafting import is_fact_key, update_notice

        answers = {
            k: str(v)
            for k, v in form.items()
            if (
                k in ("work", "explanation", "details", "locate_info", "reference", "recipient", "queries")
                or is_fact_key(k)
            )
            and str(v).strip()
        }
        with acting(sess):
            missing = update_notice(store, notice_id, answers)
        msg = "Still missing: " + "; ".join(m.label for m in missing) if missing else "The notice is complete."
        return back(case_url(case, f"/notices/{notice_id}"), sess, msg, "warn" if missing else "ok")

    @app.post("/c/{case}/notices/{notice_id}/confirm")
    async def notice_confirm(request: Request, case: str, notice_id: int):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        notice_of_case(case, notice_id)
        from unleak.takedown.confirming import confirm_notices

        with acting(sess):
            confirm_notices(store, {notice_id: str(form.get("sha256", ""))}, typed_name=str(form.get("typed_name", "")))
        return back(case_url(case, f"/notices/{notice_id}"), sess, "Confirmed. You can send it now.")

    @app.post("/c/{case}/notices/{notice_id}/send")
    async def notice_send(request: Request, case: str, notice_id: int):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        notice_of_case(case, notice_id)
        from unleak.takedown.sending import send_notice

        with acting(sess):
            r = send_notice(store, notice_id, submitted=bool(form.get("submitted")))
        how = f"Sent to {r.recipient}" if r.channel == "email" else f"Recorded as submitted at {r.recipient}"
        return back(case_url(case, f"/notices/{notice_id}"), sess, f"{how} at {fmt_time(r.sent_at)}.")

    @app.post("/c/{case}/notices/{notice_id}/reply")
    async def notice_reply(request: Request, case: str, notice_id: int):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        notice_of_case(case, notice_id)
        from unleak.takedown.replies import record_reply

        with acting(sess):
            record_reply(store, notice_id, str(form.get("status") or "acknowledged"), str(form.get("note") or ""))
        return back(case_url(case, f"/notices/{notice_id}"), sess, "Reply recorded.")

    # --- evidence -------------------------------------------------------------------------------------
    @app.get("/c/{case}/evidence", response_class=HTMLResponse)
    def evidence(request: Request, case: str):
        sess = need(request)
        open_case(sess, case)
        return page(request, sess, "evidence.html", **case_context(case, full=True), check=None)

    def zip_folder(folder: Path) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(folder.rglob("*")):
                if p.is_file():
                    z.write(p, str(Path(folder.name) / p.relative_to(folder)))
        return buf.getvalue()

    @app.post("/c/{case}/evidence/export")
    async def export(request: Request, case: str):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        from unleak.evidence.export import export_bundle
        from unleak.takedown.report import bundle_section

        tmp = Path(tempfile.mkdtemp(prefix="unleak-app-"))
        try:
            out = tmp / f"evidence-{safe_name(case)}"
            with acting(sess):
                export_bundle(store, case, out, pdf=bool(form.get("pdf")), takedown=bundle_section)
            data = zip_folder(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return Response(
            data,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="evidence-{safe_name(case)}.zip"'},
        )

    @app.get("/c/{case}/evidence/report.pdf")
    def report_pdf(request: Request, case: str):
        sess = need(request)
        open_case(sess, case)
        from unleak.evidence.export import export_bundle
        from unleak.takedown.report import bundle_section

        tmp = Path(tempfile.mkdtemp(prefix="unleak-app-"))
        try:
            with acting(sess):
                r = export_bundle(store, case, tmp / "bundle", pdf=True, takedown=bundle_section)
            pdfs = sorted(r.path.rglob("*.pdf"))
            if not pdfs:
                raise UnleakError("the report could not be written as PDF")
            data = pdfs[0].read_bytes()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return Response(data, media_type="application/pdf")

    @app.post("/c/{case}/evidence/verify", response_class=HTMLResponse)
    async def verify(request: Request, case: str):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        from unleak.evidence.signing import parse_key_spec
        from unleak.evidence.verify import verify_bundle

        keys = [parse_key_spec(str(form["key"]).strip())] if str(form.get("key") or "").strip() else None
        with uploaded(form.get("bundle")) as path:
            folder = path.parent / "bundle"
            safe_unzip(path, folder)
            entries = [p for p in folder.iterdir()]
            root = entries[0] if len(entries) == 1 and entries[0].is_dir() else folder
            check = verify_bundle(root, None, keys=keys, heads=[])
        return page(request, sess, "evidence.html", **case_context(case, full=True), check=check)

    def safe_unzip(path: Path, folder: Path) -> None:
        limits = MediaLimits.from_env()
        try:
            with zipfile.ZipFile(path) as z:
                total = 0
                for info in z.infolist():
                    name = Path(info.filename)
                    if name.is_absolute() or ".." in name.parts:
                        raise UnleakError(f"the zip holds an unsafe path {neutralize(info.filename)!r}")
                    total += info.file_size
                    if total > limits.max_file_bytes or len(z.infolist()) > 100_000:
                        raise UnleakError("the zip unpacks to more than the media limits allow")
                z.extractall(folder)
        except zipfile.BadZipFile:
            raise UnleakError("that file is not a zip", hint="upload the .zip the Evidence page gave you") from None

    # --- trace ---------------------------------------------------------------------------------------
    @app.get("/c/{case}/trace", response_class=HTMLResponse)
    def trace_page(request: Request, case: str):
        sess = need(request)
        open_case(sess, case)
        from unleak.watermark.registry import Registry

        return page(
            request, sess, "trace.html", **case_context(case), recipients=Registry(store, case).list(), result=None
        )

    @app.post("/c/{case}/recipients")
    async def add_recipient(request: Request, case: str):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        from unleak.watermark.registry import Registry

        with acting(sess):
            r = Registry(store, case).add(str(form.get("name", "")), str(form.get("contact") or ""))
        return back(case_url(case, "/trace"), sess, f"Added recipient {r.name}.")

    @app.post("/c/{case}/mark")
    async def mark(request: Request, case: str):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        from unleak.watermark.registry import Registry

        with uploaded(form.get("original")) as path, acting(sess):
            out = path.parent / "marked"
            results = Registry(store, case).mark(path, out, None)
            errors = [m.error for m in results if m.error]
            if errors:
                raise UnleakError(errors[0])
            data = zip_folder(out)
        return Response(
            data,
            media_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="marked-copies.zip"'},
        )

    @app.post("/c/{case}/trace", response_class=HTMLResponse)
    async def trace(request: Request, case: str):
        sess = need(request)
        form = await form_of(request, sess)
        open_case(sess, case)
        from unleak.watermark.registry import Registry

        reg = Registry(store, case)
        with uploaded(form.get("leaked")) as path, acting(sess):
            result, found = reg.trace(path, None)
        return page(
            request,
            sess,
            "trace.html",
            **case_context(case),
            recipients=reg.list(),
            result=result,
            found=found,
        )

    # --- settings: SMTP ----------------------------------------------------------------------------------
    def need_admin(request: Request) -> WebSession:
        """An admin, or the person who started the app (the one-time link): caseworkers get 403."""
        sess = need(request)
        if sess.account is not None and not sess.account.is_admin:
            raise HTTPException(403, "Only an admin may change the app's settings.")
        return sess

    def smtp_page(request: Request, sess: WebSession, status: int = 200, **ctx: Any) -> HTMLResponse:
        from unleak.takedown.smtp import SMTPSettings, has_saved_password, load_smtp_settings, smtp_overridden

        try:
            current_settings = load_smtp_settings()
            problem = None
        except UnleakError as exc:
            current_settings, problem = SMTPSettings(), str(exc)
        return page(
            request,
            sess,
            "smtp.html",
            status=status,
            smtp=current_settings,
            overridden=smtp_overridden(),
            has_password=has_saved_password(current_settings),
            problem=problem,
            **ctx,
        )

    @app.get("/settings/smtp", response_class=HTMLResponse)
    def smtp_settings(request: Request):
        return smtp_page(request, need_admin(request))

    @app.post("/settings/smtp")
    async def smtp_save(request: Request):
        sess = need_admin(request)
        form = await form_of(request, sess)
        from unleak.takedown.smtp import SMTPSettings, save_smtp_settings

        def number(key: str, default: float) -> float:
            raw = str(form.get(key) or "").strip()
            try:
                return float(raw) if raw else default
            except ValueError:
                raise UnleakError(f"the {key} must be a number", hint="for example 587") from None

        wanted = SMTPSettings(
            host=str(form.get("host") or "").strip(),
            port=int(number("port", 0)),
            security=str(form.get("security") or "starttls"),
            username=str(form.get("username") or "").strip(),
            from_addr=str(form.get("from_addr") or "").strip(),
            password_file=str(form.get("password_file") or "").strip(),
            ca_file=str(form.get("ca_file") or "").strip(),
            timeout=number("timeout", 30.0),
        )
        save_smtp_settings(
            wanted, str(form.get("password") or "") or None, forget_password=bool(form.get("forget_password"))
        )
        return back("/settings/smtp", sess, "SMTP settings saved.")

    @app.post("/settings/smtp/test")
    async def smtp_test(request: Request):
        sess = need_admin(request)
        form = await form_of(request, sess)
        from unleak.takedown.smtp import send_test_message

        r = send_test_message(str(form.get("to") or ""))
        return back("/settings/smtp", sess, f"Test message accepted by {r.server} at {fmt_time(r.accepted_at)}.")

    # --- help -------------------------------------------------------------------------------------------
    @app.get("/help", response_class=HTMLResponse)
    def help_page(request: Request, case: str | None = None, country: str | None = None):
        sess = need(request)
        from unleak.support import checklist, support_services

        ctx: dict[str, Any] = {"minor": False}
        if case:
            open_case(sess, case)
            ctx = case_context(case)
        return page(
            request,
            sess,
            "help.html",
            **ctx,
            steps=checklist(),
            services=support_services(minor=ctx["minor"], country=country or None),
            country=country,
        )

    return app


def safe_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "case"
