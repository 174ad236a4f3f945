"""Every built-in signal type passes the contract kit that plug-ins run."""

from __future__ import annotations

import pytest

from unleak.signals import InvalidSignal, get_signal_type, signal_types
from unleak.signals.exact import Md5Signal, Sha256Signal
from unleak.signals.pdq import PdqSignal
from unleak.signals.testing import SignalTypeContract
from unleak.signals.vpdq import VpdqSignal


class TestPdqContract(SignalTypeContract):
    signal_type = PdqSignal


class TestVpdqContract(SignalTypeContract):
    signal_type = VpdqSignal


class TestSha256Contract(SignalTypeContract):
    signal_type = Sha256Signal


class TestMd5Contract(SignalTypeContract):
    signal_type = Md5Signal


def test_every_built_in_type_has_a_contract_test():
    tested = {c.signal_type for c in SignalTypeContract.__subclasses__() if c.__module__ == __name__}
    assert {t for t in signal_types() if t.__module__.startswith("unleak.")} <= tested


def test_pdq_example_is_threatexchanges_hash():
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    example = next(e for e in PdqSignal.examples() if e.media is not None)
    media = example.media()
    assert pdq_from_file(media.path) == (example.value, example.quality)


def test_names_in_threatexchange_lists():
    """The names HMA and python-threatexchange give our types in hash lists."""
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal
    from threatexchange.signal_type.md5 import VideoMD5Signal
    from threatexchange.signal_type.pdq.signal import PdqSignal as TePdq
    from threatexchange.signal_type.sha256 import VideoSHA256Signal

    assert PdqSignal.exchange_name("image") == TePdq.get_name()
    assert VpdqSignal.exchange_name("video") == VPDQSignal.get_name()
    assert Md5Signal.exchange_name("video") == VideoMD5Signal.get_name()
    assert Sha256Signal.exchange_name("video") == VideoSHA256Signal.get_name()
    assert Md5Signal.exchange_name("image") is None  # threatexchange has no photo MD5 any more


def test_invalid_value_is_a_one_line_user_error_and_still_a_value_error():
    with pytest.raises(InvalidSignal, match="PDQ") as info:
        get_signal_type("pdq").validate("abc")
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)
