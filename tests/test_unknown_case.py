"""An unknown --case is an error naming the cases there are, never a new empty case: only
`case new` and `protect --case NAME` open one, and the default case exists when none is named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import unleak
from unleak.errors import NotFound

READ_ONLY = [
    ["sightings", "--case", "typo"],
    ["scan", "--case", "typo"],
    ["source", "list", "--case", "typo"],
    ["source", "add", "urls", "https://example.com/a.jpg", "--case", "typo"],
    ["bank", "list", "--case", "typo"],
    ["bank", "remove", "1", "--case", "typo"],
    ["evidence", "log", "--case", "typo"],
    ["recipients", "list", "--case", "typo"],
    ["claimant", "show", "--case", "typo"],
    ["claimant", "set", "--case", "typo", "--name", "A. Person"],
    ["verify", "typo"],
    ["case", "show", "typo"],
]


def _case_names(cli) -> set[str]:
    import json

    code, out, _ = cli("case", "list", "--json")
    assert code == 0
    return {json.loads(line)["name"] for line in out.splitlines()}


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a[:2]))
def test_unknown_case_is_refused_and_not_created(cli, args, tmp_path):
    assert cli("case", "new", "alice")[0] == 0
    with pytest.raises(NotFound) as err:
        cli(*args)
    assert err.value.message == "no such case 'typo'"
    assert "'alice'" in err.value.hint and "case new" in err.value.hint
    assert "typo" not in _case_names(cli)


def test_match_and_export_refuse_an_unknown_case(cli, samples, tmp_path):
    with pytest.raises(NotFound, match="no such case 'typo'"):
        cli("match", "--case", "typo", samples[0])
    with pytest.raises(NotFound, match="no such case 'typo'"):
        cli("bank", "export", str(tmp_path / "out.json"), "--case", "typo")
    with pytest.raises(NotFound, match="no such case 'typo'"):
        cli("evidence", "export", "typo", "--out", str(tmp_path / "bundle"))
    assert not (tmp_path / "out.json").exists() and not (tmp_path / "bundle").exists()
    assert "typo" not in _case_names(cli)


def test_protect_opens_a_named_case_and_the_default_exists_unnamed(cli, samples):
    code, out, _ = cli("sightings", "--json")  # no case named: the default case, empty
    assert code == 0 and out == ""
    assert cli("protect", "--case", "bob", "--no-variants", samples[0])[0] == 0
    assert {"bob", "default"} <= _case_names(cli)
    code, out, _ = cli("bank", "list", "--case", "bob", "--json")
    assert code == 0 and len(out.splitlines()) == 1


def test_the_command_prints_one_line_and_fails(tmp_path):
    src = str(Path(unleak.__file__).resolve().parents[1])
    env = {**os.environ, "UNLEAK_HOME": str(tmp_path / "home"), "PYTHONPATH": src}
    env.pop("UNLEAK_DB", None)
    done = subprocess.run(
        [sys.executable, "-m", "unleak", "sightings", "--case", "nosuch"], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "no such case 'nosuch'" in done.stderr and "Traceback" not in done.stderr
    assert "no cases yet" in done.stderr or "existing cases" in done.stderr
