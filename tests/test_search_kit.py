"""`unleak search-kit`: a degraded query image that still matches the item, the engines' pages, a
plain warning, nothing written without consent; the URLs found come back through `source add urls`."""

from __future__ import annotations

import json

from PIL import Image

from unleak.bank import Bank
from unleak.match import Matcher
from unleak.signals import Media


def test_the_kit_is_degraded_still_matches_and_is_asked_for(cli, samples, tmp_path):
    assert cli("protect", "--case", "sk", samples[1], samples[3])[0] == 0
    out = tmp_path / "kit"
    from typer.testing import CliRunner

    from unleak.cli import app

    said = CliRunner().invoke(app, ["search-kit", "1", "--out", str(out), "--case", "sk"], input="n\n")
    assert said.exit_code == 1 and not out.exists()  # asked, and nothing written without a yes
    assert "discloses it" in said.stderr and "Write the kit" in said.stderr

    code, stdout, err = cli("search-kit", "1", "--out", out, "--case", "sk", "--json", "--yes")
    assert code == 0, err
    kit = json.loads(stdout.splitlines()[-1])
    query = out / "query-1.jpg"
    assert kit["query"] == str(query) and kit["bank_id"] == 1 and "blur" in kit["degradation"]
    with Image.open(query) as im, Image.open(samples[1]) as orig:
        assert max(im.size) < max(orig.size) and max(im.size) <= 448 and not im.getexif()
    assert (query.stat().st_mode & 0o077) == 0
    from unleak.store import open_store

    result = Matcher(Bank(open_store(), "sk"), verify="off").match_media(Media(data=query.read_bytes(), name="q"))
    assert [m.bank_id for m in result.matches] == [1]  # by hash alone, and not the other item
    readme = (out / "README.txt").read_text()
    assert "https://tineye.com/" in readme and "lens.google.com" in readme and "discloses" in readme

    code, stdout, err = cli(
        "search-kit", "2", "--out", tmp_path / "kit2", "--case", "sk", "--mode", "crop", "--yes", "--json"
    )
    assert code == 0, err
    assert "centre" in json.loads(stdout.splitlines()[-1])["degradation"]

    results = out / "results.txt"
    results.write_text(results.read_text() + "https://example.com/found/1.html\n# a note\nhttps://example.org/x.jpg\n")
    code, stdout, err = cli("source", "add", "urls", f"@{results}", "--case", "sk", "--json")
    assert code == 0, err
    assert json.loads(stdout)["config"]["targets"] == ["https://example.com/found/1.html", "https://example.org/x.jpg"]
