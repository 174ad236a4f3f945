"""Commands of the protect-and-match core: hash, protect, match, bank."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from unleak import console as output
from unleak.bank import Bank, signals_to_json
from unleak.errors import UnleakError
from unleak.media.files import iter_media_paths
from unleak.signals import Media, compute_signals, get_signal_type

if TYPE_CHECKING:
    from unleak.match import MatchResult

CaseOption = typer.Option(None, "--case", "-c", help="Case name (the default case when omitted).")
JsonOption = typer.Option(False, "--json", help="One JSON object per line instead of tables.")


ClusterOption = typer.Option(
    None,
    "--cluster",
    envvar="UNLEAK_DASK_SCHEDULER",
    help="Run on a Dask cluster: tcp://HOST:8786, or local[:N] for N worker processes here; the files must "
    "be on storage the workers share. Default: $UNLEAK_DASK_SCHEDULER, else this process alone.",
)


def _store():
    from unleak.store import open_store

    return open_store()


def _media_files(paths) -> list[Path]:
    """Media files named or found in folders; special files (FIFOs, sockets, devices) are passed
    over with a note on stderr, which does not make the command fail."""
    return list(iter_media_paths(paths, on_skip=lambda _path, why: output.warn(why)))


def _bank(case: str | None) -> Bank:
    """The bank of an existing case: an unknown --case is an error naming the cases there are."""
    bank = Bank(_store(), case)
    _ = bank.case_id  # NotFound now, before any work
    return bank


def hash_command(
    paths: list[Path] = typer.Argument(..., help="Files or folders."),
    fast: bool = typer.Option(False, "--fast", help="Fast mode (reduced-scale decode); for scanning, not for export."),
    as_json: bool = JsonOption,
) -> None:
    """Print the fingerprints of files, without storing anything."""
    rows: list[tuple[Any, ...]] = []
    failed = 0
    files = _media_files(paths)
    with output.progress("Hashing", len(files), enabled=not as_json and len(files) > 1) as bar:
        for path in files:
            signals = {}
            try:
                signals = compute_signals(Media.open(path), fast=fast)
                record: dict[str, Any] = {"path": str(path), "signals": signals_to_json(signals), "error": None}
            except UnleakError as exc:
                record = {"path": str(path), "signals": {}, "error": str(exc)}
                failed += 1
            bar.advance()
            if as_json:
                output.emit_json(record)
            elif record["error"]:
                output.error(record["error"])
            else:
                # Every registered type that applies, perceptual ones before exact digests.
                ordered = sorted(signals.values(), key=lambda sg: get_signal_type(sg.type).exact)
                for i, sig in enumerate(ordered):
                    summary = get_signal_type(sig.type).summary(sig)
                    rows.append((path if i == 0 else "", sig.type, summary, "" if sig.quality is None else sig.quality))
    if not as_json and rows:
        output.table(None, ["file", "signal", "value", "quality"], rows)
    if failed:
        raise typer.Exit(1)


def protect_command(
    paths: list[Path] = typer.Argument(..., help="Files or folders (searched recursively)."),
    label: str | None = typer.Option(None, "--label", "-l", help="Label for every file (default: its name)."),
    case: str | None = CaseOption,
    no_variants: bool = typer.Option(
        False,
        "--no-variants",
        help="Do not store the PDQ of standard crops (1:1, 4:5, 9:16, 16:9) and trimmed borders.",
    ),
    cluster: str | None = ClusterOption,
    as_json: bool = JsonOption,
) -> None:
    """Fingerprint private photos and videos and add them to the bank. The media stays where it is.
    With --cluster, Dask workers fingerprint the files (on storage they share); this process records."""
    bank = Bank(_store(), case, create=True)  # protecting starts a case's work: a new name opens it
    files = _media_files(paths)
    added = skipped = refused = failed = 0
    with contextlib.ExitStack() as stack, output.progress("Protecting", len(files), enabled=not as_json) as bar:
        computed: Iterator[Any] = iter(())
        if cluster:
            from unleak.cluster import Cluster, fingerprint_files

            c = stack.enter_context(Cluster(cluster))
            computed = fingerprint_files(c, [str(p.resolve()) for p in files], not no_variants)
        for path in files:
            fp = next(computed, None)
            r = bank.protect_one(path, label=label, variants=not no_variants, computed=fp)
            bar.advance()
            if as_json:
                output.emit_json(r.to_json())
            elif r.error:
                output.error(r.error)
            elif r.refused:
                output.warn(r.refused)
            elif r.weak_pdq:
                output.warn(f"{r.path}: weakly protected by PDQ: {r.weak_pdq}")
            if r.error:
                failed += 1
            elif r.refused:
                refused += 1
            elif r.skipped:
                skipped += 1
            else:
                added += 1
    if not as_json:
        output.console.print(
            f"Protected [bold]{added}[/] new file(s) in case [bold]{bank.case_name}[/]; "
            f"{skipped} already protected, {refused} removed before (not protected again), "
            f"{failed} could not be read. Bank size: {bank.count()}."
        )
    if failed:
        raise typer.Exit(1)


def match_command(
    paths: list[str] = typer.Argument(..., help="Files, folders or http(s) URLs to check."),
    case: str | None = CaseOption,
    fast: bool = typer.Option(False, "--fast", help="Fast hashing of candidates."),
    no_dihedral: bool = typer.Option(False, "--no-dihedral", help="Do not check rotations and flips."),
    no_variants: bool = typer.Option(
        False, "--no-variants", help="Plain PDQ only: no trimmed borders or screenshot frames, no bank-side crops."
    ),
    no_boxes: bool = typer.Option(
        False, "--no-boxes", help="Do not hash the candidate's content boxes (trimmed borders, screenshot frames)."
    ),
    no_bank_variants: bool = typer.Option(
        False, "--no-bank-variants", help="Do not compare with the bank's crops and trimmed borders."
    ),
    verify: str = typer.Option(
        "auto",
        "--verify",
        help="Owner-side verification against the originals: auto (when they are on this machine), on, off (hash-only).",
    ),
    target_rate: float = typer.Option(
        1e-6, "--target-rate", help="False-match rate per candidate-bank pair that the thresholds hold."
    ),
    cluster: str | None = ClusterOption,
    as_json: bool = JsonOption,
) -> None:
    """Check files against the bank and list the protected items they match.

    Every match carries an estimated false-match rate; with the originals reachable, matches
    are confirmed against them and report how the copy was transformed (crop, scale,
    rotation, flip)."""
    from unleak.match import Matcher

    bank = _bank(case)
    options: dict[str, Any] = {
        "fast": fast,
        "dihedral": not no_dihedral,
        "verify": verify,
        "target_rate": target_rate,
        "boxes": not (no_variants or no_boxes),
        "bank_variants": not (no_variants or no_bank_variants),
    }
    rows = []
    found = failed = 0
    given: dict[str, str] = {}
    # Folders are listed first so that the bar knows its total; a URL counts as one step.
    targets = [
        p for raw in paths for p in ([raw] if raw.lower().startswith(("http://", "https://")) else _media_files([raw]))
    ]
    with contextlib.ExitStack() as stack:
        per_target: Iterator[list[MatchResult]]
        if cluster:
            from unleak.cluster import Cluster, match_targets

            c = stack.enter_context(Cluster(cluster))
            given = {str(Path(t).resolve()): str(t) for t in targets if not isinstance(t, str)}
            abs_targets = [t if isinstance(t, str) else str(Path(t).resolve()) for t in targets]
            per_target = match_targets(c, bank, abs_targets, options)
        else:
            matcher = Matcher(bank, **options)
            per_target = (list(matcher.match_paths([t])) for t in targets)
        mode = "on the cluster" if cluster else matcher.mode
        with output.progress("Matching", len(targets), enabled=not as_json and len(targets) > 1) as bar:
            for results in per_target:
                for result in results:
                    if cluster:  # the path as given here, not as sent to the workers
                        result.path = given.get(result.path, result.path)
                    failed += result.error is not None
                    if as_json:
                        output.emit_json(result.to_json())
                        continue
                    if result.error:
                        output.error(result.error)
                    for m in result.matches:
                        rate = m.to_json().get("false_match_rate")
                        verified = {True: "yes", False: "no", None: ""}[m.verified]
                        how = m.variant or ""
                        if m.transform:
                            t = m.transform
                            how += (
                                f" crop {tuple(t['crop_box'])} x{t['scale']:.2f} {t['rotation_deg']:+.1f}°"
                                f"{' flipped' if t['flip'] else ''} {100 * t['visible_fraction']:.0f}% visible"
                            )
                        rows.append(
                            (
                                result.path,
                                m.bank_id,
                                m.label,
                                m.signal,
                                m.distance,
                                m.quality,
                                f"{rate:.1e}" if rate is not None else "",
                                verified,
                                how.strip(),
                            )
                        )
                    found += bool(result.matches)
                bar.advance()
    if not as_json:
        if rows:
            output.table(
                "Matches",
                [
                    "candidate",
                    "bank id",
                    "label",
                    "signal",
                    "distance",
                    "quality",
                    "false-match rate",
                    "verified",
                    "how",
                ],
                rows,
            )
        output.console.print(
            f"{found} candidate(s) matched the bank of case [bold]{bank.case_name}[/] "
            f"({mode}){f'; {failed} could not be read' if failed else ''}."
        )
    if failed:  # like hash and protect: a candidate that could not be checked is not a clean result
        raise typer.Exit(1)


bank_app = typer.Typer(help="The protected fingerprints: list, remove, export, import.", no_args_is_help=True)


@bank_app.command("list")
def bank_list(
    case: str | None = CaseOption,
    as_json: bool = JsonOption,
    removed: bool = typer.Option(False, "--removed", help="Also list removed items."),
) -> None:
    """List protected items."""
    bank = _bank(case)
    rows = []
    for it in bank.items(include_removed=removed):
        pdq = next((s.value for s in it.signals if s.type == "pdq" and not s.variant), "")
        record = {
            "bank_id": it.id,
            "label": it.label,
            "kind": it.kind,
            "path": it.path,
            "sha256": it.sha256,
            "pdq": pdq or None,
            "removed": it.removed_at is not None,
            "created_at": it.created_at.isoformat(),
        }
        if as_json:
            output.emit_json(record)
        else:
            rows.append(
                (
                    it.id,
                    it.label,
                    it.kind,
                    (pdq[:16] + "…") if pdq else "",
                    it.path or "(imported)",
                    "removed" if it.removed_at else "",
                )
            )
    if not as_json:
        output.table(f"Bank of case {bank.case_name}", ["id", "label", "kind", "pdq", "path", ""], rows)


@bank_app.command("remove")
def bank_remove(
    bank_ids: list[int] = typer.Argument(..., help="Bank ids (see `unleak bank list`)."), case: str | None = CaseOption
) -> None:
    """Remove items: they never match again, and their hashes cannot be imported back."""
    n = _bank(case).remove(bank_ids)
    output.console.print(f"Removed {n} item(s).")


@bank_app.command("export")
def bank_export(
    out: Path = typer.Argument(..., help="File to write."),
    fmt: str = typer.Option(
        "json",
        "--format",
        "-f",
        help="json (ours, with labels), te (threatexchange/HMA `type value` lines), pdq (bare PDQ hex).",
    ),
    case: str | None = CaseOption,
    include_low_quality: bool = typer.Option(
        False,
        "--include-low-quality",
        help="te/pdq: keep PDQ hashes of quality < 50 (python-threatexchange and HMA refuse them).",
    ),
) -> None:
    """Export the bank's hashes. Hashes are sensitive: share the file only with who must have it."""
    r = _bank(case).export_report(out, fmt, include_low_quality=include_low_quality)
    output.console.print(f"Wrote {r.written} {'item(s)' if fmt == 'json' else 'hash(es)'} to {out}.")
    if r.low_quality_left_out:
        output.console.print(
            f"Left out {r.low_quality_left_out} PDQ hash(es) of quality < 50 (flat pictures), which "
            "python-threatexchange and HMA refuse; --include-low-quality keeps them."
        )


@bank_app.command("import")
def bank_import(
    path: Path = typer.Argument(..., help="A file written by `bank export` or a hash list."),
    fmt: str | None = typer.Option(None, "--format", "-f", help="json, te or pdq (guessed if omitted)."),
    label: str = typer.Option("imported", "--label", "-l"),
    case: str | None = CaseOption,
) -> None:
    """Import hashes. Hashes removed from this case before are refused."""
    with output.progress("Importing", None) as bar:
        added, refused = Bank(_store(), case).import_file(  # opens the case once the list is read
            path, fmt, label=label, on_progress=lambda done, total: bar.update(done, total)
        )
    output.console.print(f"Imported {added} hash(es); {refused} already present or removed before, skipped.")


def calibrate_command(
    folder: list[Path] = typer.Argument(..., help="Your own photos that are NOT protected: at least 500."),
    case: str | None = CaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Fit the false-match tail on your own unrelated photos and keep it for the case.

    Matching in the case then uses it, and the false-match rates it reports come from it. A fit
    never loosens a threshold beyond the reference; fewer than 500 usable photos is refused."""
    r = _bank(case).calibrate(folder)
    if as_json:
        output.emit_json(r.to_json())
        return
    doc = r.to_json()
    cols = ("fitted", "reference", "in_use")
    rows = []
    for key, name in (("mean", "mean distance"), ("sigma", "spread (sigma)")):
        rows.append((name, *(f"{doc[c][key]:.2f}" for c in cols)))
    for t in ("20", "31", "36", "40"):
        rows.append((f"P(D <= {t})", *(f"{doc[c]['rate_at'][t]:.2g}" for c in cols)))
    rows.append(("threshold at 1e-6", *(str(doc[c]["threshold_at_target"]) for c in cols)))
    output.table("False-match tail of one PDQ comparison", ["", "fitted on your photos", "reference", "in use"], rows)
    verdict = (
        "your photos' tail is no heavier than the reference: the reference stays in use"
        if doc["uses_reference"]
        else "your photos' tail is heavier: matching in this case now uses the fitted tail (stricter thresholds)"
    )
    output.console.print(
        f"Calibrated case [bold]{r.case}[/] on {r.images} photo(s) ({r.distances:,} distances; "
        f"{r.flat} too flat for PDQ, {r.unreadable} unreadable): {verdict}."
    )


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_command)
    app.command("hash")(hash_command)
    app.command("protect")(protect_command)
    app.command("match")(match_command)
    app.add_typer(bank_app, name="bank")
