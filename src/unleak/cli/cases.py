"""Commands to find and document copies: case, source, scan, watch, sightings, evidence."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape

from unleak import console as output

CaseOption = typer.Option(None, "--case", "-c", help="Case name (the default case when omitted).")
JsonOption = typer.Option(False, "--json", help="One JSON object per line instead of tables.")
TsaOption = typer.Option(None, "--tsa", help="RFC 3161 timestamp authority URL (or UNLEAK_TSA_URL).")
TsaCertOption = typer.Option(None, "--tsa-cert", help="The authority's (root) certificate, PEM (or UNLEAK_TSA_CERT).")
AllowNetOption = typer.Option([], "--allow-network", help="Allow the authority on this private network (CIDR).")
TsaAllowNetOption = typer.Option(
    [], "--tsa-allow-network", help="Allow the timestamp authority on this private network (CIDR)."
)


def _store():
    from unleak.store import open_store

    return open_store()


def _ts(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


# --- case ---------------------------------------------------------------------------------
case_app = typer.Typer(help="Cases: everything about one person or incident.", no_args_is_help=True)


@case_app.command("new")
def case_new(
    name: str = typer.Argument(..., help="A name for the case."),
    description: str = typer.Option("", "--description", "-d", help="A note for yourself."),
    minor: bool = typer.Option(
        False,
        "--minor",
        help="A minor's case: NCMEC's Take It Down and the IWF first, never a DMCA notice, and captures "
        "keep no media bytes (hashes, URLs and page text only).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Open a new case. Its evidence log starts now."""
    from unleak.cases import create_case
    from unleak.evidence.signing import case_fingerprint

    c = create_case(_store(), name, description, minor=minor)
    if minor and not as_json:
        from unleak.takedown.minors import MINOR_FIRST

        output.warn(MINOR_FIRST)
    fp = case_fingerprint(c.id)
    if as_json:
        output.emit_json({**c.to_json(), "key_fingerprint": fp})
    else:
        output.console.print(
            f"Case [bold]{c.name}[/] opened (id {c.id}). Next: `unleak protect --case {c.name} "
            f"PHOTOS`, then `unleak source add --case {c.name} ...`."
        )
        _print_key(fp)


def _print_key(fp: str) -> None:
    output.console.print(f"Signing key: {fp}", soft_wrap=True, highlight=False)
    output.console.print(
        "Give this fingerprint to your lawyer or the police now: with it, "
        "`unleak evidence verify BUNDLE --key FINGERPRINT` shows that a bundle was written with this case's key "
        "and not rewritten by anyone who held it since.",
        highlight=False,
    )


@case_app.command("edit")
def case_edit(
    name: str | None = typer.Argument(None, help="Case name (default: the default case)."),
    minor: bool | None = typer.Option(
        None, "--minor/--not-minor", help="Mark the case as a minor's (or not); see `case new --minor`."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Change a case's settings."""
    from unleak.cases import set_case_minor

    if minor is None:
        from unleak.errors import UnleakError

        raise UnleakError("nothing to change", hint="give --minor or --not-minor")
    c = set_case_minor(_store(), name, minor)
    if as_json:
        output.emit_json(c.to_json())
        return
    output.console.print(f"Case {c.name} is {'now' if c.minor else 'no longer'} marked as a minor's case.")
    if c.minor:
        from unleak.takedown.minors import MINOR_FIRST

        output.warn(MINOR_FIRST)


@case_app.command("list")
def case_list(as_json: bool = JsonOption) -> None:
    """List cases with their counts."""
    from unleak.cases import list_cases

    rows = []
    for c in list_cases(_store()):
        if as_json:
            output.emit_json(c.to_json())
        else:
            rows.append(
                (
                    c.name,
                    c.bank_items,
                    c.sources,
                    f"{c.sightings_up}/{c.sightings}",
                    c.captures,
                    c.log_records,
                    _ts(c.last_scan_at),
                )
            )
    if not as_json:
        output.table(
            "Cases", ["case", "protected", "sources", "sightings up/all", "captures", "log records", "last scan"], rows
        )


@case_app.command("show")
def case_show(
    name: str | None = typer.Argument(None, help="Case name (default: the default case)."), as_json: bool = JsonOption
) -> None:
    """Show a case: counts, hosts with copies still up, and whether its log is intact."""
    from unleak.cases import show_case

    d = show_case(_store(), name)
    if as_json:
        out = d.to_json()
        out.update({"log_head": d.log_head, "log_intact": d.log_intact, "log_problem": d.log_problem, "hosts": d.hosts})
        output.emit_json(out)
        return
    output.table(
        f"Case {d.name}",
        ["", ""],
        [
            ("description", d.description),
            ("created", _ts(d.created_at)),
            ("protected items", d.bank_items),
            ("sources", d.sources),
            ("sightings (still up)", f"{d.sightings} ({d.sightings_up})"),
            ("captures", d.captures),
            ("log records", d.log_records),
            ("log", "intact" if d.log_intact else f"BROKEN: {d.log_problem}"),
            ("log head", d.log_head or ""),
            ("last scan", _ts(d.last_scan_at)),
        ],
    )
    # On a line of its own, never wrapped, so it can be copied whole and handed over.
    output.console.print(
        f"Signing key: {d.key_fingerprint}"
        + (
            f" (signs from log record {d.key_since}; earlier ones are unsigned)"
            if d.key_since and d.key_since > 1
            else ""
        ),
        soft_wrap=True,
        highlight=False,
        markup=False,
    )
    if d.hosts:
        output.table("Hosts with copies still up", ["host", "sightings"], list(d.hosts.items()))
    if not d.log_intact:
        raise typer.Exit(1)


# --- source -------------------------------------------------------------------------------
source_app = typer.Typer(
    help="Places to watch: folders, URL lists, sites, feeds, sitemaps, platforms (reddit, bluesky, activitypub, "
    "lemmy, telegram, forum).",
    no_args_is_help=True,
)


@source_app.command("add")
def source_add(
    kind: str = typer.Argument(
        ...,
        help="folder, urls, crawl, feed, sitemap, reddit, bluesky, activitypub, lemmy, telegram, forum "
        "(see `unleak source kinds`).",
    ),
    targets: list[str] = typer.Argument(
        ...,
        help="Folders, URLs, @FILE with one URL a line; r/NAME, u/NAME; @handle, search:QUERY; "
        "@user@instance, #tag@instance; !community@instance; a channel; a thread URL.",
    ),
    case: str | None = CaseOption,
    name: str | None = typer.Option(None, "--name", help="A name to recognise it by."),
    hosts: list[str] = typer.Option([], "--host", help="crawl: stay on these hosts (default: the start URL's)."),
    depth: int | None = typer.Option(None, "--depth", help="crawl: how many links deep (default 2)."),
    max_pages: int | None = typer.Option(None, "--max-pages", help="crawl: stop after this many pages."),
    api_base: str | None = typer.Option(
        None, "--api-base", help="Platforms: the server to ask (a self-hosted instance, a test server)."
    ),
    every: str | None = typer.Option(
        None, "--every", help="How often `unleak watch` scans this source (30m, 6h, 1d); default: the watch's --every."
    ),
    option: list[str] = typer.Option(
        [],
        "--option",
        "-o",
        help="A setting of this kind, KEY=VALUE (repeatable); `unleak source kinds` lists each kind's.",
    ),
    allow_networks: list[str] = typer.Option(
        [],
        "--allow-network",
        help="Allow fetching from this private network (CIDR), e.g. "
        "127.0.0.1/32 for a site on this machine. Off by default.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Add a source to watch."""
    from unleak.monitor.sources import SourceOptions, add_source

    options = SourceOptions(
        list(hosts), depth, max_pages, list(allow_networks), SourceOptions.parse_pairs(option), api_base
    )
    interval = _parse_every(every) if every is not None else None
    info = add_source(_store(), case, kind, targets, options, name=name, every=interval)
    if as_json:
        output.emit_json(info.to_json())
    else:
        output.console.print(
            f"Added source {info.id} ({info.kind}: {info.name}) to case [bold]{info.case}[/]. "
            "Run `unleak scan` to look now, or `unleak watch` to keep looking."
        )


@source_app.command("list")
def source_list(case: str | None = CaseOption, as_json: bool = JsonOption) -> None:
    """List a case's sources."""
    from unleak.monitor.sources import list_sources

    rows = []
    for info in list_sources(_store(), case):
        if as_json:
            output.emit_json(info.to_json())
        else:
            every = _every_text(info.every_seconds) if info.every_seconds is not None else "watch's"
            rows.append((info.id, info.kind, info.name, ", ".join(info.allow_networks), _ts(info.last_scan_at), every))
    if not as_json:
        output.table("Sources", ["id", "kind", "what", "allowed networks", "last scan", "every"], rows)


@source_app.command("remove")
def source_remove(source_id: int = typer.Argument(...), case: str | None = CaseOption) -> None:
    """Stop watching a source. Its sightings and captures are kept."""
    from unleak.monitor.sources import remove_source

    remove_source(_store(), case, source_id)
    output.console.print(f"Removed source {source_id}; its evidence is kept.")


@source_app.command("suggest")
def source_suggest(
    case: str | None = CaseOption,
    accept: int | None = typer.Option(
        None, "--accept", help="Add candidate N as a source (nothing is added without it)."
    ),
    every: str | None = typer.Option(None, "--every", help="With --accept: its watch schedule (30m, 6h, 1d)."),
    as_json: bool = JsonOption,
) -> None:
    """Accounts seen posting protected media, as sources to watch: their other posts, and the same
    handle on other platforms (unverified). Add one with --accept N."""
    from unleak.monitor.suggest import accept_suggestion, suggest_sources

    if accept is not None:
        interval = _parse_every(every) if every is not None else None
        info = accept_suggestion(_store(), case, accept, every=interval)
        if as_json:
            output.emit_json(info.to_json())
        else:
            from unleak.text import neutralize

            output.console.print(
                f"Added source {info.id} ({info.kind}: {escape(neutralize(info.name))}).", highlight=False
            )
        return
    candidates = suggest_sources(_store(), case)
    if as_json:
        for cand in candidates:
            output.emit_json(cand.to_json())
        return
    if not candidates:
        output.console.print("No candidates: no sighting names an uploader that is not watched already.")
        return
    output.table(
        "Candidate sources (add one with --accept N)",
        ["#", "kind", "target", "why"],
        [(c.number, c.kind, c.target, "; ".join(c.reasons)) for c in candidates],
    )


@source_app.command("kinds")
def source_kinds_command() -> None:
    """List the kinds of source (built in and plug-ins) and the options each takes (--option KEY=VALUE)."""
    from unleak.monitor.sources import source_kinds

    rows = [(k, v.summary, "\n".join(spec.describe() for spec in v.options)) for k, v in sorted(source_kinds().items())]
    output.table("Source kinds", ["kind", "what", "options (--option KEY=VALUE)"], rows)


# --- scan / watch ---------------------------------------------------------------------------
def _scan_options(
    rate: float,
    concurrency: int,
    no_capture: bool,
    max_items: int | None,
    verify: str = "auto",
    fast: bool = False,
    screenshot: bool = False,
    conditional: bool = False,
    daily_cap: int | None = None,
):
    from unleak.monitor.scan import ScanOptions
    from unleak.net.fetch import FetchPolicy

    if screenshot:
        from unleak.evidence.screenshot import find_chromium

        if find_chromium() is None:
            output.warn("no Chromium found: captures will have no screenshots (apt-get install chromium)")
            screenshot = False
    return ScanOptions(
        policy=FetchPolicy(rate=rate or None),
        concurrency=concurrency,
        capture=not no_capture,
        max_items=max_items,
        verify=verify,
        fast=fast,
        screenshot=screenshot,
        conditional=conditional,
        daily_cap=daily_cap,
    )


ScreenshotOption = typer.Option(
    False,
    "--screenshot",
    help="Add a headless-Chromium screenshot of each new sighting's page to its capture (when installed).",
)


VerifyOption = typer.Option(
    "auto",
    "--verify",
    help="Confirm matches against the originals: auto (when they are on this machine), on, off (hash-only, faster).",
)
FastOption = typer.Option(False, "--fast", help="Fast hashing of candidates (reduced-scale decode).")


def _run_scan(
    case: str | None, source: int | None, options, as_json: bool, watch_every: float | None = None, first=False
):
    """Scan (or, with `watch_every`, run one watch cycle); the cycle's summary, if any."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from unleak.monitor.scan import Scanner

    bar = Progress(
        TextColumn("[bold]Scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[found]}"),
        TimeElapsedColumn(),
        console=output.err_console,
        transient=True,
        disable=as_json,
    )
    found = {"n": 0}
    with bar:
        task = bar.add_task("scan", total=None, found="")

        def on_sighting(event) -> None:
            found["n"] += 1
            bar.update(task, found=f"{found['n']} sighting(s)")
            if as_json:
                output.emit_json(event.to_json())

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = None
        if watch_every is not None:
            from unleak.monitor.watch import watch_cycle

            summary, reports = watch_cycle(
                _store(), case, options, watch_every, first=first, on_sighting=on_sighting, on_progress=on_progress
            )
        else:
            scanner = Scanner(_store(), case, options, on_sighting=on_sighting, on_progress=on_progress)
            reports = [scanner.scan_source(source)] if source is not None else scanner.scan_all()
    if not as_json:
        rows = []
        for r in reports:
            st = r.stats
            rows.append(
                (
                    r.source_id,
                    "resumed" if r.resumed else "new",
                    "done" if r.finished else "paused",
                    st["pages"],
                    st["media"] + st["files"],
                    st["sightings_new"],
                    st["sightings_seen"],
                    st["reuploads"],
                    st["removed"],
                    st["blocked"],
                    st["failed"],
                )
            )
        output.table(
            "Scan",
            [
                "source",
                "run",
                "state",
                "pages",
                "media",
                "new sightings",
                "seen again",
                "re-uploads",
                "removed",
                "refused",
                "failed",
            ],
            rows,
        )
        for r in reports:
            for ref in r.stats["refusals"][:5]:
                output.warn(f"refused {ref['url']}: {ref['reason']}")
            missed = r.stats.get("unreachable") or []
            for ref in missed[:5]:
                output.warn(f"could not read {ref['url']}: {ref['reason']}")
            if len(missed) > 5:
                output.warn(f"... and {len(missed) - 5} more not read (see `unleak evidence log`)")
        new = [e for r in reports for e in r.sightings if e.new or e.reupload]
        if new:
            output.table(
                "New sightings (captured)",
                ["bank id", "media URL", "page URL", "distance", ""],
                [
                    (e.bank_id, e.media_url, e.page_url or "", e.distance, "re-upload" if e.reupload else "")
                    for e in new
                ],
            )
    return summary


ClusterOption = typer.Option(
    None,
    "--cluster",
    envvar="UNLEAK_DASK_SCHEDULER",
    help="Run on a Dask cluster: its scheduler's address (tcp://HOST:8786), or local[:N] for N worker "
    "processes on this machine. Default: $UNLEAK_DASK_SCHEDULER, else this process alone.",
)


def scan_command(
    case: str | None = CaseOption,
    source: int | None = typer.Option(None, "--source", "-s", help="Scan only this source (default: all)."),
    rate: float = typer.Option(1.0, "--rate", help="Requests a second per host (0: no limit; be polite)."),
    concurrency: int = typer.Option(8, "--concurrency", help="Fetches in flight at once."),
    no_capture: bool = typer.Option(False, "--no-capture", help="Record sightings without WARC captures."),
    max_items: int | None = typer.Option(None, "--max-items", help="Stop after this many URLs (resume later)."),
    verify: str = VerifyOption,
    fast: bool = FastOption,
    screenshot: bool = ScreenshotOption,
    tsa: str | None = TsaOption,
    tsa_cert: Path | None = TsaCertOption,
    tsa_allow: list[str] = TsaAllowNetOption,
    cluster: str | None = ClusterOption,
    as_json: bool = JsonOption,
) -> None:
    """Scan the case's sources once: match every candidate, record and capture every sighting.
    A scan that is interrupted resumes where it stopped. With a timestamp authority (--tsa), the log's
    head is timestamped after the scan (with --json, one object with "check": "timestamp").
    With --cluster, Dask workers fetch and match; this process writes (see docs/cluster.md)."""
    url, pem = _tsa_options(tsa, tsa_cert)
    options = _scan_options(rate, concurrency, no_capture, max_items, verify, fast, screenshot)
    if cluster:
        from unleak.cluster import Cluster, scan_options_for

        with Cluster(cluster) as c:
            _run_scan(case, source, scan_options_for(c, options), as_json)
    else:
        _run_scan(case, source, options, as_json)
    if url and pem and not _timestamp_after_run(case, url, pem, tsa_allow, as_json):
        raise typer.Exit(1)


def _timestamp_after_run(case: str | None, url: str, pem: bytes, allow: list[str], as_json: bool) -> bool:
    """Have the authority sign the log's head after a scan, so the case is dated as it goes, not only
    at export. A failure is reported in one line; the scan's findings are already saved."""
    from unleak.errors import UnleakError
    from unleak.evidence.timestamp import timestamp_head

    store = _store()
    try:
        with store.session() as s:
            c = store.case(s, case)
            r = timestamp_head(s, c.id, url, pem, allow_networks=allow)
    except UnleakError as exc:
        output.error(f"the log head was not timestamped: {exc.message}", exc.hint)
        return False
    if as_json:
        output.emit_json(
            {
                "check": "timestamp",
                "record": r.record.seq,
                "covers": r.record.seq - 1,
                "gen_time": r.gen_time,
                "tsa_subject": r.tsa_subject,
                "tsa_cert_sha256": r.tsa_fingerprint,
            }
        )
    else:
        output.console.print(
            f"Log head (record {r.record.seq - 1}) timestamped at {r.gen_time} by {escape(r.tsa_subject)}.",
            highlight=False,
        )
    return True


def _print_summary(summary, as_json: bool) -> None:
    """What changed since the last watch cycle."""
    if as_json:
        output.emit_json(summary.to_json())
        return
    saved = summary.bytes_saved / max(1, summary.bytes + summary.bytes_saved)
    output.console.print(
        f"Watch cycle: {summary.scanned} of {summary.sources} source(s) due; "
        f"{len(summary.changed)} changed, {len(summary.unchanged)} unchanged; "
        f"{summary.new_sightings} new sighting(s), {summary.reuploads} re-upload(s), {summary.removed} removed, "
        f"{summary.unreachable} unreachable; {summary.requests} request(s), {summary.not_modified} unchanged (304), "
        f"{summary.bytes:,} bytes ({saved:.0%} saved by conditional fetches)"
        + (f"; {summary.capped} refused by the daily cap" if summary.capped else "")
        + ".",
        highlight=False,
    )


def _every_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _parse_every(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        if text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except (ValueError, IndexError):
        raise typer.BadParameter(f"{text!r}: give a number of seconds or e.g. 30m, 6h, 1d") from None


def _removal_check(case: str | None, rate: float, as_json: bool) -> None:
    """One `unleak verify` pass for watch. A failure is reported and the watch goes on: one bad
    check must not stop the scans that find new copies."""
    from unleak.errors import UnleakError
    from unleak.net.fetch import FetchPolicy
    from unleak.takedown.verify import verify_case

    try:
        report = verify_case(_store(), case, policy=FetchPolicy(rate=rate or None))
    except UnleakError as exc:  # FetchError (a fetch that failed) is one too
        output.error(f"removal check failed, will try again at the next scan: {exc.message}", exc.hint)
        return
    except OSError as exc:  # a network or disk error outside the fetcher
        output.error(f"removal check failed, will try again at the next scan: {exc}")
        return
    if not report.checks:  # no sent notices yet: nothing to say
        return
    if as_json:
        output.emit_json({"check": "removal", **report.to_json()})
        return
    for nid, old, new in report.status_changes:
        output.console.print(f"notice #{nid}: {old} -> {new}", highlight=False)
    for r in report.reuploads:
        output.warn(
            f"re-upload of a removed item at {r.url} (earlier notice #{r.earlier_notice}); "
            f"follow-up draft(s): {', '.join('#' + str(x) for x in r.followups) or 'none'}"
        )
    output.console.print(
        f"Removal check: {report.gone} gone, {report.up} still up, {report.errors} could not be checked."
    )


def watch_command(
    case: str | None = CaseOption,
    every: str = typer.Option("6h", "--every", help="Time between scans: seconds, or 30m, 6h, 1d."),
    times: int | None = typer.Option(None, "--times", help="Stop after this many scans (default: never)."),
    rate: float = typer.Option(1.0, "--rate", help="Requests a second per host (0: no limit)."),
    concurrency: int = typer.Option(8, "--concurrency"),
    daily_cap: int | None = typer.Option(
        None, "--daily-cap", min=1, help="At most this many requests a day (UTC) to any one host."
    ),
    no_conditional: bool = typer.Option(
        False, "--no-conditional", help="Fetch every page in full (no ETag / If-Modified-Since)."
    ),
    verify: str = VerifyOption,
    fast: bool = FastOption,
    screenshot: bool = ScreenshotOption,
    tsa: str | None = TsaOption,
    tsa_cert: Path | None = TsaCertOption,
    tsa_allow: list[str] = TsaAllowNetOption,
    as_json: bool = JsonOption,
) -> None:
    """Scan again and again on a schedule, so copies that reappear are found and captured,
    and re-check every URL named in a sent notice (as `unleak verify`: removals, times, re-uploads).
    With a timestamp authority (--tsa), the log's head is timestamped after each run.

    With --json, each removal check that checked something prints one object with "check": "removal"
    (the `unleak verify --json` object), each timestamp one with "check": "timestamp"; every other
    line is a sighting, as from `scan --json`; each cycle ends with one "check": "summary" object
    (what changed since the last cycle). A source added with its own --every is scanned on that
    schedule; the others every --every. An unchanged page or file costs one conditional request."""
    from unleak.monitor.watch import schedule

    interval = _parse_every(every)
    url, pem = _tsa_options(tsa, tsa_cert)
    options = _scan_options(
        rate, concurrency, False, None, verify, fast, screenshot, conditional=not no_conditional, daily_cap=daily_cap
    )
    n = 0
    while times is None or n < times:
        started = time.monotonic()
        summary = _run_scan(case, None, options, as_json, watch_every=interval, first=n == 0)
        _removal_check(case, rate, as_json)
        if url and pem:  # a failure is reported and the watch goes on; the next run tries again
            _timestamp_after_run(case, url, pem, tsa_allow, as_json)
        if summary is not None:
            _print_summary(summary, as_json)
        n += 1
        if times is not None and n >= times:
            break
        plan = schedule(_store(), case, interval)
        wait = max(0.0, interval - (time.monotonic() - started))
        if plan:
            wait = min(wait, max(0.0, min(d.due_in for d in plan)))
        if not as_json:
            output.console.print(f"Next scan in {wait:,.0f} s (Ctrl-C to stop).")
        time.sleep(wait)


def sightings_command(
    case: str | None = CaseOption,
    status: str | None = typer.Option(None, "--status", help="up or removed."),
    csv_path: Path | None = typer.Option(
        None, "--csv", help="Also write them to this CSV file (for a spreadsheet; formulas are neutralised)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """List where protected media was found, with capture times."""
    from unleak.evidence.sightings import list_sightings

    found = list_sightings(_store(), case, status=status)
    if csv_path is not None:
        output.write_csv(
            csv_path, SIGHTING_CSV, ([v.to_json()[k] for k in SIGHTING_CSV[:-2]] + _first_capture(v) for v in found)
        )
    rows = []
    for v in found:
        if as_json:
            output.emit_json(v.to_json())
        else:
            rows.append(
                (
                    v.id,
                    v.label,
                    v.media_url,
                    v.page_url or "",
                    v.uploader or "",
                    v.status + (" (re-upload)" if v.reupload else ""),
                    _ts(v.first_seen),
                    _ts(v.last_seen),
                    v.captures[0]["captured_at"] if v.captures else "",
                )
            )
    if not as_json:
        output.table(
            "Sightings",
            ["id", "label", "media URL", "page URL", "uploader", "status", "first seen", "last seen", "captured"],
            rows,
        )


SIGHTING_CSV = [
    "id",
    "bank_id",
    "label",
    "media_url",
    "page_url",
    "host",
    "uploader",
    "posted_at",
    "posted_raw",
    "status",
    "first_seen",
    "last_seen",
    "removed_at",
    "captured_at",
    "warc_sha256",
]


def _first_capture(v) -> list:
    cap = v.captures[0] if v.captures else {}
    return [cap.get("captured_at", ""), cap.get("warc_sha256", "")]


# --- evidence -------------------------------------------------------------------------------
evidence_app = typer.Typer(help="The tamper-evident log; export and verify bundles.", no_args_is_help=True)


@evidence_app.command("log")
def evidence_log(
    case: str | None = CaseOption,
    as_json: bool = JsonOption,
    last: int = typer.Option(50, "--last", help="Show the last N records (0: all)."),
) -> None:
    """Show the case's evidence log and check its chain."""
    import json

    from unleak.evidence.log import records, verify_chain

    store = _store()
    with store.session() as s:
        c = store.case(s, case)
        recs = records(s, c.id)
        check = verify_chain(s, c.id)
    shown = recs[-last:] if last else recs
    if as_json:
        for r in shown:
            output.emit_json({"hash": r.hash, "record": json.loads(r.body)})
    else:
        output.table(
            f"Evidence log of case {c.name}",
            ["seq", "time (UTC)", "action", "hash"],
            [(r.seq, _ts(r.created_at), r.action, r.hash[:16] + "…") for r in shown],
        )
        output.console.print(str(check), markup=False, highlight=False)
    if not check.ok:
        raise typer.Exit(1)


@evidence_app.command("export")
def evidence_export(
    case: str = typer.Argument(..., help="The case to export."),
    out: Path = typer.Option(..., "--out", "-o", help="A new folder for the bundle."),
    with_labels: bool = typer.Option(
        False,
        "--with-labels",
        help="Include your labels of protected items (off: bundles go to platforms and authorities).",
    ),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="HTML report only."),
    tsa: str | None = TsaOption,
    tsa_cert: Path | None = TsaCertOption,
    allow_networks: list[str] = AllowNetOption,
    as_json: bool = JsonOption,
) -> None:
    """Write a self-contained evidence bundle that anyone can verify offline (with a timestamp of the
    export record when a timestamp authority is given)."""
    from unleak.evidence.export import export_bundle
    from unleak.spread.case import bundle_section as spread_section
    from unleak.takedown.report import bundle_section

    url, pem = _tsa_options(tsa, tsa_cert)
    r = export_bundle(
        _store(),
        case,
        out,
        with_labels=with_labels,
        pdf=not no_pdf,
        tsa=(url, pem, list(allow_networks)) if url and pem else None,
        takedown=bundle_section,
        spread=spread_section,
    )
    if as_json:
        output.emit_json(
            {
                "path": str(r.path),
                "captures": r.captures,
                "sightings": r.sightings,
                "log_records": r.log_records,
                "log_head": r.head_hash,
                "manifest_sha256": r.manifest_sha256,
                "key_fingerprint": r.key_fingerprint,
            }
        )
    else:
        output.console.print(
            f"Wrote {r.path}: {r.sightings} sighting(s), {r.captures} capture(s), "
            f"{r.log_records} log records, signed by {r.key_fingerprint}.\nLog head: [bold]{r.head_hash}[/] — "
            f"note it, or timestamp it, before handing the bundle over. Check with "
            f"`unleak evidence verify {r.path} --key {r.key_fingerprint}`.",
            highlight=False,
            soft_wrap=True,  # the hashes stay whole, to be copied
        )


def _tsa_options(tsa: str | None, tsa_cert: Path | None) -> tuple[str | None, bytes | None]:
    import os

    from unleak.errors import UnleakError

    tsa = tsa or os.environ.get("UNLEAK_TSA_URL")
    cert = tsa_cert or (Path(os.environ["UNLEAK_TSA_CERT"]) if os.environ.get("UNLEAK_TSA_CERT") else None)
    if tsa and cert is None:
        raise UnleakError(
            "a timestamp authority needs its certificate to check the answer",
            hint="give --tsa-cert PEM (or set UNLEAK_TSA_CERT)",
        )
    try:
        return tsa, (cert.read_bytes() if tsa and cert else None)
    except OSError as exc:
        raise UnleakError(f"cannot read {cert}: {exc.strerror or exc}") from None


@evidence_app.command("timestamp")
def evidence_timestamp(
    case: str | None = CaseOption,
    tsa: str | None = TsaOption,
    tsa_cert: Path | None = TsaCertOption,
    allow_networks: list[str] = AllowNetOption,
) -> None:
    """Have a timestamp authority sign the log's head (RFC 3161); the token is added to the log."""
    from unleak.errors import UnleakError
    from unleak.evidence.timestamp import timestamp_head

    url, pem = _tsa_options(tsa, tsa_cert)
    if not url or not pem:  # _tsa_options gives the certificate with every URL
        raise UnleakError("no timestamp authority given", hint="give --tsa URL --tsa-cert PEM")
    store = _store()
    with store.session() as s:
        c = store.case(s, case)
        r = timestamp_head(s, c.id, url, pem, allow_networks=allow_networks)
    output.console.print(
        f"Log head of case [bold]{c.name}[/] (record {r.record.seq - 1}) timestamped at "
        f"{r.gen_time} by an authority under {escape(r.tsa_subject)} (certificate SHA-256 {r.tsa_fingerprint})."
    )


@evidence_app.command("verify")
def evidence_verify(
    bundle: Path = typer.Argument(..., help="A bundle folder written by `evidence export`."),
    tsa_cert: list[Path] | None = typer.Option(
        None,
        "--tsa-cert",
        help="A timestamp authority's certificate (PEM) that you trust; "
        "the bundle's timestamps must be signed under one of them, and one must cover the export record. "
        "Repeatable.",
    ),
    key: list[str] | None = typer.Option(
        None,
        "--key",
        help="The case's signing key as you were given it: its fingerprint (ed25519:<hex>) or a public key file. "
        "Every record from the key's introduction on, and the export record, must be signed by it. Repeatable.",
    ),
    head: list[str] | None = typer.Option(
        None, "--head", help="A log head hash noted at hand-over: it must be a record of this log. Repeatable."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Check a bundle offline. Exit 0 when intact; 1, naming the first bad record, when not.

    Alone, it shows the bundle is consistent with itself. What proves more is what you hold: the case's
    key fingerprint (--key: written by the key's holder, unchanged since), a head noted at hand-over
    (--head: unchanged up to it), a trusted timestamp authority (--tsa-cert: existed at that time)."""
    import re

    from unleak.errors import UnleakError
    from unleak.evidence.signing import parse_key_spec
    from unleak.evidence.verify import verify_bundle

    trusted = None
    if tsa_cert:
        try:
            trusted = [p.read_bytes() for p in tsa_cert]
        except OSError as exc:
            raise UnleakError(f"cannot read --tsa-cert {exc.filename}: {exc.strerror}") from None
    keys = [parse_key_spec(k) for k in key] if key else None
    for h in head or []:
        if not re.fullmatch(r"[0-9a-fA-F]{64}", h.strip()):
            raise UnleakError(f"--head {h[:80]!r} is not a log head", hint="give the 64-hex-digit hash you noted")
    check = verify_bundle(bundle, trusted, keys=keys, heads=head or [])
    if as_json:
        output.emit_json(
            {
                "ok": check.ok,
                "problem": check.problem,
                "log_head": check.head_hash,
                "records": check.records,
                "files": check.files,
                "captures": check.captures,
                "warc_records": check.warc_records,
                "timestamps": check.timestamps,
                "authorities": check.authorities,
                "authorities_trusted": check.trusted_authorities,
                "format_version": check.version,
                "key_fingerprint": check.key_fingerprint,
                "key_held": check.key_held,
                "signed_from": check.signed_from,
                "heads": check.heads,
                "timestamp_covers": check.covered_seq,
                "proofs": check.proofs,
            }
        )
    elif check.ok:
        # a bundle is anyone's text: its summary (authority names) is escaped, the proofs print unmarked
        output.console.print(f"[green]OK[/] {escape(check.summary())}", highlight=False)
        output.console.print("What this proves:", highlight=False)
        for proof in check.proofs:
            output.console.print(f"  - {proof}", highlight=False, markup=False, soft_wrap=True)
    else:
        output.error(str(check))
    if not check.ok:
        raise typer.Exit(1)


def search_kit_command(
    item: int = typer.Argument(..., help="The protected item's bank id (see `unleak bank list`)."),
    out: Path = typer.Option(..., "--out", help="The folder to write the kit into (made private)."),
    case: str | None = CaseOption,
    mode: str = typer.Option("blur", "--mode", help="blur (small and blurred) or crop (small centre crop)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before writing (you read the warning)."),
    as_json: bool = JsonOption,
) -> None:
    """Prepare a reverse image search by hand: a small blurred or cropped query image that still
    matches the item, the engines' upload pages, and results.txt for `source add urls @results.txt`.
    unleak never uploads anything itself."""
    from unleak.monitor.searchkit import WARNING, make_search_kit

    output.warn(WARNING)
    if not yes and not typer.confirm(f"Write the kit for item {item} into {out}?", default=False, err=True):
        output.console.print("Nothing written.")
        raise typer.Exit(1)
    kit = make_search_kit(_store(), case, item, out, mode=mode)
    if as_json:
        output.emit_json(kit.to_json())
        return
    output.console.print(
        f"Wrote {escape(str(kit.query))} ({kit.size[0]}x{kit.size[1]}, {kit.step}; still matches item {kit.item_id} "
        f"at distance {kit.distance}) and {escape(str(kit.out / 'README.txt'))}: the engines' pages and what to do next.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(case_app, name="case")
    app.add_typer(source_app, name="source")
    app.command("scan")(scan_command)
    app.command("watch")(watch_command)
    app.command("search-kit")(search_kit_command)
    app.command("sightings")(sightings_command)
    app.add_typer(evidence_app, name="evidence")
