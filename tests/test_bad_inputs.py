"""Bad input is one line with a hint, never a traceback: hash lists of every wrong shape, formats
that do not exist, numeric settings that are not numbers, huge lines and names (clipped)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from unleak.bank import Bank
from unleak.errors import UnleakError

PDQ = "f" * 64
PDQ2 = "0123456789abcdef" * 4


WRONG_SHAPES = [
    ('"just a string"', "top level is a string"),
    ("42", "top level is a number"),
    ("[1, 2]", "top level is a list"),
    ('{"items": "x"}', "`items` is a string"),
    ('{"items": 5}', "`items` is a number"),
    ('{"items": [1]}', "item 1 is a number"),
    ('{"items": ["abc"]}', "item 1 is a string"),
    ('{"items": [[1, 2]]}', "item 1 is a list"),
    ('{"items": [{"signals": "x"}]}', "`signals` is a string"),
    ('{"items": [{"signals": [7]}]}', "signal 1 is a number"),
    ('{"items": [{"signals": [{"type": 1, "value": 2}]}]}', "must be text"),
    ('{"items": [{"signals": [{"type": "pdq", "value": ["a"]}]}]}', "must be text"),
    ('{"items": [{"signals": [{"type": "pdq", "value": "' + PDQ + '", "quality": "high"}]}]}', "not a whole number"),
    ('{"items": [{"label": 5, "signals": []}]}', "label is a number"),
    ('{"items": [{"kind": "x" , "signals": []}]}', "kind 'x' is not one of"),
    ('{"items": [{"signals": [{"type": "nope", "value": "x"}]}]}', "unknown signal type 'nope'"),
    ('{"items": [{"signals": [{"type": "pdq", "value": "xyz"}]}]}', "not a PDQ hash"),
    ('{"items": [{"signals": [{"type": "vpdq", "value": "[1]"}]}]}', "not a vPDQ value"),
    ('{"items": [', "invalid JSON"),
    ("[" * 100_000, "not an unleak bank file"),
]


@pytest.mark.parametrize(("text", "said"), WRONG_SHAPES)
def test_bank_import_of_wrong_shapes_is_one_line(store, tmp_path, text, said):
    f = tmp_path / "bank.json"
    f.write_text(text)
    with pytest.raises(UnleakError) as exc:
        Bank(store, "shapes").import_file(f, None if text.startswith("{") else "json")
    assert said in str(exc.value) and "\n" not in str(exc.value)
    assert len(str(exc.value)) < 600
    assert Bank(store, "shapes", create=True).count() == 0  # a refused list stores nothing


def test_bank_import_format_must_exist(store, tmp_path):
    f = tmp_path / "list.txt"
    f.write_text(f"pdq {PDQ}\n")
    with pytest.raises(UnleakError) as exc:
        Bank(store).import_file(f, "nonsense")
    assert "unknown hash list format 'nonsense'" in exc.value.message and "json, te, pdq" in exc.value.hint
    assert Bank(store).import_file(f, "TE") == (1, 0)


def test_a_bare_pdq_list_is_recognised(store, tmp_path):
    f = tmp_path / "hashes.txt"
    f.write_text(f"# from a partner\n{PDQ}\n{PDQ2.upper()}\n\n")
    assert Bank(store, "bare").import_file(f) == (2, 0)
    assert sorted(v for *_, v in Bank(store, "bare").active_signals("pdq")) == sorted([PDQ, PDQ2])
    # a te list that starts with a hash says what to do
    f.write_text(f"{PDQ} x\n")
    with pytest.raises(UnleakError) as exc:
        Bank(store, "bare").import_file(f)
    assert "--format pdq" in (exc.value.hint or "")


def test_huge_lines_and_binary_lists_are_clipped(store, tmp_path):
    f = tmp_path / "huge.txt"
    f.write_text("x" * 10_000_000 + " abc\n")
    with pytest.raises(UnleakError) as exc:
        Bank(store).import_file(f, "te")
    assert len(str(exc.value)) < 500 and "more characters" in str(exc.value)
    f.write_text("pdq " + "a" * 10_000_000 + "\n")
    with pytest.raises(UnleakError) as exc:
        Bank(store).import_file(f, "te")
    assert len(str(exc.value)) < 500
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 1000)
    with pytest.raises(UnleakError, match="not UTF-8 text") as exc:
        Bank(store).import_file(f)
    assert len(str(exc.value)) < 500


def test_bank_import_cli_is_one_line(cli, tmp_path):
    f = tmp_path / "x.json"
    f.write_text('{"items": ["abc"]}')
    with pytest.raises(UnleakError, match="item 1 is a string"):
        cli("bank", "import", str(f))
    with pytest.raises(UnleakError, match="unknown hash list format"):
        cli("bank", "import", str(f), "--format", "nonsense")


@pytest.mark.parametrize(
    "var",
    [
        "UNLEAK_MAX_IMAGE_PIXELS",
        "UNLEAK_MAX_FILE_BYTES",
        "UNLEAK_MAX_VIDEO_SECONDS",
        "UNLEAK_MAX_VIDEO_PIXELS",
        "UNLEAK_FETCH_DEADLINE_PAGE",
        "UNLEAK_FETCH_DEADLINE_MEDIA",
    ],
)
def test_numeric_settings_that_are_not_numbers(tmp_path, samples, var):
    """Run as the user does: the real entry point, a one-line error and exit 1, no traceback."""
    import os

    env = {**os.environ, var: "abc", "UNLEAK_HOME": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "unleak", "hash", str(samples[0])], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and f"${var} is 'abc'" in r.stderr
    assert len([line for line in r.stderr.splitlines() if line.strip()]) <= 2  # error and hint


def test_env_number_accepts_numbers(monkeypatch):
    from unleak.config import MediaLimits, env_number

    monkeypatch.setenv("UNLEAK_MAX_IMAGE_PIXELS", " 5000 ")
    monkeypatch.setenv("UNLEAK_MAX_VIDEO_SECONDS", "1.5")
    limits = MediaLimits.from_env()
    assert limits.max_image_pixels == 5000 and limits.max_video_seconds == 1.5
    monkeypatch.setenv("UNLEAK_MAX_IMAGE_PIXELS", "1.5")  # a whole number is wanted
    with pytest.raises(UnleakError, match="whole number"):
        MediaLimits.from_env()
    monkeypatch.setenv("X_TEST", "\x1b[2J" + "9" * 1000)
    with pytest.raises(UnleakError) as exc:
        env_number("X_TEST", 1)
    assert "\x1b" not in str(exc.value) and len(str(exc.value)) < 300


# --- recipients CSV -------------------------------------------------------------------------
def _registry(store, case="csv"):
    from unleak.watermark.registry import Registry

    with store.session() as s:  # recipients are added to a case that exists (`case new`)
        store.case(s, case, create=True)
    return Registry(store, case)


CSV_CASES = [
    ('name,contact\nalice,a@x\n"bob,b@x\ncarol,c@x\ndave,d@x\n', ":3:", "a quoted field is never closed"),
    ('name,contact\nalice,a@x\n"bo"b,b@x\n', ":3:", "a quote in the middle of a field"),
    ("name,contact\nalice,a@x\nbob\x00,b@x\n", ":3:", "U+0000"),
    ("name,note\nalice," + "n" * 1_000_000 + "\n", ":2:", "over 131,072 characters"),
    ("name\n" + "a" * 100_000 + "\n", ":2:", "100,000 characters long"),
    ("name\nalice\nbob\x1b[31m\n", ":3:", "U+001B"),
    ("name\nalice\n\u202eevil\n", ":3:", "U+202E"),
    ("name\nalice\nbo\u0085b\n", ":3:", "U+0085"),
    ('name\nalice\n"two\nlines"\n', ":3:", "U+000A"),
    ("name,contact\nalice,a@x\x07\n", ":2:", "contact"),
]


@pytest.mark.parametrize(("text", "line", "said"), CSV_CASES)
def test_malformed_recipients_csv_is_refused_with_its_line(store, tmp_path, text, line, said):
    f = tmp_path / "r.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(UnleakError) as exc:
        _registry(store).import_csv(f)
    message = str(exc.value)
    assert f"r.csv{line}" in message and said in message, message
    assert "\n" not in message and len(message) < 600
    assert _registry(store).list() == []  # nothing half-imported


def test_binary_recipients_file_is_one_line(store, tmp_path, samples):
    f = tmp_path / "photo.csv"
    f.write_bytes(samples[0].read_bytes())
    with pytest.raises(UnleakError, match="not UTF-8 text") as exc:
        _registry(store).import_csv(f)
    assert len(str(exc.value)) < 400


def test_good_recipients_csv_keeps_handles_that_look_like_formulas(store, tmp_path):
    f = tmp_path / "r.csv"
    f.write_text(
        '\ufeffname,contact,note\n=cmd|calc,a@x,"multi\nline note"\n@jay,,\n+33 6 12,,\n-dash,,\n\n  ,,empty\n',
        encoding="utf-8",
    )
    added, skipped = _registry(store).import_csv(f)
    assert [r.name for r in added] == ["=cmd|calc", "@jay", "+33 6 12", "-dash"]
    assert added[0].note == "multi\nline note" and skipped == [""]


def test_recipients_add_checks_the_name(store):
    with pytest.raises(UnleakError, match=r"U\+0007"):
        _registry(store).add("bell\x07")
    with pytest.raises(UnleakError, match="characters long") as exc:
        _registry(store).add("x" * 100_000)
    assert len(str(exc.value)) < 300


# --- one name check for every name ------------------------------------------------------------
BAD_NAMES = ["evil\x1b]8;;http://x\x07", "a\u202eb", "del\x7f", "c1\x9b", "two\nlines", "   "]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_case_names_use_the_shared_check(store, name):
    from unleak.cases import create_case

    with pytest.raises(UnleakError) as exc:
        create_case(store, name)
    assert "\n" not in str(exc.value) and "\x1b" not in str(exc.value)
    with pytest.raises(UnleakError):  # a case created on first use (protect --case NAME) too
        with store.session() as s:
            store.case(s, name)


def test_huge_case_name_is_clipped(store):
    from unleak.cases import create_case

    with pytest.raises(UnleakError) as exc:
        create_case(store, "n" * 100_000)
    assert "100,000 characters long" in str(exc.value) and len(str(exc.value)) < 300
    assert create_case(store, "=SUM(A1)").name == "=SUM(A1)"  # formulas are neutralised at CSV output


def test_source_names_hosts_and_claimant_use_the_shared_check(store, tmp_path):
    from unleak.monitor.sources import SourceOptions, add_source
    from unleak.takedown.claimant import set_claimant
    from unleak.takedown.hosts import save_user_entry

    with store.session() as s:
        store.case(s, "n", create=True)
    with pytest.raises(UnleakError, match="source name"):
        add_source(store, "n", "folder", [str(tmp_path)], name="x\u202ey")
    with pytest.raises(UnleakError, match="host"):
        add_source(store, "n", "crawl", ["https://example.com/"], SourceOptions(hosts=["exa\x1bmple.com"]))
    with pytest.raises(UnleakError, match="name"):
        set_claimant(store, "n", name="Jane\x1b[2J Doe")
    with pytest.raises(UnleakError, match="phone"):
        set_claimant(store, "n", phone="1" * 100)
    assert set_claimant(store, "n", name="Jane Doe").name == "Jane Doe"
    entry = {"id": "h\x07", "name": "H", "domains": ["h.example"], "contacts": {}}
    with pytest.raises(UnleakError, match="host id"):
        save_user_entry(entry, tmp_path / "hosts.json")


def test_url_lists_never_block_and_clip_what_they_echo(store, tmp_path):
    import os

    from unleak.monitor.sources import add_source

    f = tmp_path / "urls.txt"
    f.write_text("https://example.com/ok\n" + "not-a-url" * 1_000_000 + "\n")
    with pytest.raises(UnleakError, match="is not an http") as exc:
        add_source(store, "u", "urls", [f"@{f}"])
    assert len(str(exc.value)) < 500
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    with pytest.raises(UnleakError, match="FIFO"):
        add_source(store, "u", "urls", [f"@{fifo}"])


def test_unknown_recipients_are_clipped(store):
    from unleak.errors import NotFound

    _registry(store).add("alice")
    with pytest.raises(NotFound) as exc:
        _registry(store).resolve(["x" * 100_000, "\x1b[2Jbob"])
    assert len(str(exc.value)) < 300 and "\x1b" not in str(exc.value)
