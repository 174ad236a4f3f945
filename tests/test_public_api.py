"""The Python API: `unleak.__all__` is a fixed, documented list; `import unleak` stays light."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import unleak

PUBLIC = [
    "Bank",
    "Blocked",
    "BundleCheck",
    "CaseDetail",
    "CaseSummary",
    "ConfigError",
    "EvidenceError",
    "FetchError",
    "HammingIndex",
    "InvalidInput",
    "LimitExceeded",
    "Match",
    "MatchResult",
    "Matcher",
    "Media",
    "MediaError",
    "NetworkError",
    "NotFound",
    "ProtectResult",
    "RecipientRegistry",
    "ScanOptions",
    "ScanReport",
    "SearchResult",
    "Signal",
    "SignalType",
    "Store",
    "TraceResult",
    "UnleakError",
    "VerificationError",
    "WatermarkKey",
    "__version__",
    "add_source",
    "build_index",
    "compute_signals",
    "confirm_notice",
    "confirm_notices",
    "create_case",
    "draft_notices",
    "export_bundle",
    "get_signal_type",
    "list_cases",
    "list_sightings",
    "list_sources",
    "mark_file",
    "notice_status",
    "open_index",
    "open_store",
    "record_reply",
    "register_signal_type",
    "scan",
    "send_notice",
    "set_claimant",
    "show_case",
    "signal_types",
    "takedown_report",
    "trace_file",
    "verify_bundle",
    "verify_case",
]

SRC = Path(unleak.__file__).parent


def test_all_is_the_fixed_list():
    """Adding or removing a public name is a decision: change PUBLIC here and the CHANGELOG."""
    assert unleak.__all__ == PUBLIC


def test_every_name_imports_and_is_documented():
    undocumented = []
    for name in unleak.__all__:
        if name == "__version__":
            assert isinstance(unleak.__version__, str)
            continue
        value = getattr(unleak, name)
        if not (inspect.getdoc(value) or "").strip():
            undocumented.append(name)
        from_star: dict = {}
        exec(f"from unleak import {name}", from_star)
        assert from_star[name] is value
    assert undocumented == []


def test_unknown_name_is_an_attribute_error():
    try:
        unleak.not_a_name  # noqa: B018
    except AttributeError as exc:
        assert "not_a_name" in str(exc)
    else:
        raise AssertionError("unleak.not_a_name did not raise")


def test_import_unleak_imports_nothing_heavy():
    """The names load on first use: `import unleak` alone brings in no NumPy, SQLAlchemy or subpackage."""
    code = (
        "import sys, unleak\n"
        "heavy = [m for m in ('numpy', 'sqlalchemy', 'cv2', 'numba', 'httpx') if m in sys.modules]\n"
        "ours = sorted(m for m in sys.modules if m.startswith('unleak.'))\n"
        "print(heavy, ours)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] []"


def test_errors_form_one_hierarchy():
    from unleak import errors

    for name in PUBLIC:
        value = getattr(unleak, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, unleak.UnleakError), name
            assert name in (inspect.getdoc(errors) or ""), f"{name} is not in unleak.errors' documented tree"
    assert issubclass(unleak.Blocked, unleak.FetchError)
    assert issubclass(unleak.FetchError, unleak.NetworkError)
    assert issubclass(unleak.LimitExceeded, unleak.MediaError)
    assert issubclass(unleak.VerificationError, unleak.EvidenceError)
    err = unleak.InvalidInput("bad threshold 99", hint="use 0 to 64")
    assert str(err) == "bad threshold 99 (use 0 to 64)"


def test_package_is_typed():
    assert (SRC / "py.typed").is_file()
