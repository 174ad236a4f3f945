"""The `--json` contract: one scripted session of every command that prints JSON, on fixed inputs.

The same script recorded tests/golden/*.json from the code before the layout refactor and
test_golden_json.py reruns it on the current code, so it must run on both: it drives the CLI
in-process, finds the generated test site under either module path, and touches nothing else
of the package. Record again (only to add commands) with

    PYTHONPATH=src:tests python tests/_golden.py record tests/golden

which runs the session twice and marks every value that differs between the runs as volatile
(compared by JSON type only); known volatile values (times, temp paths, ports) are normalised.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

CASE = "golden"
GOLDEN_DIR = Path(__file__).with_name("golden")


def _generate_site(protected: list[Path], others: list[Path]):
    try:
        from unleak.demo.site import generate_site
    except ImportError:  # the layout before the refactor
        from unleak.monitor.demo_site import generate_site
    return generate_site(protected, others)


def _small_video(path: Path, images: list[Path]) -> Path:
    """Two seconds at 5 fps that cut between sample photos (deterministic bytes)."""
    import av
    import numpy as np
    from PIL import Image

    frames = [np.asarray(Image.open(p).convert("RGB").resize((128, 96))) for p in images]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[(i // 5) % len(frames)]), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _cli() -> Callable[..., tuple[int, str, str]]:
    from typer.testing import CliRunner

    from unleak.cli import app

    runner = CliRunner()

    def run(*args: object) -> tuple[int, str, str]:
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


def _lines(out: str) -> list[Any]:
    return [json.loads(x) for x in out.splitlines() if x.startswith(("{", "["))]


def session(work: Path) -> dict[str, dict[str, Any]]:
    """Run every JSON-printing command once, in order; returns name -> {"exit": code, "lines": [...]}.

    UNLEAK_HOME must already point at an empty folder; `work` holds the inputs and outputs."""
    from PIL import Image

    from test_notice_fixtures import start_sink
    from unleak.samples import sample_images

    os.environ["UNLEAK_TZ"] = "UTC"
    os.environ.pop("UNLEAK_DB", None)
    samples = sample_images()
    protected, others = samples[:3], samples[10:12]
    cli = _cli()
    results: dict[str, dict[str, Any]] = {}

    def record(name: str, *args: object, expect: int | None = 0) -> list[Any]:
        started = time.monotonic()
        code, out, err = cli(*args)
        if os.environ.get("UNLEAK_GOLDEN_TIMES"):
            print(f"{name}: {time.monotonic() - started:.1f} s", file=sys.stderr)
        if expect is not None and code != expect:
            raise AssertionError(f"{name}: exit {code}\n{out}\n{err}")
        results[name] = {"args": [_norm_arg(a, work) for a in args], "exit": code, "lines": _lines(out)}
        return results[name]["lines"]

    video = _small_video(work / "clip.mp4", [samples[2], samples[13]])
    copy = work / "copy.jpg"
    Image.open(protected[0]).convert("RGB").resize((300, 200)).save(copy, quality=70)

    record("hash", "hash", "--json", protected[0], video)
    record("case_new", "case", "new", CASE, "--description", "golden files", "--json")
    record("case_list", "case", "list", "--json")
    record("protect", "protect", "--case", CASE, "--json", *protected, video)
    record("bank_list", "bank", "list", "--case", CASE, "--json")
    record("match", "match", "--case", CASE, "--json", copy, others[0], expect=None)

    sink = start_sink()
    os.environ.update(
        UNLEAK_SMTP_HOST="127.0.0.1",
        UNLEAK_SMTP_PORT=str(sink.port),
        UNLEAK_SMTP_SECURITY="none",
        UNLEAK_SMTP_FROM="helpline@unleak.test",
    )
    try:
        with _generate_site(protected, others) as site:
            site_args = ("source", "add", "crawl", site.start_url, "--case", CASE)
            record("source_add", *site_args, "--depth", "2", "--allow-network", "127.0.0.1/32", "--json")
            record("source_list", "source", "list", "--case", CASE, "--json")
            record("scan", "scan", "--case", CASE, "--json", "--rate", "0", "--concurrency", "1")
            record("sightings", "sightings", "--case", CASE, "--json")
            record("spread", "spread", "--case", CASE, "--json")
            record("case_show", "case", "show", CASE, "--json")
            record("evidence_log", "evidence", "log", "--case", CASE, "--json", "--last", "0")
            bundle = work / "bundle"
            record("evidence_export", "evidence", "export", CASE, "--out", bundle, "--no-pdf", "--json")
            record("evidence_verify", "evidence", "verify", bundle, "--json")

            record(
                "claimant_set",
                *("claimant", "set", "--case", CASE, "--name", "Alex Doe", "--email", "alex@example.org"),
                *("--address", "1 Main Street; Springfield", "--role", "depicted_person", "--json"),
            )
            record("claimant_show", "claimant", "show", "--case", CASE, "--json")
            gallery = ("--name", "The Gallery", "--domain", "127.0.0.1", "--email", "abuse@gallery.test")
            assert cli("hosts", "add", "gallery", *gallery)[0] == 0
            record("hosts_list", "hosts", "list", "--json")
            record("hosts_show", "hosts", "show", site.start_url, "--json")
            drafts = record(
                "notice_draft",
                "notice",
                "draft",
                CASE,
                "--no-discover",
                "--set",
                "intimate=yes",
                "--set",
                "sold=no",
                "--json",
            )
            nid = next(d["notice_id"] for d in drafts if d["host"] == "gallery")
            record("notice_confirm", "notice", "confirm", nid, "--sign", "Alex Doe", "--json")
            record("notice_send", "notice", "send", "--all", "--case", CASE, "--json")
            site.take_down(sorted(site.truth)[0], 410)
            record("verify", "verify", CASE, "--json", "--rate", "0")
            record("notice_show", "notice", "show", nid, "--json")
            record("notice_reply", "notice", "reply", nid, "removed", "--text", "We removed it.", "--json")
            record("notice_status", "notice", "status", CASE, "--json")
            record("report", "report", CASE, "--json", "--chart", work / "removals.png")
            record(
                "watch",
                "watch",
                "--case",
                CASE,
                "--json",
                "--times",
                "1",
                "--rate",
                "0",
                "--concurrency",
                "1",
                "--verify",
                "off",
            )
    finally:
        sink.controller.stop()

    original = work / "original.jpg"
    Image.open(samples[3]).convert("RGB").save(original, quality=95)
    record("recipients_add", "recipients", "add", "alice", "--contact", "a@example.org", "--json")
    recipients_csv = work / "r.csv"
    recipients_csv.write_text("name,contact,note\nbob,,collab\nalice,,dup\n")
    record("recipients_import", "recipients", "import", recipients_csv, "--json")
    record("recipients_list", "recipients", "list", "--json")
    marks = record("mark", "mark", original, "--out", work / "marked", "--json")
    bob = next(m["path"] for m in marks if m["recipient"] == "bob")
    leaked = work / "leaked.jpg"
    im = Image.open(bob)
    w, h = im.size
    im.crop((w // 10, h // 10, w - w // 10, h - h // 10)).save(leaked, quality=75)
    record("trace", "trace", leaked, "--json")
    return results


def _norm_arg(a: object, work: Path) -> str:
    return re.sub(r"http://127\.0\.0\.1:\d+", "http://SITE", str(a).replace(str(work), "WORK"))


ORDER_FREE = {"errors"}
_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?")


def normalise(value: Any, roots: dict[str, str]) -> Any:
    """Replace what changes from run to run by its kind: temp folders, the site's port, times."""
    if isinstance(value, dict):
        out = {k: normalise(v, roots) for k, v in value.items()}
        for k in ORDER_FREE & out.keys():  # filled by concurrent fetches: the order is not the contract
            if isinstance(out[k], list):
                out[k] = sorted(out[k], key=lambda v: json.dumps(v, sort_keys=True))
        return out
    if isinstance(value, list):
        return [normalise(v, roots) for v in value]
    if isinstance(value, str):
        for root, name in roots.items():
            value = value.replace(root, name)
        value = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", value)
        return _TIME.sub("TIME", value)
    return value


def run_session() -> dict[str, dict[str, Any]]:
    """One session in fresh temp folders (UNLEAK_HOME included), normalised."""
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as work:
        saved = dict(os.environ)
        os.environ["UNLEAK_HOME"] = home
        try:
            raw = session(Path(work))
        finally:  # the session sets SMTP and time-zone variables: leave no trace for other tests
            os.environ.clear()
            os.environ.update(saved)
        from unleak.samples import sample_images

        roots = {os.path.realpath(work): "WORK", work: "WORK", os.path.realpath(home): "HOME", home: "HOME"}
        roots.update({str(p.parent): "SAMPLES" for p in sample_images()})
        return normalise(raw, roots)


def leaves(value: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Every (key path, value) pair, containers included."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}[{i}]")


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def volatile_paths(a: Any, b: Any) -> list[str]:
    """Key paths whose values differ between two runs (or exist in only one)."""
    pa, pb = dict(leaves(a)), dict(leaves(b))
    out = []
    for path in sorted(set(pa) | set(pb)):
        va, vb = pa.get(path, ...), pb.get(path, ...)
        if isinstance(va, dict | list) and isinstance(vb, dict | list):
            if len(va) != len(vb):
                out.append(path)
            continue
        if va != vb:
            out.append(path)
    return out


def record_golden(out_dir: Path) -> None:
    first, second = run_session(), run_session()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, result in first.items():
        volatile = volatile_paths(result["lines"], second[name]["lines"])
        doc = {"command": ["unleak", *result["args"]], "exit": result["exit"], "volatile": volatile}
        doc["lines"] = result["lines"]
        (out_dir / f"{name}.json").write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "record":
        sys.exit("usage: python tests/_golden.py record OUT_DIR")
    record_golden(Path(sys.argv[2]))
