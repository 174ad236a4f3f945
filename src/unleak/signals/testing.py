"""A contract test kit any signal type can run (like python-threatexchange's SignalTypeAutoTest).

Subclass it in a test module, name the type, and pytest runs every check::

    from unleak.signals.testing import SignalTypeContract

    class TestColourHistogram(SignalTypeContract):
        signal_type = ColourHistogram

The checks use only the type's own declarations: its examples (give at least one, and one with
`media` so that `compute` is checked against a known value), its index hook, its validation and
its JSON form. They need no database and no network.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from unleak.media.sniff import MediaKind
from unleak.signals.base import Example, InvalidSignal, Signal, SignalType

# Text that no signal type should accept as a value.
GARBAGE = ["", "   ", "not a hash", "zz" * 32, "\x00" * 8, "[1, 2", "0x" + "g" * 62]


class SignalTypeContract:
    """What every signal type must do. Set `signal_type`; pytest collects the `test_*` methods."""

    signal_type: ClassVar[type[SignalType]]

    # --- helpers -------------------------------------------------------------------------
    @property
    def t(self) -> type[SignalType]:
        return self.signal_type

    def examples(self) -> list[Example]:
        examples = self.t.examples()
        assert examples, f"{self.t.__name__}.examples() gives no example"
        return examples

    @staticmethod
    def rows(values: list[str]) -> list[tuple[Any, ...]]:
        """Bank rows as Bank.active_signals gives them: (signal id, item id, label, value)."""
        return [(100 + i, 1 + i, f"item {i}", v) for i, v in enumerate(values)]

    # --- declarations --------------------------------------------------------------------
    def test_name_and_media(self) -> None:
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,39}", self.t.name), self.t.name
        assert self.t.media and set(self.t.media) <= set(MediaKind)
        assert isinstance(self.t.threshold, int) and self.t.threshold >= 0

    def test_exchange_names(self) -> None:
        for kind, name in self.t.exchange_names.items():
            assert kind in {"image", "video", "hash"}, kind
            assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name  # one word in a `type value` line

    def test_registered_under_its_name(self) -> None:
        from unleak.signals.registry import get_signal_type

        assert get_signal_type(self.t.name) is self.t

    # --- validation ----------------------------------------------------------------------
    def test_examples_are_canonical(self) -> None:
        for ex in self.examples():
            assert self.t.validate(ex.value) == ex.value, "an example must be in canonical form"
            assert self.t.validate(" " + ex.value + "\n") == ex.value, "surrounding white space is ignored"

    def test_rejects_garbage_with_a_clear_error(self) -> None:
        for bad in GARBAGE:
            try:
                self.t.validate(bad)
            except InvalidSignal as exc:
                message = str(exc)
                assert message and "\n" not in message, repr(message)
                assert self.t.name.lower() in message.lower() or "signal" in message.lower(), message
            else:
                raise AssertionError(f"{self.t.name} accepted {bad!r}")

    # --- distance and the match rule -----------------------------------------------------
    def test_distance_to_itself_is_zero(self) -> None:
        for ex in self.examples():
            assert self.t.distance(ex.value, ex.value) == 0
            assert self.t.is_match(ex.value, ex.value)
            assert Signal(self.t.name, ex.value) - Signal(self.t.name, ex.value) == 0

    def test_distance_is_a_non_negative_int(self) -> None:
        values = [ex.value for ex in self.examples()]
        for a in values:
            for b in values:
                d = self.t.distance(a, b)
                assert isinstance(d, int) and d >= 0, (a, b, d)

    # --- compute -------------------------------------------------------------------------
    def test_compute_gives_the_known_values(self) -> None:
        with_media = [ex for ex in self.examples() if ex.media is not None]
        for ex in with_media:
            assert ex.media is not None
            media = ex.media()
            assert media.kind in self.t.media
            sig = self.t.compute(media)
            assert sig.type == self.t.name
            assert sig.value == ex.value
            if ex.quality is not None:
                assert sig.quality == ex.quality
            assert self.t.usable(sig), "the example's own value must pass the quality rule"
            fast = self.t.compute(ex.media(), fast=True)  # fast mode may differ, but must still match
            assert self.t.validate(fast.value) == fast.value
            assert self.t.is_match(fast.value, ex.value)

    # --- the index hook ------------------------------------------------------------------
    def test_index_finds_every_example(self) -> None:
        values = list(dict.fromkeys(ex.value for ex in self.examples()))
        index = self.t.build_index(self.rows(values))
        assert len(index) == len(values)
        for item_id, value in enumerate(values, 1):
            hits = index.query(Signal(self.t.name, value))
            found = {h.item_id: h.distance for h in hits}
            assert found.get(item_id) == 0, f"{value[:40]!r} not found by itself: {hits}"
            for hit in hits:  # nothing beyond the type's own match rule
                other = values[hit.item_id - 1]
                assert hit.distance <= max(self.t.threshold, self.t.distance(value, other)), hit

    def test_empty_index(self) -> None:
        index = self.t.build_index([])
        assert len(index) == 0
        assert index.query(Signal(self.t.name, self.examples()[0].value)) == []

    # --- the JSON form -------------------------------------------------------------------
    def test_json_form(self) -> None:
        sig = Signal(self.t.name, self.examples()[0].value, 100)
        out = self.t.to_json(sig)
        assert self.t.name in out
        json.dumps(out)
        assert isinstance(self.t.summary(sig), str)
