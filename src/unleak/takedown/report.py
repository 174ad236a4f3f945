"""How fast each host acted: notices sent, removal rate, median and 90th-percentile time to
removal, overdue notices; per host and basis, per host, per basis and for the whole case.

Times to removal are per URL: from the notice's send time to the first check that found the URL
gone. Percentiles use the nearest-rank method (the p-th percentile of n values is the
ceil(p*n)-th smallest), so every figure is a time that was actually observed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from unleak.errors import UnleakError
from unleak.evidence.report import TakedownSection
from unleak.store import Store
from unleak.store.models import Notice
from unleak.takedown.notices import AWAITING, _now
from unleak.text import neutralize


def nearest_rank(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(1, math.ceil(p * len(ordered)))
    return ordered[k - 1]


@dataclass
class Row:
    host: str
    basis: str
    notices_sent: int = 0
    urls: int = 0
    urls_removed: int = 0
    notices_removed: int = 0
    overdue: int = 0
    hours: list[float] = field(default_factory=list)

    @property
    def removal_rate(self) -> float | None:
        return self.urls_removed / self.urls if self.urls else None

    @property
    def median_hours(self) -> float | None:
        return nearest_rank(self.hours, 0.5)

    @property
    def p90_hours(self) -> float | None:
        return nearest_rank(self.hours, 0.9)

    def add(self, other: Row) -> None:
        self.notices_sent += other.notices_sent
        self.urls += other.urls
        self.urls_removed += other.urls_removed
        self.notices_removed += other.notices_removed
        self.overdue += other.overdue
        self.hours += other.hours

    def to_json(self) -> dict:
        r = lambda v: None if v is None else round(v, 2)  # noqa: E731
        return {
            "host": self.host,
            "basis": self.basis,
            "notices_sent": self.notices_sent,
            "urls": self.urls,
            "urls_removed": self.urls_removed,
            "notices_removed": self.notices_removed,
            "removal_rate": r(self.removal_rate),
            "median_hours": r(self.median_hours),
            "p90_hours": r(self.p90_hours),
            "overdue": self.overdue,
        }


@dataclass
class TakedownReport:
    case: str
    generated_at: datetime
    by_host_basis: list[Row]
    by_host: list[Row]
    by_basis: list[Row]
    total: Row

    def to_json(self) -> dict:
        return {
            "case": self.case,
            "generated_at": self.generated_at.isoformat(),
            "by_host_basis": [r.to_json() for r in self.by_host_basis],
            "by_host": [r.to_json() for r in self.by_host],
            "by_basis": [r.to_json() for r in self.by_basis],
            "total": self.total.to_json(),
        }


def takedown_report(store: Store, case: str | None = None, *, now: datetime | None = None) -> TakedownReport:
    """How fast each host acted on the case's notices (see the module docstring for the figures)."""
    now = _now(now)
    groups: dict[tuple[str, str], Row] = {}
    with store.session() as s:
        case_row = store.case(s, case, create=False)
        for n in s.scalars(
            select(Notice).where(Notice.case_id == case_row.id, Notice.sent_at.is_not(None)).order_by(Notice.id)
        ):
            host = n.host_name or n.host
            row = groups.setdefault((host, n.basis), Row(host, n.basis))
            row.notices_sent += 1
            row.urls += len(n.items)
            for it in n.items:
                if it.state == "gone" and it.removed_at is not None and n.sent_at is not None:
                    row.urls_removed += 1
                    row.hours.append(max(0.0, (it.removed_at - n.sent_at).total_seconds() / 3600))
            row.notices_removed += n.status == "removed"
            row.overdue += bool(n.status in AWAITING and n.deadline_at is not None and n.deadline_at < now)
        name = case_row.name
    by_host: dict[str, Row] = {}
    by_basis: dict[str, Row] = {}
    total = Row("all", "all")
    for (host, basis), row in sorted(groups.items()):
        by_host.setdefault(host, Row(host, "all")).add(row)
        by_basis.setdefault(basis, Row("all", basis)).add(row)
        total.add(row)
    return TakedownReport(
        name, now, [groups[k] for k in sorted(groups)], list(by_host.values()), list(by_basis.values()), total
    )


def fmt_hours(h: float | None) -> str:
    if h is None:
        return ""
    if h < 48:
        return f"{h:.1f} h"
    return f"{h / 24:.1f} d"


def table_rows(rows: list[Row]) -> list[tuple]:
    return [
        (
            r.host,
            r.basis,
            r.notices_sent,
            f"{r.urls_removed}/{r.urls}",
            "" if r.removal_rate is None else f"{100 * r.removal_rate:.0f}%",
            fmt_hours(r.median_hours),
            fmt_hours(r.p90_hours),
            r.overdue,
        )
        for r in rows
    ]


TABLE_COLUMNS = ["host", "basis", "sent", "URLs removed", "rate", "median", "p90", "overdue"]


def write_chart(report: TakedownReport, path: Path) -> Path:
    """A bar chart of median time to removal per host and basis (p90 as a whisker), with each
    bar labelled by its removal rate. PNG or SVG, by the file's suffix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise UnleakError(
            f"cannot write a chart as {path.suffix or 'a file without a suffix'}",
            hint="name the chart file .png or .svg",
        )
    rows = [r for r in report.by_host_basis if r.notices_sent]
    fig_h = max(2.2, 0.45 * len(rows) + 1.4)
    fig, ax = plt.subplots(figsize=(8, fig_h))
    labels = [neutralize(f"{r.host} · {r.basis}") for r in rows]  # a host name can come from a crawled URL
    med = [r.median_hours or 0.0 for r in rows]
    p90 = [r.p90_hours or 0.0 for r in rows]
    ys = list(range(len(rows)))
    ax.barh(ys, med, color="#3b7dd8", label="median")
    ax.errorbar(p90, ys, fmt="|", color="#c0392b", markersize=12, label="90th percentile", linestyle="none")
    for y, r, m, q in zip(ys, rows, med, p90):
        rate = "no removals" if not r.urls_removed else f"{100 * (r.removal_rate or 0):.0f}% removed"
        over = f", {r.overdue} overdue" if r.overdue else ""
        ax.text(max(m, q) + 0.5, y, f"{rate} ({r.urls_removed}/{r.urls}){over}", va="center", fontsize=8)
    ax.set_yticks(ys, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("hours from notice to removal")
    ax.set_title(f"Time to removal — case {neutralize(report.case)}", fontsize=10)
    xmax = max(p90 + med + [1.0])
    ax.set_xlim(0, xmax * 1.6 + 1)
    if rows:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return path


BUNDLE_CHART = "takedown.png"  # PNG: both the HTML and the PDF report can show it


def bundle_section(store: Store, case_name: str, folder: Path, now: datetime) -> TakedownSection | None:
    """The case's take-down report for an evidence bundle (`export_bundle(..., takedown=bundle_section)`):
    tables, and the chart written into `folder`; None when no notice was sent."""
    rep = takedown_report(store, case_name, now=now)
    if not rep.total.notices_sent:
        return None
    write_chart(rep, folder / BUNDLE_CHART)
    return TakedownSection(
        TABLE_COLUMNS,
        [
            ("By host and basis", table_rows(rep.by_host_basis)),
            ("By host", table_rows(rep.by_host)),
            ("By basis", table_rows(rep.by_basis)),
            ("Case", table_rows([rep.total])),
        ],
        BUNDLE_CHART,
    )
