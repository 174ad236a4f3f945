"""Deadlines: computed in UTC from the send time, shown on the user's clock.

A statutory deadline in hours is elapsed time: 48 hours after a request sent at 01:30 local time
on the night clocks go forward ends at 02:30 local, not 01:30, two days later. A policy deadline
in days is counted on the user's wall clock: "7 days" ends at the same local time a week later,
whatever the clocks did in between. Times that do not exist on the wall clock (the skipped hour)
move forward; ambiguous ones (the repeated hour) take the first occurrence.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from unleak import config
from unleak.errors import UnleakError
from unleak.takedown.bases import DeadlineRule, LegalBasis

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deadline:
    at: datetime | None  # UTC; None when the basis sets no period at all
    kind: str  # statutory | policy | none
    rule: str  # e.g. "48 hours (statutory, Pub. L. 119-12, §3(a)(3))"
    note: str = ""

    def to_json(self) -> dict:
        return {"at": self.at.isoformat() if self.at else None, "kind": self.kind, "rule": self.rule, "note": self.note}


def settings_path() -> Path:
    return Path(os.environ.get("UNLEAK_TAKEDOWN_CONFIG") or config.home() / "takedown.toml")


def load_settings() -> dict:
    """takedown.toml in the data folder: [response_times], [smtp], timezone. Missing file: defaults."""
    path = settings_path()
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UnleakError(f"cannot read {path}: {exc}", hint="fix the TOML syntax or remove the file") from None


def uk_osa_citation(settings: dict | None = None) -> dict:
    """The UK OSA provision a report cites, from [uk_osa] citation / citation_confirmed in
    takedown.toml; unconfirmed until a person sets citation_confirmed = true."""
    from unleak.takedown.bases import UK_OSA_CITATION, UK_OSA_CITATION_NOTE

    table = (load_settings() if settings is None else settings).get("uk_osa") or {}
    confirmed = bool(table.get("citation_confirmed", False))
    return {
        "text": str(table.get("citation") or UK_OSA_CITATION),
        "confirmed": confirmed,
        "note": "" if confirmed else UK_OSA_CITATION_NOTE,
    }


def user_zone(settings: dict | None = None) -> tzinfo:
    """`$UNLEAK_TZ`, else `timezone` in takedown.toml, else `$TZ`, else the system zone, else UTC."""
    settings = load_settings() if settings is None else settings
    for name in (os.environ.get("UNLEAK_TZ"), settings.get("timezone"), os.environ.get("TZ")):
        if name:
            try:
                return ZoneInfo(name.lstrip(":"))
            except (ZoneInfoNotFoundError, ValueError):
                raise UnleakError(
                    f"unknown time zone {name!r}", hint="use an IANA name such as Europe/Berlin or America/New_York"
                ) from None
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return UTC


def parse_period(text: str) -> tuple[float | None, int | None]:
    """'48h' -> (48, None); '7d' -> (None, 7); a bare number is hours."""
    t = str(text).strip().lower()
    try:
        if t.endswith("d"):
            return None, int(t[:-1])
        if t.endswith("h"):
            return float(t[:-1]), None
        return float(t), None
    except ValueError:
        raise UnleakError(f"cannot read the period {text!r}", hint="write e.g. 72h or 7d") from None


def effective_rule(basis: LegalBasis, settings: dict | None = None, *, sent_at: datetime | None = None) -> DeadlineRule:
    """The rule that applies: statutory rules are fixed by law (until their duty applies they count as
    policy); policy rules may be overridden in [response_times] of takedown.toml."""
    rule = basis.deadline
    settings = load_settings() if settings is None else settings
    if rule.kind == "statutory":
        if rule.commencement_key:
            start = str((settings.get(rule.commencement_key) or {}).get("commencement") or "")
            if not start:
                return DeadlineRule(
                    "policy",
                    hours=rule.hours,
                    days=rule.days,
                    citation=rule.citation,
                    note=f"no commencement date is set for this duty ([{rule.commencement_key}] commencement in "
                    "takedown.toml): until then this is an expectation only",
                    config_key=rule.config_key,
                )
            if "T" not in start:
                start += "T00:00:00+00:00"
            rule = dataclasses.replace(rule, statutory_from=start, commencement_key=None)
        if rule.statutory_from and sent_at is not None and sent_at < datetime.fromisoformat(rule.statutory_from):
            return DeadlineRule(
                "policy",
                hours=rule.hours,
                days=rule.days,
                citation=rule.citation,
                note=f"the statutory duty applies from {rule.statutory_from[:10]}; until then "
                "this is an expectation only",
                config_key=rule.config_key,
            )
        return rule
    override = (settings.get("response_times") or {}).get(rule.config_key or basis.key)
    if override is not None:
        hours, days = parse_period(override)
        return DeadlineRule(
            "policy",
            hours=hours,
            days=days,
            citation=rule.citation,
            note="expected response time set in takedown.toml",
            config_key=rule.config_key,
        )
    return rule


def add_wall_days(start: datetime, days: int, zone: tzinfo) -> datetime:
    """`days` calendar days later on the wall clock of `zone`, returned in UTC."""
    local = start.astimezone(zone)
    naive = local.replace(tzinfo=None) + timedelta(days=days)
    # PEP 495: with fold=0 a wall time in the spring-forward gap maps past the gap (02:30 -> 03:30),
    # and a repeated wall time in the autumn takes its first occurrence.
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def add_business_days(start: datetime, days: int, zone: tzinfo) -> datetime:
    """`days` business days (Monday to Friday) later on the wall clock of `zone`, in UTC. Public
    holidays are not known here and not skipped: the true date can be later, never earlier."""
    local = start.astimezone(zone)
    naive = local.replace(tzinfo=None)
    left = days
    while left > 0:
        naive += timedelta(days=1)
        if naive.weekday() < 5:
            left -= 1
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def counter_notice_window(received_at: datetime, zone: tzinfo | None = None) -> tuple[datetime, datetime]:
    """17 U.S.C. §512(g)(2)(C): after a counter-notice, the host replaces the material not less than 10
    nor more than 14 business days after receiving it, unless first told that the person who sent the
    notice has filed an action seeking a court order. Returns (earliest, latest) restoration."""
    zone = zone or user_zone()
    return add_business_days(received_at, 10, zone), add_business_days(received_at, 14, zone)


def compute_deadline(
    basis: LegalBasis, sent_at: datetime, *, zone: tzinfo | None = None, settings: dict | None = None
) -> Deadline:
    """The deadline of a notice under `basis` sent (received) at `sent_at`."""
    if sent_at.tzinfo is None:
        raise ValueError("sent_at must be timezone-aware")
    settings = load_settings() if settings is None else settings
    rule = effective_rule(basis, settings, sent_at=sent_at)
    sent_utc = sent_at.astimezone(UTC)
    cite = f", {rule.citation}" if rule.citation else ""
    if rule.hours is not None:
        at = sent_utc + timedelta(hours=rule.hours)
        return Deadline(at, rule.kind, f"{rule.hours:g} hours ({rule.kind}{cite})", rule.note)
    if rule.days is not None:
        at = add_wall_days(sent_utc, rule.days, zone or user_zone(settings))
        return Deadline(at, rule.kind, f"{rule.days} days ({rule.kind}{cite})", rule.note)
    return Deadline(None, "none", f"no deadline{cite}", rule.note)


def format_local(when: datetime | None, zone: tzinfo | None = None) -> str:
    """'2026-03-10 14:00 EDT (UTC-04:00)' on the user's clock."""
    if when is None:
        return ""
    local = when.astimezone(zone or user_zone())
    off = local.strftime("%z")
    off = f"{off[:3]}:{off[3:]}" if off else "+00:00"
    name = local.tzname() or ""
    label = f"{name} " if name and not name.startswith(("+", "-")) and name != "UTC" else ""
    return f"{local:%Y-%m-%d %H:%M} {label}(UTC{off})"


def format_remaining(deadline: datetime | None, now: datetime) -> str:
    """'in 1d 3h' or 'overdue by 5h'."""
    if deadline is None:
        return ""
    delta = deadline - now
    secs = abs(delta.total_seconds())
    days, rem = divmod(int(secs), 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    text = f"{days}d {hours}h" if days else f"{hours}h {minutes}m" if hours else f"{minutes}m"
    return f"in {text}" if delta.total_seconds() >= 0 else f"overdue by {text}"
