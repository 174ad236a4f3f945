"""The human-readable report of an evidence bundle: HTML (self-contained) and PDF (reportlab).

When notices were sent, both end with the take-down section: how fast each host acted, as tables
and as the chart (a PNG file of the bundle, listed in its manifest like every other file).

Every value is neutralised before it is escaped for HTML or reportlab: what a page said (an
uploader, a post time, a URL) may hold control or bidi-override characters, which are shown as
visible escapes (`\x1b`, `\u202e`); sightings.json in the bundle keeps them as they were.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from unleak.text import neutralize


def _show(value: Any) -> str:
    """A value as one safe line of text, for HTML or a PDF paragraph (escaped by the caller)."""
    return neutralize("" if value is None else str(value))


@dataclass
class TakedownSection:
    """The take-down tables, each (title, rows) with rows as `unleak.takedown.report.table_rows`
    gives them, and the chart's file name inside the bundle."""

    columns: list[str]
    tables: list[tuple[str, list[tuple]]]
    chart: str | None = None


@dataclass
class SpreadSection:
    """How the leak spread, as the caller estimated it: per item, the likely first public copy and
    its reasons, the tree's edges as rows (from, to, how, confidence, rests on), the per-host
    timeline rows, and the tree picture's file name inside the bundle."""

    statement: str
    items: list[tuple[str, list[str], list[tuple], list[tuple]]]  # (title, reasons, edges, timeline)
    fields: dict[int, dict[str, Any]]  # per sighting id: the fields added to sightings.json
    chart: str | None = None


SPREAD_EDGE_COLUMNS = ["from", "to", "how", "confidence", "rests on"]
SPREAD_HOST_COLUMNS = ["host", "first seen (UTC)", "removed (UTC)", "re-uploads", "copies"]


def _spread_html(folder: Path, spread: SpreadSection | None) -> str:
    if spread is None:
        return ""
    parts = [f"<h2>How the leak spread</h2><p><b>{escape(_show(spread.statement))}</b></p>"]
    for title, reasons, edges, hosts in spread.items:
        parts.append(
            f"<h3>{escape(_show(title))}</h3><ul>" + "".join(f"<li>{escape(_show(r))}</li>" for r in reasons) + "</ul>"
        )
        for cols, rows in ((SPREAD_EDGE_COLUMNS, edges), (SPREAD_HOST_COLUMNS, hosts)):
            head = "".join(f"<th>{escape(c)}</th>" for c in cols)
            body = "".join("<tr>" + "".join(f"<td>{escape(_show(v))}</td>" for v in r) + "</tr>" for r in rows)
            parts.append(f"<table><tr>{head}</tr>{body}</table><br>")
    if spread.chart:
        data = base64.b64encode((folder / spread.chart).read_bytes()).decode("ascii")
        parts.append(
            f'<p><img alt="the estimated tree of copies" style="max-width:100%" src="data:image/png;base64,{data}">'
            f"<br>({escape(spread.chart)} in this bundle)</p>"
        )
    return "".join(parts)


TAKEDOWN_INTRO = (
    "How fast each host acted on the notices sent for this case: notices sent, URLs removed, "
    "removal rate, median and 90th-percentile time from sending to the first check that found "
    "a URL gone (nearest rank), and notices overdue when this bundle was written."
)


def _rows(sightings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for s in sightings:
        caps = s.get("captures") or []
        rows.append(
            {
                **s,
                "capture_time": caps[0]["captured_at"] if caps else "",
                "capture_sha256": caps[0]["warc_sha256"] if caps else "",
                "warc": caps[0]["warc"] if caps else "",
                # A post time that did not parse is shown as the page wrote it, said to be no time.
                "posted": s.get("posted_at") or (f"(not a time: {s['posted_raw']})" if s.get("posted_raw") else None),
            }
        )
    return rows


def write_html(
    path: Path,
    meta: dict[str, Any],
    sightings: list[dict[str, Any]],
    takedown: TakedownSection | None = None,
    spread: SpreadSection | None = None,
) -> None:
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(_show(v))}</td>"
            for v in (
                r["id"],
                r["status"] + (" (re-upload)" if r["reupload"] else ""),
                r["media_url"],
                r["page_url"],
                r["host"],
                r["uploader"],
                r["posted"],
                r["first_seen"],
                r["last_seen"],
                r["removed_at"],
                r["capture_time"],
                f"warc/{r['warc']}" if r["warc"] else "",
                r["capture_sha256"],
                r["bank_id"],
                f"{r['signal']} {r['distance']}",
            )
        )
        + "</tr>"
        for r in _rows(sightings)
    )
    head = "".join(f"<tr><th>{escape(_show(k))}</th><td>{escape(_show(v))}</td></tr>" for k, v in meta.items())
    path.write_text(
        f"""<!doctype html><html><head><meta charset="utf-8"><title>Evidence report: {escape(_show(meta.get("case")))}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #999;padding:3px 5px;vertical-align:top;word-break:break-all}}th{{background:#eee;text-align:left}}</style>
</head><body><h1>Evidence report</h1>
<p>Every place where the protected media of this case was found, with the time it was captured
(UTC) and the SHA-256 of the WARC file that holds the capture. Check this bundle offline with
<code>unleak evidence verify BUNDLE</code>, or by hand with <code>sha256sum -c manifest.sha256</code>
(see README.txt).</p>
<table>{head}</table><h2>Sightings ({len(sightings)})</h2>
<table><tr><th>#</th><th>status</th><th>media URL</th><th>page URL</th><th>host</th><th>uploader</th><th>posted</th>
<th>first seen (UTC)</th><th>last seen (UTC)</th><th>removed (UTC)</th><th>captured (UTC)</th><th>WARC</th><th>WARC SHA-256</th>
<th>bank id</th><th>match</th></tr>{rows}</table>{_spread_html(path.parent, spread)}{_takedown_html(path.parent, takedown)}</body></html>
""",
        encoding="utf-8",
    )


def _takedown_html(folder: Path, takedown: TakedownSection | None) -> str:
    if takedown is None:
        return ""
    head = "".join(f"<th>{escape(_show(c))}</th>" for c in takedown.columns)
    parts = [f"<h2>Take-down</h2><p>{escape(TAKEDOWN_INTRO)}</p>"]
    for title, rows in takedown.tables:
        body = "".join("<tr>" + "".join(f"<td>{escape(_show(v))}</td>" for v in r) + "</tr>" for r in rows)
        parts.append(f"<h3>{escape(_show(title))}</h3><table><tr>{head}</tr>{body}</table>")
    if takedown.chart:
        # Inlined so the HTML stays self-contained; the same bytes are the bundle's chart file.
        data = base64.b64encode((folder / takedown.chart).read_bytes()).decode("ascii")
        parts.append(
            f'<h3>Time to removal</h3><p><img alt="time to removal per host and basis" '
            f'src="data:image/png;base64,{data}"><br>({escape(takedown.chart)} in this bundle)</p>'
        )
    return "".join(parts)


def write_pdf(
    path: Path,
    meta: dict[str, Any],
    sightings: list[dict[str, Any]],
    takedown: TakedownSection | None = None,
    spread: SpreadSection | None = None,
) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=8.5, splitLongWords=1)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title=f"Evidence report: {_show(meta.get('case'))}",
        author="unleak",
        invariant=1,
    )

    def p(text: Any) -> Paragraph:
        # Long URLs are split where they do not fit (splitLongWords); nothing is inserted into them.
        # Lines are neutralised one by one: the line breaks unleak put in stay line breaks.
        lines = ("" if text is None else str(text)).split("\n")
        return Paragraph("<br/>".join(escape(_show(line)) for line in lines), small)

    story: list[Any] = [
        Paragraph("Evidence report", styles["Title"]),
        Paragraph(
            "Every place where the protected media of this case was found, with the UTC time "
            "of its capture and the SHA-256 of the WARC file holding it. Verify the bundle "
            "offline with <b>unleak evidence verify BUNDLE</b> or by hand (README.txt).",
            styles["BodyText"],
        ),
        Spacer(1, 4 * mm),
    ]
    meta_table = Table([[p(k), p(v)] for k, v in meta.items()], colWidths=[45 * mm, 220 * mm])
    meta_table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey)]))
    story += [meta_table, Spacer(1, 5 * mm), Paragraph(f"Sightings ({len(sightings)})", styles["Heading2"])]
    header = [
        "#",
        "status",
        "media URL / page URL",
        "host",
        "uploader / posted",
        "first / last seen",
        "captured (UTC)",
        "WARC SHA-256",
    ]
    data = [[p(h) for h in header]]
    for r in _rows(sightings):
        data.append(
            [
                p(r["id"]),
                p(r["status"] + (" (re-upload)" if r["reupload"] else "")),
                p(f"{_show(r['media_url'])}\non {_show(r['page_url'] or '-')}"),
                p(r["host"]),
                p(f"{_show(r['uploader'] or '-')} / {_show(r['posted'] or '-')}"),
                p(f"{r['first_seen']} / {r['last_seen']}"),
                p(r["capture_time"]),
                p(r["capture_sha256"]),
            ]
        )
    t = Table(data, colWidths=[8 * mm, 18 * mm, 80 * mm, 22 * mm, 35 * mm, 40 * mm, 28 * mm, 46 * mm], repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(t)
    if spread is not None:
        grid = TableStyle(
            [("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey)]
        )
        story += [Spacer(1, 5 * mm), Paragraph("How the leak spread", styles["Heading2"]), p(spread.statement)]
        for title, reasons, edges, hosts in spread.items:
            story += [Spacer(1, 3 * mm), p(title)] + [p(f"- {r}") for r in reasons]
            for cols, rows in ((SPREAD_EDGE_COLUMNS, edges), (SPREAD_HOST_COLUMNS, hosts)):
                if rows:
                    ts = Table([[p(c) for c in cols]] + [[p(v) for v in r] for r in rows], repeatRows=1)
                    ts.setStyle(grid)
                    story += [Spacer(1, 2 * mm), ts]
        if spread.chart:
            chart = path.parent / spread.chart
            w, h = ImageReader(str(chart)).getSize()
            width = min(250 * mm, 170 * mm * w / h)
            story += [Spacer(1, 3 * mm), Image(str(chart), width=width, height=width * h / w)]
    if takedown is not None:
        story += [Spacer(1, 5 * mm), Paragraph("Take-down", styles["Heading2"]), Paragraph(TAKEDOWN_INTRO, small)]
        for title, rows in takedown.tables:
            td = Table(
                [[p(c) for c in takedown.columns]] + [[p(v) for v in r] for r in rows],
                colWidths=[70 * mm, 35 * mm] + [27 * mm] * (len(takedown.columns) - 2),
                repeatRows=1,
            )
            td.setStyle(
                TableStyle(
                    [("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey)]
                )
            )
            story += [Spacer(1, 3 * mm), Paragraph(escape(_show(title)), styles["Heading3"]), td]
        if takedown.chart:
            chart = path.parent / takedown.chart
            w, h = ImageReader(str(chart)).getSize()
            width = min(200 * mm, 170 * mm * w / h)  # a chart of many hosts is tall: keep it on one page
            story += [Spacer(1, 3 * mm), Image(str(chart), width=width, height=width * h / w)]
    doc.build(story)
