"""Properties of the signals' text forms, checked by hypothesis.

A value's canonical text (what the bank stores and exports) parses and prints back to itself;
the usual ways a value is mangled in transit (case, surrounding whitespace) come back canonical;
anything else is refused with a ValueError that names the expected form, never a crash.
"""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unleak.index import hashes_from_hex, hashes_to_hex
from unleak.signals import get_signal_type
from unleak.signals.vpdq import Frame, frames_to_value, parse_frames

QUICK = settings(max_examples=200, deadline=None)

pdq_hex = st.binary(min_size=32, max_size=32).map(bytes.hex)
NOT_HEX = "".join(sorted(set(string.printable) - set(string.hexdigits) - set(string.whitespace)))


def validate(type_name: str, value: str) -> str:
    return get_signal_type(type_name).validate(value)


@QUICK
@given(h=pdq_hex)
def test_pdq_canonical_text_parses_and_prints_back_identically(h: str) -> None:
    assert validate("pdq", h) == h
    assert hashes_to_hex(hashes_from_hex([h])) == [h]  # the index's packed form keeps it too


@QUICK
@given(h=pdq_hex, before=st.sampled_from(["", " ", "\t", "\n"]), after=st.sampled_from(["", " ", "\r\n"]))
def test_pdq_in_upper_case_or_padded_comes_back_canonical(h: str, before: str, after: str) -> None:
    # Hash lists from other tools may use upper case; the bank stores threatexchange's lower case.
    assert validate("pdq", before + h.upper() + after) == h


@QUICK
@given(h=st.text(alphabet="0123456789abcdef", max_size=80).filter(lambda s: len(s) != 64))
def test_pdq_of_the_wrong_length_is_refused(h: str) -> None:
    with pytest.raises(ValueError, match="not a PDQ hash \\(64 hex digits\\)"):
        validate("pdq", h)


@QUICK
@given(h=pdq_hex, at=st.integers(0, 63), bad=st.sampled_from(NOT_HEX))
def test_pdq_with_a_non_hex_character_is_refused(h: str, at: int, bad: str) -> None:
    with pytest.raises(ValueError, match="64 hex digits"):
        validate("pdq", h[:at] + bad + h[at + 1 :])


@QUICK
@given(value=st.text(max_size=100))
def test_pdq_refuses_any_other_text_with_a_value_error(value: str) -> None:
    try:
        out = validate("pdq", value)
    except ValueError as exc:
        assert "PDQ" in str(exc) and "\n" not in str(exc)
    else:
        assert out == value.strip().lower() and len(out) == 64


@QUICK
@given(name_len=st.sampled_from([("sha256", 32), ("md5", 16)]), data=st.data())
def test_exact_digests_round_trip_and_refuse_the_wrong_length(name_len: tuple[str, int], data: st.DataObject) -> None:
    name, nbytes = name_len
    digest = data.draw(st.binary(min_size=nbytes, max_size=nbytes)).hex()
    assert validate(name, digest) == digest
    assert validate(name, f" {digest.upper()} ") == digest
    with pytest.raises(ValueError, match=name):
        validate(name, digest[:-1])


frames = st.builds(
    Frame,
    pdq=pdq_hex,
    quality=st.integers(0, 100),
    # vPDQ's text keeps 3 significant digits of the time, as threatexchange writes it
    time=st.floats(0, 7200, allow_nan=False).map(lambda t: float(f"{t:.3}")),
)


@QUICK
@given(fs=st.lists(frames, min_size=1, max_size=12))
def test_vpdq_value_text_parses_and_prints_back_identically(fs: list[Frame]) -> None:
    text = frames_to_value(fs)
    assert parse_frames(text) == fs
    assert frames_to_value(parse_frames(text)) == text
    assert validate("vpdq", text) == text


@QUICK
@given(fs=st.lists(frames, min_size=1, max_size=6), which=st.integers(0, 5), data=st.data())
def test_vpdq_value_with_a_broken_frame_is_refused(fs: list[Frame], which: int, data: st.DataObject) -> None:
    items = [str(f) for f in fs]
    i = which % len(items)
    pdq, quality, seconds = items[i].split(",")
    items[i] = data.draw(
        st.sampled_from(
            [
                f"{pdq[:-1]},{quality},{seconds}",  # a short frame hash
                f"{pdq[:10]}x{pdq[11:]},{quality},{seconds}",  # a non-hex digit
                f"{pdq},{quality}",  # a missing field
                f"{pdq},high,{seconds}",  # quality is not a number
                f"{pdq},{quality},{seconds},1",  # one field too many
            ]
        )
    )
    with pytest.raises(ValueError, match="not a vPDQ value"):
        validate("vpdq", json.dumps(items))


@QUICK
@given(
    value=st.one_of(
        st.text(max_size=60),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
            max_leaves=8,
        ).map(json.dumps),
    )
)
def test_vpdq_refuses_any_other_text_with_a_value_error(value: str) -> None:
    try:
        out = validate("vpdq", value)
    except ValueError as exc:
        assert str(exc).startswith("not a vPDQ value")
    else:
        assert frames_to_value(parse_frames(out)) == out  # whatever is accepted is canonical
