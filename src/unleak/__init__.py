"""unleak: find, document, trace and take down leaked private media.

The names below are the Python API; everything else is internal and may move. They are
imported on first use, so `import unleak` stays fast (the matcher alone pulls in NumPy,
OpenCV and Numba). See docs/python-api.md.

A platform checks an upload against a bank; a victim's case protects, scans, documents
and sends notices::

    import unleak
    store = unleak.open_store()
    unleak.Bank(store, "case").protect(["private/"])
    result = unleak.Matcher(unleak.Bank(store, "case")).match_media(unleak.Media.open("upload.jpg"))
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it; a value "module:attr" exposes the attribute under another name
_EXPORTS: dict[str, str] = {
    # store and cases
    "Store": "unleak.store",
    "open_store": "unleak.store",
    "CaseSummary": "unleak.cases",
    "CaseDetail": "unleak.cases",
    "create_case": "unleak.cases",
    "list_cases": "unleak.cases",
    "show_case": "unleak.cases",
    # media and signals
    "Media": "unleak.signals",
    "Signal": "unleak.signals",
    "SignalType": "unleak.signals",
    "compute_signals": "unleak.signals",
    "get_signal_type": "unleak.signals",
    "signal_types": "unleak.signals",
    "register_signal_type": "unleak.signals:register",
    # bank, matcher, index
    "Bank": "unleak.bank",
    "ProtectResult": "unleak.bank",
    "Matcher": "unleak.match",
    "Match": "unleak.match",
    "MatchResult": "unleak.match",
    "HammingIndex": "unleak.index",
    "SearchResult": "unleak.index",
    "build_index": "unleak.index",
    "open_index": "unleak.index",
    # find: sources and scans
    "add_source": "unleak.monitor.sources",
    "list_sources": "unleak.monitor.sources",
    "ScanOptions": "unleak.monitor.scan",
    "ScanReport": "unleak.monitor.scan",
    "scan": "unleak.monitor.scan",
    # evidence
    "list_sightings": "unleak.evidence.sightings",
    "export_bundle": "unleak.evidence.export",
    "verify_bundle": "unleak.evidence.verify",
    "BundleCheck": "unleak.evidence.verify",
    # watermark
    "RecipientRegistry": "unleak.watermark.registry:Registry",
    "WatermarkKey": "unleak.watermark",
    "TraceResult": "unleak.watermark",
    "mark_file": "unleak.watermark",
    "trace_file": "unleak.watermark",
    # take-down
    "set_claimant": "unleak.takedown",
    "draft_notices": "unleak.takedown",
    "confirm_notice": "unleak.takedown",
    "confirm_notices": "unleak.takedown",
    "send_notice": "unleak.takedown",
    "record_reply": "unleak.takedown",
    "notice_status": "unleak.takedown",
    "verify_case": "unleak.takedown",
    "takedown_report": "unleak.takedown",
    # errors (see unleak.errors for the hierarchy)
    "UnleakError": "unleak.errors",
    "InvalidInput": "unleak.errors",
    "ConfigError": "unleak.errors",
    "NotFound": "unleak.errors",
    "MediaError": "unleak.errors",
    "LimitExceeded": "unleak.errors",
    "NetworkError": "unleak.errors",
    "FetchError": "unleak.net.guard",
    "Blocked": "unleak.net.guard",
    "EvidenceError": "unleak.errors",
    "VerificationError": "unleak.errors",
}

__all__ = [
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


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'unleak' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(import_module(module), attr or name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports on demand
    from unleak.bank import Bank, ProtectResult
    from unleak.cases import CaseDetail, CaseSummary, create_case, list_cases, show_case
    from unleak.errors import (
        ConfigError,
        EvidenceError,
        InvalidInput,
        LimitExceeded,
        MediaError,
        NetworkError,
        NotFound,
        UnleakError,
        VerificationError,
    )
    from unleak.evidence.export import export_bundle
    from unleak.evidence.sightings import list_sightings
    from unleak.evidence.verify import BundleCheck, verify_bundle
    from unleak.index import HammingIndex, SearchResult, build_index, open_index
    from unleak.match import Match, Matcher, MatchResult
    from unleak.monitor.scan import ScanOptions, ScanReport, scan
    from unleak.monitor.sources import add_source, list_sources
    from unleak.net.guard import Blocked, FetchError
    from unleak.signals import Media, Signal, SignalType, compute_signals, get_signal_type, signal_types
    from unleak.signals import register as register_signal_type
    from unleak.store import Store, open_store
    from unleak.takedown import (
        confirm_notice,
        confirm_notices,
        draft_notices,
        notice_status,
        record_reply,
        send_notice,
        set_claimant,
        takedown_report,
        verify_case,
    )
    from unleak.watermark import TraceResult, WatermarkKey, mark_file, trace_file
    from unleak.watermark.registry import Registry as RecipientRegistry
