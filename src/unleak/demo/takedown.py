"""The take-down step of `unleak demo`: on the generated site, after a scan found the copies.

Drafts the notice for the site's sightings, shows it, confirms it (the demo stands in for the
person), records it as submitted through the site's (pretend) report form — no mail leaves the
machine —, takes some copies down on the site, runs the removal check, and prints the report.
"""

from __future__ import annotations

from typing import Any

DEMO_CLAIMANT = dict(
    name="Sam Example",
    email="sam@example.invalid",
    postal_address="1 Example Street; Exampletown",
    phone="+1 555 0100",
    roles="depicted_person,copyright_owner",
)


def run_takedown_demo(store, case: str, site, *, console=None, take_down: int = 2, policy=None) -> dict[str, Any]:
    """Draft, confirm and "submit" a notice for the case's sightings on `site` (a GeneratedSite),
    take `take_down` copies down on the site, verify, and report. Returns what happened."""
    from rich.console import Console

    from unleak.net.fetch import FetchPolicy
    from unleak.takedown.claimant import set_claimant
    from unleak.takedown.deadlines import format_local
    from unleak.takedown.drafting import confirm_notice, draft_notices
    from unleak.takedown.hosts import HostDirectory, HostEntry
    from unleak.takedown.notices import get_notice
    from unleak.takedown.report import TABLE_COLUMNS, table_rows, takedown_report
    from unleak.takedown.sending import send_notice
    from unleak.takedown.verify import verify_case

    console = console or Console()

    def table(title: str, columns: list[str], rows: list) -> None:
        from rich.table import Table

        t = Table(title=title, title_justify="left")
        for c in columns:
            t.add_column(c, overflow="fold")
        for r in rows:
            t.add_row(*["" if v is None else str(v) for v in r])
        console.print(t)

    set_claimant(store, case, **DEMO_CLAIMANT)
    directory = HostDirectory.load()
    form = site.server.url("/report-abuse")
    directory.entries["demo-site"] = HostEntry(
        "demo-site",
        "the demo gallery",
        domains=["127.0.0.1"],
        contacts={"default": {"channel": "webform", "url": form}},
        confirmed=True,
        origin="user",
    )
    outcomes = [
        o
        for o in draft_notices(store, case, search=False, directory=directory, answers={"intimate": "yes"})
        if o.host == "demo-site"
    ]
    if not outcomes:
        console.print("No sightings to take down.")
        return {"notices": []}
    notice = outcomes[0]
    text = get_notice(store, notice.notice_id)
    console.rule(f"Take-down notice #{notice.notice_id} ({notice.basis}) to {notice.host_name}")
    console.print(text.body, markup=False, highlight=False, soft_wrap=True)
    # The demo stands in for the person: it states the content is intimate and signs as the demo claimant.
    confirm_notice(store, notice.notice_id, typed_name=DEMO_CLAIMANT["name"], expected_sha256=text.content_sha256)
    sent = send_notice(store, notice.notice_id, submitted=True)
    console.print(
        f"Confirmed and recorded as submitted through {form}; deadline {format_local(sent.deadline_at)} "
        f"({sent.deadline_rule}).",
        highlight=False,
    )
    removed = [u for u in site.truth if u in notice.urls][:take_down]
    for url in removed:
        site.take_down(url, 410)
    console.print(f"The site takes down {len(removed)} of the {len(site.truth)} copies; checking every reported URL…")
    report = verify_case(store, case, policy=policy or FetchPolicy(rate=None))
    table("Removal check", ["url", "state", "why"], [(c.url, c.state, c.reason) for c in report.checks])
    rep = takedown_report(store, case)
    table("How fast the host acted", TABLE_COLUMNS, table_rows(rep.by_host_basis))
    return {
        "notices": [o.notice_id for o in outcomes],
        "removed": removed,
        "gone": report.gone,
        "up": report.up,
        "report": rep.to_json(),
    }
