"""Statuses and modes are StrEnums whose values are the strings stored in the database and
printed in --json output: renaming a value would orphan stored rows, so the values are pinned."""

from __future__ import annotations

import json
from enum import StrEnum

import pytest

from unleak.errors import UnleakError
from unleak.evidence.sightings import SightingStatus
from unleak.match import VerifyMode
from unleak.media.sniff import MediaKind
from unleak.monitor.scan import ItemStatus, ScanStatus


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (ScanStatus, ["running", "done", "failed"]),
        (ItemStatus, ["pending", "done", "failed", "blocked", "skipped"]),
        (SightingStatus, ["up", "removed"]),
        (VerifyMode, ["auto", "on", "off"]),
        (MediaKind, ["image", "video"]),
    ],
)
def test_values_are_the_stored_strings(enum: type[StrEnum], values: list[str]) -> None:
    assert [m.value for m in enum] == values
    for m in enum:
        assert m == m.value and str(m) == m.value and f"{m}" == m.value
        assert json.dumps({"status": m}) == json.dumps({"status": m.value})  # --json output unchanged
        assert enum(m.value) is m  # a stored string reads back as the member


def test_unknown_verify_mode_is_a_one_line_error() -> None:
    from unleak.match.matcher import Matcher

    with pytest.raises(UnleakError, match="unknown verify mode 'sometimes'") as info:
        Matcher(None, verify="sometimes")  # type: ignore[arg-type]  # the mode is checked first
    assert info.value.hint == "use auto, on or off"
