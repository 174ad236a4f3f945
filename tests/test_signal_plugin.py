"""A third-party signal type, installed through the `unleak.signal_types` entry point, is used by
everything: `unleak hash`, protect, the bank's export and import, the Matcher and `unleak match`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unleak.signals import get_signal_type, reload_plugins, signal_types
from unleak.signals.testing import SignalTypeContract

PLUGIN_DIR = Path(__file__).parent / "plugins"


def install(site: Path, name: str, entry_points: str) -> None:
    """What `pip install` leaves for a plug-in's entry points: a dist-info folder on sys.path."""
    dist = site / f"{name}-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    """The toy colour-histogram plug-in installed for this test only."""
    site = tmp_path / "site"
    install(site, "unleak_colour", "[unleak.signal_types]\ncolour_histogram = unleak_colour:ColourHistogram\n")
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    monkeypatch.syspath_prepend(str(site))
    reload_plugins()
    yield site
    monkeypatch.undo()
    reload_plugins()


@pytest.fixture
def colour(plugin_site):
    return get_signal_type("colour_histogram")


def shuffled(src: Path, out: Path, seed: int = 7) -> Path:
    """The same pixels in another order: the same colours, nothing else in common."""
    pixels = np.asarray(Image.open(src).convert("RGB").resize((160, 120)))
    flat = pixels.reshape(-1, 3)[np.random.default_rng(seed).permutation(160 * 120)]
    Image.fromarray(flat.reshape(120, 160, 3)).save(out)
    return out


def small(src: Path, out: Path) -> Path:
    Image.open(src).convert("RGB").resize((160, 120)).save(out)
    return out


class TestColourHistogramContract(SignalTypeContract):
    """The plug-in passes the same contract kit as the built-in types."""

    @pytest.fixture(autouse=True)
    def _installed(self, colour):
        type(self).signal_type = colour


def test_entry_point_registers_the_type(colour):
    assert colour.__module__ == "unleak_colour"
    assert colour in signal_types()
    assert get_signal_type("pdq").name == "pdq"


def test_without_the_plugin_the_type_is_unknown():
    reload_plugins()
    with pytest.raises(ValueError, match="unknown signal type 'colour_histogram'"):
        get_signal_type("colour_histogram")


def test_broken_plugins_are_skipped_with_a_warning(tmp_path, monkeypatch, caplog):
    site = tmp_path / "site"
    install(
        site,
        "unleak_broken",
        "[unleak.signal_types]\nmissing = no_such_module:Nope\nnot_a_type = json:dumps\n"
        "renamed = unleak_colour:ColourHistogram\npdq = fake_pdq:FakePdq\n",
    )
    (site / "fake_pdq.py").write_text(
        "from unleak.signals.pdq import PdqSignal\n\nclass FakePdq(PdqSignal):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    monkeypatch.syspath_prepend(str(site))
    reload_plugins()
    try:
        assert [t.name for t in signal_types()] == ["pdq", "vpdq", "sha256", "md5"]
        assert get_signal_type("pdq").__module__ == "unleak.signals.pdq"
        text = caplog.text
        assert "'missing'" in text and "could not be loaded" in text
        assert "'not_a_type'" in text and "not a subclass" in text
        assert "'renamed'" in text and "must be the type's name" in text
        assert "'pdq'" in text and "is taken by unleak.signals.pdq.PdqSignal" in text
    finally:
        monkeypatch.undo()
        reload_plugins()


def test_protect_and_match_end_to_end_through_the_matcher(colour, plugin_site, store, samples, tmp_path):
    from unleak.bank import Bank
    from unleak.match import Matcher

    original = small(samples[3], tmp_path / "original.png")
    bank = Bank(store)
    [protected] = bank.protect([original])
    assert protected.error is None and "colour_histogram" in protected.signals
    copy = shuffled(original, tmp_path / "copy.png")
    unrelated = small(samples[6], tmp_path / "unrelated.png")

    matcher = Matcher(bank, verify="off")
    [found] = matcher.match_paths([copy])
    assert [(m.bank_id, m.signal, m.distance) for m in found.matches] == [(protected.bank_id, "colour_histogram", 0)]
    assert found.matches[0].label == "original"
    assert found.signals["colour_histogram"].value == protected.signals["colour_histogram"].value
    assert list(matcher.match_paths([unrelated]))[0].matches == []
    # The same bank with the plug-in uninstalled: nothing else finds the shuffled copy.
    sys.path.remove(str(plugin_site))
    reload_plugins()
    assert list(Matcher(bank, verify="off").match_paths([copy]))[0].matches == []


def test_cli_hash_protect_export_import_and_match(colour, cli, samples, tmp_path):
    original = small(samples[3], tmp_path / "original.png")
    copy = shuffled(original, tmp_path / "copy.png")

    code, out, _ = cli("hash", "--json", original)
    assert code == 0
    assert len(json.loads(out)["signals"]["colour_histogram"]) == 48
    code, out, _ = cli("hash", original)
    assert code == 0 and "colour_histogram" in out

    assert cli("protect", "--case", "a", original)[0] == 0
    export = tmp_path / "bank.json"
    assert cli("bank", "export", "--case", "a", export)[0] == 0
    assert any(s["type"] == "colour_histogram" for s in json.loads(export.read_text())["items"][0]["signals"])
    te = tmp_path / "bank.te"
    assert cli("bank", "export", "--case", "a", "--format", "te", te)[0] == 0
    assert "colour_histogram" not in te.read_text()  # not a type threatexchange lists know
    assert cli("bank", "import", "--case", "b", export)[0] == 0

    code, out, _ = cli("match", "--json", "--verify", "off", "--case", "b", copy)
    assert code == 0
    assert [(m["signal"], m["distance"]) for m in json.loads(out)["matches"]] == [("colour_histogram", 0)]

    # `unleak match` in a new process finds the plug-in the way an installed package is found.
    env = dict(os.environ)
    src = Path(__file__).parents[1] / "src"
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site"), str(PLUGIN_DIR), str(src)])
    run = subprocess.run(
        [sys.executable, "-m", "unleak", "match", "--json", "--verify", "off", "--case", "a", str(copy)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    [matches] = [json.loads(line)["matches"] for line in run.stdout.splitlines()]
    assert [(m["signal"], m["distance"]) for m in matches] == [("colour_histogram", 0)]
